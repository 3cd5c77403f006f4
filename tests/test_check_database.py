"""`scaffold check` on a postgresql project: the caller's DATABASE_URL, else a throwaway cluster
on a unix socket (real initdb and pg_ctl), else a one-line refusal before anything exists."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scaffold.check import database, run_check
from scaffold.errors import BadInput
from tests.helpers import generate


def test_a_throwaway_cluster_listens_on_a_socket_only_and_leaves_nothing(tmp_path: Path) -> None:
    cluster = database.Cluster(tmp_path)
    cluster.start(tmp_path / "database.log")
    try:
        assert cluster.url.startswith("postgresql://postgres@/postgres?host=/")
        psql = database._program("psql") or "psql"
        answer = subprocess.run(
            [psql, cluster.url, "-Atc", "show listen_addresses"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert answer.stdout.strip() == ""  # no TCP port at all
    finally:
        cluster.stop()
    assert not cluster.path.exists()


def test_without_a_server_or_a_url_the_check_refuses_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = generate(tmp_path / "shopdb", "flask", "database=postgresql")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("TMPDIR", str(work))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr(database, "_program", lambda name: None)
    with pytest.raises(BadInput) as refused:
        run_check(project, nginx=False)
    assert "uses PostgreSQL and DATABASE_URL is not set" in str(refused.value)
    assert "apt-get install postgresql" in refused.value.hint
    assert list(work.iterdir()) == []  # nothing was made


def test_the_callers_database_url_is_used_as_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    project = generate(tmp_path / "shopdb", "flask", "database=postgresql")
    from scaffold.check.preflight import preflight

    target = preflight(project, nginx=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://someone@db.internal/shop")
    assert not database.needs_cluster(target)
    database.require_server(target)  # no refusal: the caller chose the database
    monkeypatch.delenv("DATABASE_URL")
    assert database.needs_cluster(target)
