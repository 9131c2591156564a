"""The history: recorded check runs and uploads on SQLite and PostgreSQL, `history`, `diff` and `watch`.

Every test here runs twice, once per store (fixture ``history_env``); the checks and uploads go to the real
sandbox over HTTP.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, inspect, select

from services.cli import main
from services.core.errors import HistoryError
from services.history.model import RunRecord, UploadRecord
from services.history.record import local_user
from services.history.store import default_sqlite_path, history_config, open_store
from services.sandbox import Sandbox, layout
from tests.conftest import PROJECT_ROOT, point_console_at
from tests.support import image_bytes


def run_cli(*argv: str, env: dict[str, str]) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), env=env, out=out)
    return code, out.getvalue()


def cli_json(*argv: str, env: dict[str, str]) -> Any:
    code, text = run_cli(*argv, "--json", env=env)
    assert code == 0, text
    return json.loads(text)


def whole_database(env: dict[str, str]) -> str:
    """Every value of every row of every table, as one text (what a leak test searches)."""
    engine = open_store(env).engine
    tables = MetaData()
    tables.reflect(engine)
    with engine.connect() as connection:
        rows = [repr(tuple(row)) for table in tables.sorted_tables for row in connection.execute(select(table))]
    return "\n".join(rows)


def test_the_schema_is_created_and_versioned_on_open(history_env):
    store = open_store(history_env)
    names = set(inspect(store.engine).get_table_names())
    assert {"runs", "findings", "documents", "uploads", "alembic_version"} <= names
    with store.engine.connect() as connection:
        (version,) = connection.exec_driver_sql("SELECT version_num FROM alembic_version").one()
    assert version == "0002"


def test_the_default_store_is_a_sqlite_file_in_the_data_directory_in_wal_mode(tmp_path: Path):
    env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    assert default_sqlite_path(env) == tmp_path / "data" / "image-pipeline-console" / "history.sqlite3"
    assert (
        default_sqlite_path({"HOME": str(tmp_path)}) == tmp_path / ".local/share/image-pipeline-console/history.sqlite3"
    )
    store = open_store(env)
    assert default_sqlite_path(env).is_file()
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_postgres_urls_use_the_pinned_psycopg_driver():
    assert history_config({"PIPELINE_HISTORY_URL": "postgresql://u@db/history"}).url.startswith("postgresql+psycopg://")
    with pytest.raises(HistoryError, match="PIPELINE_HISTORY_DAYS"):
        history_config({"PIPELINE_HISTORY_DAYS": "forever"})


WRITER = """
import sys
from datetime import UTC, datetime
from services.history.model import RunRecord, UploadRecord
from services.history.store import open_store
store = open_store({"PIPELINE_HISTORY_URL": sys.argv[1]})
for _ in range(40):
    store.record_run(RunRecord(sys.argv[2], datetime.now(UTC), "writer", 1.0, {"pass": 1}, {}))
"""


def test_a_console_and_a_cli_write_at_once(history_env):
    url = history_env["PIPELINE_HISTORY_URL"]
    open_store(history_env)  # schema in place, as a running console would have it
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, url, name], cwd=PROJECT_ROOT, stderr=subprocess.PIPE, text=True)
        for name in ("console", "cli")
    ]
    errors = [writer.communicate(timeout=120)[1] for writer in writers]
    assert [writer.returncode for writer in writers] == [0, 0], errors
    store = open_store(history_env)
    assert len(store.runs(profile="console", limit=100)) == 40
    assert len(store.runs(profile="cli", limit=100)) == 40


def test_a_cors_change_between_two_runs_is_named_by_diff(history_env, switch):
    """The done-when: bucket.cors goes pass -> fail and the CORS document's diff shows the removed origin."""
    assert run_cli("check", env=history_env)[0] == 0
    switch("bucket-cors-origin")
    assert run_cli("check", env=history_env)[0] == 1
    diff = cli_json("diff", env=history_env)
    assert {"from", "to", "status_changes", "documents"} <= set(diff)
    assert diff["to"]["id"] > diff["from"]["id"]
    assert {"id": "bucket.cors", "from": "pass", "to": "fail"} in diff["status_changes"]
    assert [d["name"] for d in diff["documents"]] == ["bucket_cors"]  # nothing that differs on every run
    (cors,) = diff["documents"]
    assert set(cors) == {"name", "checks", "before", "after", "diff"}
    assert "bucket.cors" in cors["checks"]
    assert '-      "http://localhost:5173",' in cors["diff"].splitlines()
    assert "http://localhost:5173" in cors["before"] and "http://localhost:5173" not in cors["after"]
    (cors_finding,) = [f for f in open_store(history_env).findings(diff["to"]["id"]) if f.check_id == "bucket.cors"]
    assert cors_finding.status == "fail" and cors_finding.codes and cors_finding.impact  # the finding's own terms
    code, text = run_cli("diff", str(diff["from"]["id"]), str(diff["to"]["id"]), env=history_env)
    assert code == 0 and "bucket.cors" in text and "pass -> fail" in text and "http://localhost:5173" in text


def test_history_lists_runs_newest_first_with_counts_and_a_checks_status(history_env):
    assert run_cli("check", "--only", "bucket", env=history_env)[0] == 0
    assert run_cli("check", "--only", "presign", env=history_env)[0] == 0
    runs = cli_json("history", env=history_env)["runs"]
    assert [set(run) for run in runs] == [{"id", "profile", "started_at", "by", "counts"}] * 2
    assert runs[0]["id"] > runs[1]["id"]
    assert runs[0]["by"] == local_user() and runs[0]["profile"] == "default"
    assert set(runs[0]["counts"]) == {"pass", "warn", "fail", "unknown", "skip"}
    assert cli_json("history", "--limit", "1", env=history_env)["runs"][0]["id"] == runs[0]["id"]
    (cors,) = cli_json("history", "--check", "bucket.cors", env=history_env)["runs"]
    assert cors["id"] == runs[1]["id"] and cors["check"] == {"id": "bucket.cors", "status": "pass"}


def test_check_apply_records_the_run_before_and_the_run_after_the_fix(history_env, switch):
    switch("lambda-role-no-put")
    writes = dict(history_env, PIPELINE_ALLOW_WRITES="true")
    code, text = run_cli("check", "--apply", "lambda.role_put", "--confirm", layout.PRESIGN_ROLE_NAME, env=writes)
    assert code == 0, text
    runs = cli_json("history", "--check", "lambda.role_put", env=history_env)["runs"]
    assert [run["check"]["status"] for run in runs] == ["pass", "fail"]  # newest first: the re-run, then before
    diff = cli_json("diff", env=history_env)
    assert {"id": "lambda.role_put", "from": "fail", "to": "pass"} in diff["status_changes"]
    assert "role_policies" in [document["name"] for document in diff["documents"]]
    again = ("check", "--apply", "lambda.role_put", "--confirm", layout.PRESIGN_ROLE_NAME, "--no-record")
    assert run_cli(*again, env=writes)[0] == 0  # nothing to apply, and nothing recorded
    assert len(cli_json("history", env=history_env)["runs"]) == 2


def test_check_no_record_records_nothing(history_env):
    assert run_cli("check", "--only", "bucket", "--no-record", env=history_env)[0] == 0
    assert cli_json("history", env=history_env) == {"runs": []}


def test_uploads_are_recorded_by_the_name_they_were_uploaded_with(history_env, tmp_path: Path):
    data = image_bytes()
    (tmp_path / "Team photo (1).png").write_bytes(data)
    assert run_cli("upload", str(tmp_path / "Team photo (1).png"), env=history_env)[0] == 0
    (tmp_path / "notes.png").write_text("not an image")
    assert run_cli("upload", str(tmp_path / "notes.png"), env=history_env)[0] == 1
    uploads = cli_json("history", "--uploads", env=history_env)["uploads"]
    assert [u["file"] for u in uploads] == ["notes.png", "Team photo (1).png"]
    failed, ok = uploads
    assert ok["outcome"] == "ok" and ok["sha256"] == hashlib.sha256(data).hexdigest() and ok["size"] == len(data)
    assert ok["content_type"] == "image/png" and ok["key"] and ok["by"] == local_user()
    assert failed["outcome"].startswith("failed at validate") and failed["key"] is None
    (found,) = cli_json("history", "--uploads", "--name", "photo (1", env=history_env)["uploads"]
    assert found["key"] == ok["key"]


def test_no_secret_or_signature_reaches_the_database(history_env, tmp_path: Path, sandbox: Sandbox):
    (tmp_path / "a.png").write_bytes(image_bytes())
    assert run_cli("upload", str(tmp_path / "a.png"), env=history_env)[0] == 0
    run_cli("check", env=history_env)
    # a caller that hands the store a signed URL anyway: the store redacts on the way in
    signed = "https://b.s3.amazonaws.com/k.png?X-Amz-Credential=AKIA/20260101/r/s3/aws4_request&X-Amz-Signature=abc123"
    open_store(history_env).record_run(
        RunRecord("leak-probe", datetime.now(UTC), f"probe {signed}", 1.0, {}, {"presign_url": signed})
    )
    everything = whole_database(history_env)
    assert "presigned_url" in everything and "bucket_cors" in everything  # the search had something to search
    # the sandbox's secret is a plain word ("test"): searched as a whole token, the way a leaked key would stand
    assert re.findall(rf"(?<![\w.-]){re.escape(layout.SECRET_ACCESS_KEY)}(?![\w.-])", everything) == []
    signatures = re.findall(r"(?i)X-Amz-Signature=([^&\"'\s,)]*)", everything)
    assert signatures and set(signatures) == {"REDACTED"}


def test_retention_prunes_old_runs_but_keeps_each_profiles_latest(history_env):
    store = open_store(dict(history_env, PIPELINE_HISTORY_DAYS="30"))
    old = datetime.now(UTC) - timedelta(days=45)

    def record(profile: str, when: datetime) -> int:
        return store.record_run(RunRecord(profile, when, "test", 1.0, {"pass": 1}, {}))

    gone = [record("staging", old), record("staging", old + timedelta(hours=1))]
    kept_recent = record("staging", datetime.now(UTC))
    only_old = [record("archive", old), record("archive", old + timedelta(hours=1))]
    assert store.prune() == 3
    assert [run.id for run in store.runs(profile="staging")] == [kept_recent]
    assert [run.id for run in store.runs(profile="archive")] == [only_old[1]]
    assert all(store.run(run_id) is None for run_id in [*gone, only_old[0]])


def test_retention_prunes_old_uploads_too(history_env):
    store = open_store(dict(history_env, PIPELINE_HISTORY_DAYS="30"))
    now = datetime.now(UTC)

    def upload(name: str, when: datetime) -> UploadRecord:
        return UploadRecord("staging", when, "test", name, "ok", key=f"uploads/{name}")

    # the profile's only run is old and kept (its latest); the uploads beside it are their own records
    store.record_run(RunRecord("staging", now - timedelta(days=45), "test", 1.0, {"pass": 1}, {}))
    store.record_uploads([upload("old.png", now - timedelta(days=45)), upload("new.png", now - timedelta(days=29))])
    store.prune()
    assert [record.file_name for record in store.uploads(profile="staging")] == ["new.png"]
    assert len(store.runs(profile="staging")) == 1


def test_a_history_that_cannot_be_written_is_one_warning_line(sandbox_env, tmp_path: Path, capsys, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env = dict(sandbox_env, PIPELINE_HISTORY_URL=f"sqlite:///{blocker}/history.sqlite3")
    point_console_at(monkeypatch, env)
    code, text = run_cli("check", "--only", "bucket", env=env)
    assert code == 0 and "PASS    bucket.cors" in text  # the check's result stands
    (tmp_path / "a.png").write_bytes(image_bytes())
    assert run_cli("upload", str(tmp_path / "a.png"), env=env)[0] == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2 and all("history not recorded" in line for line in warnings)
    assert all("Traceback" not in line for line in warnings)


def test_diff_without_two_runs_is_a_usage_error(history_env, capsys):
    assert run_cli("diff", env=history_env)[0] == 2
    assert "a diff needs two" in capsys.readouterr().err


class SwitchAfterFirstRun(io.StringIO):
    """The watch's output; turns a break switch on once the first run's line is printed."""

    def __init__(self, turn_on: Any) -> None:
        super().__init__()
        self.turn_on, self.turned = turn_on, False

    def write(self, text: str) -> int:
        if not self.turned and "run #" in text:
            self.turned = True
            self.turn_on("bucket-cors-origin")
        return super().write(text)


def test_watch_records_each_run_and_stops_at_a_change(history_env, switch):
    out = SwitchAfterFirstRun(switch)
    code = main(["watch", "--every", "10ms", "--until-change", "--runs", "5"], env=history_env, out=out)
    lines = out.getvalue().splitlines()
    assert code == 1, lines
    assert len([line for line in lines if "run #" in line]) == 2
    assert any("bucket.cors" in line and "pass -> fail" in line for line in lines)
    assert any("changed document: bucket_cors" in line for line in lines)
    assert len(cli_json("history", env=history_env)["runs"]) == 2


def test_watch_without_a_change_runs_n_times_and_exits_0(history_env):
    out = io.StringIO()
    assert main(["watch", "--every", "10ms", "--runs", "2"], env=history_env, out=out) == 0
    assert len(out.getvalue().splitlines()) == 2 and "status changed" not in out.getvalue()


def test_browse_finds_an_object_by_the_name_it_was_uploaded_with(history_env, tmp_path: Path, admin_s3):
    (tmp_path / "Holiday beach.png").write_bytes(image_bytes())
    (tmp_path / "other.png").write_bytes(image_bytes())
    assert run_cli("upload", str(tmp_path / "Holiday beach.png"), str(tmp_path / "other.png"), env=history_env)[0] == 0
    beach, other = (u["key"] for u in cli_json("history", "--uploads", env=history_env)["uploads"][::-1])
    code, text = run_cli("browse", "--name", "beach", "--json", env=history_env)
    assert code == 0, text
    (found,) = [json.loads(line) for line in text.splitlines()]
    assert found["uploaded_as"] == "Holiday beach.png" and found["key"] == beach and found["state"] == "stored"
    assert found["content_type"] == "image/png" and found["cdn_url"].endswith(beach.rsplit("/", 1)[-1])
    code, text = run_cli("browse", "--name", "beach", env=history_env)
    assert code == 0 and "'Holiday beach.png' -> " + beach in text and "1 object(s)" in text
    # the listing names the uploaded file beside its key, where the history has one
    for key, name in ((beach, "Holiday beach.png"), (other, "other.png")):
        (listed,) = map(json.loads, run_cli("browse", "--prefix", key, "--json", env=history_env)[1].splitlines())
        assert listed["key"] == key and listed["uploaded_as"] == name
        assert f"{key}  (uploaded as {name!r})" in run_cli("browse", "--prefix", key, env=history_env)[1]
    admin_s3.delete_object(Bucket=layout.BUCKET, Key=beach)
    (gone,) = map(json.loads, run_cli("browse", "--name", "beach", "--json", env=history_env)[1].splitlines())
    assert gone["state"] == "gone" and gone["size"] is None
    assert run_cli("browse", "--name", "beach", "--prefix", "x/", env=history_env)[0] == 2
    assert run_cli("browse", "--name", "no such name", env=history_env)[1].startswith("-- 0 object(s)")
