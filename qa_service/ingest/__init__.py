"""Ingestion: file loaders, the ingest pipeline, background jobs, feeds and wire copies."""
