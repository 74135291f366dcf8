"""Quality: QA, the reader alone, summaries, wire copies, and the news dev set."""
