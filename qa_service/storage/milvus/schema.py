"""Opening the Milvus collections of ``milvus.MilvusStore``: connect, create what is missing,
check what exists, load what is released.

A store must open the same way the first time and after every restart. Milvus Lite 3 reopens
each collection that has an index *released* (queries fail until ``load()``), and a Milvus server
does the same with collections nobody has loaded since it restarted. So every open makes sure,
for each collection, that it exists, has its indexes (a first start killed between creating a
collection and indexing it left none), holds the fields and the vector size this version writes,
and is loaded; then it reads from each one. Whatever fails is a ``StorageError`` that names the
collection, the URI and the versions at both ends: an error that waiting will not cure ends the
start-up with its reason (``/ready`` "failed", the CLI exits 1) instead of surfacing on the first
query, or never.

Collections are created without ``index_params`` and indexed with ``sync=False``: pymilvus'
wait for an index build starts by asking the server for a timestamp (``AllocTimestamp``), which
Milvus Lite 3 does not implement (pymilvus carries on, but the server logs a traceback per index).
An index on an empty collection has nothing to wait for, and ``load_collection`` waits for
whatever an existing one still builds.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...config import Settings
from ...errors import StorageError

log = logging.getLogger(__name__)

ANALYZER = {
    "tokenizer": "standard",
    "filter": ["lowercase", {"type": "stemmer", "language": "english"}],
}
#: Collections other than the chunks have no vectors of their own; Milvus needs one vector field.
_DUMMY = [("v", {"index_type": "FLAT", "metric_type": "L2"})]


@dataclass(frozen=True, slots=True)
class Collections:
    """The names of the four collections under one ``QA_MILVUS_COLLECTION`` prefix."""

    docs: str
    parts: str
    chunks: str
    meta: str

    @classmethod
    def of(cls, settings: Settings) -> Collections:
        prefix = settings.milvus_collection
        return cls(
            f"{prefix}_documents", f"{prefix}_document_parts", f"{prefix}_chunks", f"{prefix}_meta"
        )


def chunks_collection(settings: Settings) -> str:
    return Collections.of(settings).chunks


def connect(settings: Settings) -> tuple[Any, str]:
    """A ``MilvusClient`` for ``settings`` and its URI (a Milvus Lite file in the data directory
    unless ``QA_MILVUS_URI`` names another file or a server)."""
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")  # gRPC's keep-alive chatter on stderr
    from pymilvus import MilvusClient

    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)  # its errors reach us as exceptions
    uri = settings.milvus_uri or str(settings.data_dir / "milvus.db")
    lite = "://" not in uri
    if lite:
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
    # Milvus Lite logs why it cannot open a file (with a traceback) and pymilvus only raises
    # "Open local milvus failed": keep the reason for our error, and the traceback off stderr.
    lite_log = logging.getLogger("milvus_lite.server_manager")
    why = _LastError()
    lite_log.addHandler(why)
    lite_log.propagate = False
    try:
        client = MilvusClient(
            uri, token=settings.milvus_token or "", timeout=settings.milvus_timeout_s
        )
    except Exception as e:
        detail = why.message or reason(e)
        if "lock" in detail:
            detail += (
                " (Milvus Lite serves one process at a time: stop the other one, or share the "
                "data through `milvus-lite server`)"
            )
        elif lite and Path(uri).is_file():
            detail += " (a single file is a Milvus Lite 2 database: Milvus Lite 3 cannot open it)"
        raise StorageError(f"Cannot connect to Milvus at {uri}: {detail}") from e
    finally:
        lite_log.removeHandler(why)
        lite_log.propagate = True
    return client, uri


class _LastError(logging.Handler):
    """Keeps the message of the last exception logged."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.message = ""

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.message = str(record.exc_info[1])


def reason(e: BaseException) -> str:
    """The message of a pymilvus error without its ``<MilvusException: (code=…)>`` wrapping."""
    message = getattr(e, "message", None)
    return str(message) if message else str(e)


def versions(client: Any) -> str:
    """``pymilvus X, server Y``: said with every error at open, where a mismatch is likely."""
    import pymilvus

    try:
        server = str(client.get_server_version(timeout=5))
    except Exception:
        server = "unknown"
    return f"pymilvus {pymilvus.__version__}, server {server}"


def stored_dim(client: Any, collection: str) -> int | None:
    """The dimension of the vectors a chunk collection holds (None if it has none)."""
    info = client.describe_collection(collection)
    dims = [f.get("params", {}).get("dim") for f in info["fields"] if f["name"] == "vector"]
    return int(dims[0]) if dims else None


def _schemas(client: Any, names: Collections, dim: int) -> list[tuple[str, Any, list[Any]]]:
    """(name, schema, indexes) of each collection, in the order they are opened."""
    from pymilvus import DataType, Function, FunctionType

    c = client
    docs = c.create_schema(auto_id=False)
    docs.add_field("id", DataType.VARCHAR, is_primary=True, max_length=256)
    for field in ("title", "url"):
        docs.add_field(field, DataType.VARCHAR, max_length=8192)
    for field in ("published_at", "source", "content_hash", "index_hash", "created_at",
                  "updated_at"):  # fmt: skip
        docs.add_field(field, DataType.VARCHAR, max_length=512)
    docs.add_field("metadata", DataType.JSON)
    docs.add_field("chunk_count", DataType.INT64)
    docs.add_field("seq", DataType.INT64)
    docs.add_field("v", DataType.FLOAT_VECTOR, dim=2)

    parts = c.create_schema(auto_id=True)
    parts.add_field("pk", DataType.INT64, is_primary=True)
    parts.add_field("doc_id", DataType.VARCHAR, max_length=256)
    parts.add_field("part", DataType.INT64)
    parts.add_field("version", DataType.VARCHAR, max_length=128)  # the document's content hash
    parts.add_field("text", DataType.VARCHAR, max_length=65535)
    parts.add_field("v", DataType.FLOAT_VECTOR, dim=2)

    meta = c.create_schema(auto_id=False)
    meta.add_field("key", DataType.VARCHAR, is_primary=True, max_length=256)
    meta.add_field("value", DataType.VARCHAR, max_length=65535)
    meta.add_field("v", DataType.FLOAT_VECTOR, dim=2)

    chunks = c.create_schema(auto_id=True)
    chunks.add_field("id", DataType.INT64, is_primary=True)
    chunks.add_field("doc_id", DataType.VARCHAR, max_length=256)
    chunks.add_field("ord", DataType.INT64)
    chunks.add_field("start", DataType.INT64)
    chunks.add_field("end", DataType.INT64)
    chunks.add_field("text", DataType.VARCHAR, max_length=65535)
    chunks.add_field("bm25_text", DataType.VARCHAR, max_length=65535, enable_analyzer=True,
                     enable_match=True, analyzer_params=ANALYZER)  # fmt: skip
    for field in ("title", "url"):
        chunks.add_field(field, DataType.VARCHAR, max_length=8192)
    for field in ("published_at", "source", "index_hash"):
        chunks.add_field(field, DataType.VARCHAR, max_length=512)
    chunks.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    chunks.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    chunks.add_function(
        Function(
            name="bm25",
            function_type=FunctionType.BM25,
            input_field_names=["bm25_text"],
            output_field_names=["sparse"],
        )
    )
    chunk_indexes = [
        ("vector", {"index_type": "AUTOINDEX", "metric_type": "IP"}),
        ("sparse", {"index_type": "SPARSE_INVERTED_INDEX", "metric_type": "BM25"}),
    ]
    return [
        (names.docs, docs, _DUMMY),
        (names.parts, parts, _DUMMY),
        (names.meta, meta, _DUMMY),
        (names.chunks, chunks, chunk_indexes),
    ]


def open_collections(
    client: Any, uri: str, names: Collections, dim: int, timeout: float | None
) -> None:
    """Create, check and load every collection (see the module docstring); ``timeout`` bounds
    each call, so a server that stops answering fails the open instead of hanging it."""
    for name, schema, indexes in _schemas(client, names, dim):
        try:
            _open_one(client, name, schema, indexes, timeout)
            client.query(name, filter="", output_fields=["count(*)"], timeout=timeout)
        except StorageError as e:
            raise StorageError(f"{e.detail} ({uri}; {versions(client)})") from e
        except Exception as e:
            raise StorageError(
                f"Cannot open Milvus collection {name}: {reason(e)} ({uri}; {versions(client)})"
            ) from e


def _open_one(
    client: Any, name: str, schema: Any, indexes: list[Any], timeout: float | None
) -> None:
    c = client
    if not c.has_collection(name, timeout=timeout):
        log.info("creating Milvus collection %s", name)
        c.create_collection(name, schema=schema, consistency_level="Strong", timeout=timeout)
    else:
        _check_fields(c, name, schema, timeout)
    missing = [(f, i) for f, i in indexes if not c.list_indexes(name, field_name=f)]
    if missing:
        params = c.prepare_index_params()
        for field, index in missing:
            params.add_index(field, **index)
        c.create_index(name, params, sync=False, timeout=timeout)  # no AllocTimestamp
    if _load_state(c, name, timeout) != "Loaded":
        log.info("loading Milvus collection %s", name)
        c.load_collection(name, timeout=timeout)
        state = _load_state(c, name, timeout)
        if state != "Loaded":
            raise StorageError(f"Milvus collection {name} is {state} after load()")


def _check_fields(client: Any, name: str, schema: Any, timeout: float | None) -> None:
    """An existing collection has every field this version writes, vectors of the same size."""
    info = client.describe_collection(name, timeout=timeout)
    stored = {f["name"]: f for f in info["fields"]}
    missing = [f.name for f in schema.fields if f.name not in stored]
    if missing:
        raise StorageError(
            f"Milvus collection {name} lacks the fields {missing}: it was made by another "
            "program or version. Set another QA_MILVUS_COLLECTION, or move it aside."
        )
    for f in schema.fields:
        want = (f.params or {}).get("dim")
        have = stored[f.name].get("params", {}).get("dim")
        if want is not None and have is not None and int(want) != int(have):
            raise StorageError(
                f"Milvus collection {name} holds {have}-d vectors in {f.name!r}, the embedder "
                f"makes {want}-d ones (another embedding model made it): set another "
                "QA_MILVUS_COLLECTION, or migrate."
            )


def _load_state(client: Any, name: str, timeout: float | None) -> str:
    state = client.get_load_state(name, timeout=timeout)["state"]
    return str(getattr(state, "name", state))
