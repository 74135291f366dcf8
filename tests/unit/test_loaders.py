"""Reading documents from files."""

from __future__ import annotations

import json

import pytest

from qa_service.ingest.loaders import LoadError, iter_files, load_file


def test_txt_md_html_json_jsonl(tmp_path):
    (tmp_path / "a-story.txt").write_text("Body of the story.", encoding="utf-8")
    (tmp_path / "b.md").write_text("# The Title\n\nMarkdown body.", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.html").write_text(
        "<html><head><title>Page title</title><script>alert('x')</script></head><body>"
        "<nav>Home | About</nav><article><h1>Headline</h1>"
        + "<p>The council approved the new budget for the harbour on Tuesday evening.</p>" * 5
        + "</article></body></html>",
        encoding="utf-8",
    )
    (tmp_path / "d.json").write_text(json.dumps({"documents": [{"id": "j1", "text": "J one"}]}))
    (tmp_path / "e.jsonl").write_text(
        '{"type": "document", "id": "l1", "text": "L one", "license": "CC"}\n'
        '{"type": "question", "question": "?"}\n'
    )
    (tmp_path / "ignored.bin").write_bytes(b"\x00")
    files = list(iter_files([tmp_path]))
    assert [f.name for f in files] == ["a-story.txt", "b.md", "d.json", "e.jsonl", "c.html"]
    txt = load_file(files[0]).documents[0]
    assert (txt.id, txt.title, txt.text) == ("a-story", "A story", "Body of the story.")
    assert load_file(files[1]).documents[0].title == "The Title"
    assert [d.id for d in load_file(files[2]).documents] == ["j1"]
    [l1] = load_file(files[3]).documents
    assert l1.id == "l1" and l1.metadata == {"license": "CC"}
    html = load_file(files[4]).documents[0]
    assert "approved the new budget" in html.text
    assert "alert" not in html.text and "Home | About" not in html.text


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("bad.json", b"{oops", "invalid JSON"),
        ("bad.jsonl", b'{"text": ""}\n', "line 1"),
        ("latin.txt", b"caf\xe9", "UTF-8"),
        ("x.pdf", b"%PDF", "unsupported"),
    ],
)
def test_bad_files_say_why(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LoadError, match=reason):
        load_file(path)
