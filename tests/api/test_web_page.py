"""The web page's files: the page, its policy, and every ES module it imports as JavaScript."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from qa_service.api import create_app
from qa_service.models.loading import Models
from tests.conftest import make_settings

MODULE_SCRIPT = re.compile(r'<script type="module" src="([^"]+)"')
JS_TYPES = ("text/javascript", "application/javascript")
IMPORT = re.compile(r'^import\b[^"\']*["\'](\./[^"\']+)["\'];', re.MULTILINE)


def test_every_module_of_the_page_is_served_as_javascript(
    tmp_path: Path, fake_models: Models
) -> None:
    # Browsers refuse a module script whose Content-Type is not a JavaScript type.
    with TestClient(create_app(make_settings(tmp_path / "data"), models=fake_models)) as client:
        page = client.get("/")
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["content-security-policy"]
        entries = MODULE_SCRIPT.findall(page.text)
        assert entries == ["/static/app.js"]

        seen: set[str] = set()
        todo = list(entries)
        while todo:
            path = todo.pop()
            if path in seen:
                continue
            seen.add(path)
            r = client.get(path)
            assert r.status_code == 200, path
            content_type = r.headers["content-type"].split(";")[0]
            assert content_type in JS_TYPES, (path, content_type)
            base = path.rsplit("/", 1)[0]
            todo += [f"{base}/{name[2:]}" for name in IMPORT.findall(r.text)]

    shipped = {p.name for p in (Path(__file__).parents[2] / "qa_service" / "static").glob("*.js")}
    assert {p.rsplit("/", 1)[1] for p in seen} == shipped  # no module left unreachable
