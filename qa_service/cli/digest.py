"""A digest as Markdown: each story's new developments, quoted, with outlet, date and link."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..text.recency import day_text, parse_time

if TYPE_CHECKING:
    from ..schemas import DigestResponse, StorySentence

_MARKDOWN = re.compile(r"([\\`*_{}\[\]<>#|])")


def _text(value: str) -> str:
    """Article text as literal Markdown: its markup characters escaped, one line."""
    return _MARKDOWN.sub(r"\\\1", " ".join(value.split()))


def _day(iso: str | None) -> str:
    when = parse_time(iso)
    return day_text(when) if when is not None else "undated"


def _cite(s: StorySentence) -> str:
    label = _text(f"{s.source or s.title or s.doc_id}, {_day(s.published_at)}")
    return f"[{label}]({s.url})" if s.url and " " not in s.url else label


def digest_markdown(digest: DigestResponse) -> str:
    """The digest as Markdown: a heading per story, its new developments as cited bullets."""
    lines = [f"# What is new since {digest.since}", ""]
    if not digest.stories:
        lines.append("No story gained articles since then.")
    for story in digest.stories:
        lines += [f"## {_text(story.title or story.id)}", ""]
        if story.sources:
            lines += ["Sources: " + ", ".join(_text(s) for s in story.sources), ""]
        if not story.new:
            lines.append("- No new development: the new articles repeat what was known.")
        lines += [f"- {_text(s.quote)} ({_cite(s)})" for s in story.new]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
