"""Storage: shared types and protocols, the local (SQLite + FAISS + BM25) and Milvus backends."""
