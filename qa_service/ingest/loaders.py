"""Read documents from files and folders: .txt, .md, .html/.htm, .json, .jsonl.

HTML goes through trafilatura, which finds the article body and drops navigation, scripts and
boilerplate (regexes cannot do that reliably). JSON and JSON Lines hold records with the fields of
``DocumentIn``; records with a ``type`` other than ``document`` are skipped, so the evaluation
files (documents followed by questions) ingest as they are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..schemas import DocumentIn

SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl"}
_DOC_FIELDS = set(DocumentIn.model_fields)


class LoadError(Exception):
    """A file that could not be turned into documents (the reason is the message)."""


@dataclass(frozen=True, slots=True)
class Loaded:
    path: Path
    documents: list[DocumentIn]


def iter_files(paths: list[Path]) -> Iterator[Path]:
    """The given files, and the supported files under the given folders (recursive, sorted)."""
    for path in paths:
        if path.is_dir():
            for p in sorted(path.rglob("*")):
                if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith("."):
                    yield p
        else:
            yield path


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    return slug[:200] or "document"


def _title_from_stem(stem: str) -> str:
    words = re.sub(r"[-_]+", " ", stem).strip()
    return words[:1].upper() + words[1:]


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise LoadError(f"not valid UTF-8 (byte {e.start})") from e


def _markdown(stem: str, text: str) -> DocumentIn:
    heading = re.search(r"^#\s+(.+)$", text, flags=re.MULTILINE)
    title = heading.group(1).strip() if heading else _title_from_stem(stem)
    return DocumentIn(id=_slug(stem), text=text, title=title)


def _html(stem: str, raw: str) -> DocumentIn:
    import trafilatura

    result = trafilatura.bare_extraction(
        raw, include_comments=False, include_tables=True, with_metadata=True
    )
    if result is None:
        raise LoadError("no article text found in the HTML")
    data = result.as_dict() if hasattr(result, "as_dict") else dict(result)
    text = data.get("text") or ""
    if not text.strip():
        raise LoadError("no article text found in the HTML")
    published = data.get("date")
    return DocumentIn(
        id=_slug(stem),
        text=text,
        title=data.get("title") or _title_from_stem(stem),
        url=data.get("url"),
        published_at=published or None,
        source=data.get("sitename"),
    )


def _record(obj: Any, where: str) -> DocumentIn | None:
    if not isinstance(obj, dict):
        raise LoadError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    if obj.get("type", "document") != "document":
        return None
    fields = {k: v for k, v in obj.items() if k in _DOC_FIELDS}
    extra = {k: v for k, v in obj.items() if k not in _DOC_FIELDS and k != "type"}
    if extra:
        fields["metadata"] = {**extra, **(fields.get("metadata") or {})}
    try:
        return DocumentIn.model_validate(fields)
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise LoadError(f"{where}: {loc}: {first['msg']}") from e


def _json(raw: str) -> list[DocumentIn]:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as e:
        raise LoadError(f"invalid JSON at line {e.lineno}: {e.msg}") from e
    if isinstance(data, dict) and isinstance(data.get("documents"), list):
        data = data["documents"]
    records = data if isinstance(data, list) else [data]
    docs = [_record(obj, f"record {i}") for i, obj in enumerate(records)]
    return [d for d in docs if d is not None]


def _jsonl(raw: str) -> list[DocumentIn]:
    docs: list[DocumentIn] = []
    for lineno, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise LoadError(f"line {lineno}: invalid JSON: {e.msg}") from e
        doc = _record(obj, f"line {lineno}")
        if doc is not None:
            docs.append(doc)
    return docs


def load_bytes(filename: str, data: bytes) -> list[DocumentIn]:
    """Documents in one file's content, by its name's suffix; raises LoadError with a reason
    a person can act on."""
    path = Path(filename)
    suffix, stem = path.suffix.lower(), path.stem
    if suffix not in SUFFIXES:
        raise LoadError(
            f"unsupported file type {suffix or '(none)'}; use one of {sorted(SUFFIXES)}"
        )
    text = _decode(data)
    try:
        if suffix == ".txt":
            return [DocumentIn(id=_slug(stem), text=text, title=_title_from_stem(stem))]
        if suffix in (".md", ".markdown"):
            return [_markdown(stem, text)]
        if suffix in (".html", ".htm"):
            return [_html(stem, text)]
        if suffix == ".json":
            return _json(text)
        return _jsonl(text)
    except ValidationError as e:
        first = e.errors()[0]
        raise LoadError(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from e


def load_file(path: Path) -> Loaded:
    """Documents in one file (see ``load_bytes``)."""
    if not path.is_file():
        raise LoadError("no such file")
    return Loaded(path, load_bytes(path.name, path.read_bytes()))
