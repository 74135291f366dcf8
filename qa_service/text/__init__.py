"""Pure text processing: chunks, sentences, terms and support checks (no ML, no IO)."""
