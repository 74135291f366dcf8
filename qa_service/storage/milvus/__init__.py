"""The Milvus backend: collections (schema), writes (store) and hybrid search."""
