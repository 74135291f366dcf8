"""qa-service: question answering and summaries over news articles, with exact citations."""

__version__ = "0.1.0"

__all__ = ["__version__"]
