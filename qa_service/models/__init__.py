"""Model wrappers: embedders, generators, the extractive reader, and how they load."""
