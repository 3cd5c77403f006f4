"""How `scaffold update` edits a real .env: read as the project's own loader reads it
(deploy/gunicorn.conf.py), each line kept in its own form, the file kept where and as it is."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scaffold import catalog
from scaffold.update import env_file

FLASK = catalog.get("flask")
OLD, NEW = "unix:/run/shop/gunicorn.sock", "unix:/run/store/gunicorn.sock"
BIND = catalog.EnvChange("GUNICORN_BIND", OLD, NEW, secret=False)


def follow(project: Path, text: str | bytes, *changes: catalog.EnvChange) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    (project / ".env").write_bytes(data)
    env_file.follow_answers(project, FLASK, list(changes or (BIND,)))
    return (project / ".env").read_bytes()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (f"GUNICORN_BIND={OLD}\n", f"GUNICORN_BIND={NEW}\n"),
        (f"export GUNICORN_BIND={OLD}\n", f"export GUNICORN_BIND={NEW}\n"),
        (f"GUNICORN_BIND = {OLD}\n", f"GUNICORN_BIND = {NEW}\n"),
        (f'GUNICORN_BIND="{OLD}"\n', f'GUNICORN_BIND="{NEW}"\n'),
        (f"GUNICORN_BIND='{OLD}'", f"GUNICORN_BIND='{NEW}'"),  # no final newline
        (f"GUNICORN_BIND={OLD}\r\n", f"GUNICORN_BIND={NEW}\r\n"),
        ("GUNICORN_BIND=unix:/srv/mine.sock\n", "GUNICORN_BIND=unix:/srv/mine.sock\n"),
    ],
    ids=["plain", "export", "spaces", "double-quoted", "single-quoted", "crlf", "yours"],
)
def test_a_line_moves_in_its_own_form(tmp_path: Path, line: str, expected: str) -> None:
    text = f"# Local settings\nFLASK_SECRET_KEY=s3cret\n{line}"
    assert (
        follow(tmp_path, text) == f"# Local settings\nFLASK_SECRET_KEY=s3cret\n{expected}".encode()
    )


def test_every_assignment_moves_since_loaders_differ_on_which_wins(tmp_path: Path) -> None:
    text = f"GUNICORN_BIND={OLD}\nOTHER=1\nGUNICORN_BIND={OLD}\n"
    assert follow(tmp_path, text) == f"GUNICORN_BIND={NEW}\nOTHER=1\nGUNICORN_BIND={NEW}\n".encode()


def test_a_crlf_file_gets_crlf_lines_added(tmp_path: Path) -> None:
    added = catalog.EnvChange("SMTP_PORT", None, "587", secret=False)
    result = follow(tmp_path, "A=1\r\nB=2\r\n", added)
    assert result.startswith(b"A=1\r\nB=2\r\n# ") and result.endswith(b"\r\nSMTP_PORT=587\r\n")
    assert b"\n" not in result.replace(b"\r\n", b"")


def test_a_symlinked_env_stays_a_link_and_its_target_moves(tmp_path: Path) -> None:
    target = tmp_path / "shared.env"
    target.write_text(f"GUNICORN_BIND={OLD}\n")
    project = tmp_path / "project"
    project.mkdir()
    (project / ".env").symlink_to(target)
    env_file.follow_answers(project, FLASK, [BIND])
    assert (project / ".env").is_symlink()
    assert target.read_text() == f"GUNICORN_BIND={NEW}\n"


def test_owner_group_and_mode_are_kept(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text(f"GUNICORN_BIND={OLD}\n")
    os.chown(path, os.getuid(), 65534)  # a group the service user is in, say nogroup
    path.chmod(0o640)
    env_file.follow_answers(tmp_path, FLASK, [BIND])
    info = path.stat()
    assert (info.st_gid, info.st_mode & 0o777) == (65534, 0o640)
    assert path.read_text() == f"GUNICORN_BIND={NEW}\n"


def test_a_hard_linked_env_is_not_rewritten(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text(f"GUNICORN_BIND={OLD}\n")
    os.link(path, tmp_path / "copy.env")
    with pytest.raises(env_file.NotEditable, match="hard links"):
        env_file.follow_answers(tmp_path, FLASK, [BIND])
    assert path.read_text() == f"GUNICORN_BIND={OLD}\n"


def test_a_secret_is_never_changed_and_a_new_one_is_generated(tmp_path: Path) -> None:
    kept = catalog.EnvChange("FLASK_SECRET_KEY", None, "", secret=True)
    new = catalog.EnvChange("APP_SECRET_KEY", None, "", secret=True)
    result = follow(tmp_path, "FLASK_SECRET_KEY=mine\n", kept, new).decode()
    assert result.startswith("FLASK_SECRET_KEY=mine\n")
    generated = result.rsplit("APP_SECRET_KEY=", 1)[1].strip()
    assert len(generated) >= 43
