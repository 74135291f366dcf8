"""Helpers for tests and scripts: a live server, the crash kit, a fake newsroom.

Outside ``qa_service`` so they are not shipped; ``scripts/`` import them as ``tests.support``
(run from the repository root with ``python -m``).
"""
