"""The shared SQLite plumbing: batched IN-list reads."""

from __future__ import annotations

from pathlib import Path

from qa_service.storage.localdb import IN_BATCH, connect, select_in


def test_select_in_reads_every_value_in_batches_with_leading_parameters(tmp_path: Path) -> None:
    conn = connect(tmp_path / "t.sqlite3")
    conn.execute("CREATE TABLE t (grp TEXT, k INTEGER)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(g, k) for g in "ab" for k in range(1200)])
    wanted = list(range(IN_BATCH * 2 + 7))
    batches = list(
        select_in(conn, "SELECT k FROM t WHERE grp = ? AND k IN ({marks})", wanted, ["b"])
    )
    assert [len(b) for b in batches] == [IN_BATCH, IN_BATCH, 7]
    assert sorted(r[0] for b in batches for r in b) == wanted
    assert list(select_in(conn, "SELECT k FROM t WHERE k IN ({marks})", [])) == []
