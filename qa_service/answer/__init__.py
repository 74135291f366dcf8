"""Answers and summaries built from retrieved passages, with their support checks."""
