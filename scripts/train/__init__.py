"""Training the reader, and our own training questions (adversarial, variants)."""
