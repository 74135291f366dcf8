"""Our reader's network on torch: a BERT encoder with a score head and a span head.

``scripts/train/reader.py`` trains it and ``reader_export`` writes it to the int8 ONNX that
ships; the service runs it on torch only for a training checkpoint (``model.safetensors``) on a
GPU or without its ONNX export (``reader.TransformersReader``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


def build_net(config: Any) -> Any:
    """Our reader network for a ``transformers.BertConfig``: the encoder plus a score head (CLS)
    and a span head (per token); ``forward(input_ids, attention_mask, token_type_ids)`` returns
    (score logits, start logits, end logits).

    Defined in a function so that importing this module does not import torch.
    """
    import torch
    from transformers import BertModel

    class ReaderNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = BertModel(config, add_pooling_layer=False)
            self.dropout = torch.nn.Dropout(config.hidden_dropout_prob)
            self.score = torch.nn.Linear(config.hidden_size, 1)
            self.span = torch.nn.Linear(config.hidden_size, 2)

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor,
        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            hidden = self.encoder(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=token_type_ids,
            ).last_hidden_state
            score = self.score(self.dropout(hidden[:, 0])).squeeze(-1)
            start, end = self.span(hidden).unbind(-1)
            return score, start, end

    return ReaderNet()
