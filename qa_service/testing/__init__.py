"""Helpers for tests and scripts: a live server, the crash kit, a fake newsroom."""
