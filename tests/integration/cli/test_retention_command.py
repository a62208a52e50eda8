"""``chronicle retention`` as an operator runs it: two years on, a dry run, and an archive
folder that is missing, read-only or full, each stopping the run with a clear error before
anything is removed."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chronicle.bootstrap import open_store
from tests.integration.cli.subprocesses import run_chronicle, store_env
from tests.support.old_history import a_year_of_chat, sealed_whole

pytestmark = pytest.mark.needs("retention")

START = datetime.now(UTC) - timedelta(days=400)
TWO_YEARS_LATER = (START + timedelta(days=730)).isoformat()


@pytest.fixture
def year(store_url: str) -> str:
    """A store with a year of imported chat history, sealed."""
    store = open_store(store_url)
    try:
        a_year_of_chat(store, START)
        sealed_whole(store)
    finally:
        store.close()
    return store_url


def event_count(store_url: str) -> int:
    store = open_store(store_url)
    try:
        return store.summary().total_events
    finally:
        store.close()


def test_two_years_later_the_cli_archives_everything_and_verify_exits_0(
    year: str, tmp_path: Path
) -> None:
    env = store_env(year, CHRONICLE_ARCHIVE_DIR=str(tmp_path))
    before = event_count(year)
    dry = run_chronicle("retention", "--now", TWO_YEARS_LATER, "--force", "--dry-run", "--json",
                        env=env)  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["archived"] == before and event_count(year) == before

    done = run_chronicle("retention", "--now", TWO_YEARS_LATER, "--force", "--json", env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["removed"] == before and report["receipt"] == 1
    assert (tmp_path / "receipt-000001" / "manifest.json").exists()
    assert event_count(year) == 1  # the receipt

    verify = run_chronicle("verify", env=env)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    again = run_chronicle("retention", "--now", TWO_YEARS_LATER, "--force", env=env)
    assert again.returncode == 0 and "nothing to archive" in again.stdout

    refused = run_chronicle("replay", env=env)  # it would drop the archived events' rows
    assert refused.returncode == 2 and "--without-archived" in refused.stderr
    rebuilt = run_chronicle("replay", "--without-archived", "--json", env=env)
    assert rebuilt.returncode == 0, rebuilt.stderr


def test_a_now_more_than_a_day_ahead_needs_force_and_exits_2(year: str, tmp_path: Path) -> None:
    env = store_env(year, CHRONICLE_ARCHIVE_DIR=str(tmp_path))
    refused = run_chronicle("retention", "--now", TWO_YEARS_LATER, env=env)
    assert refused.returncode == 2 and "--force" in refused.stderr
    bad = run_chronicle("retention", "--now", "next tuesday", env=env)
    assert bad.returncode == 2 and "ISO-8601" in bad.stderr
    assert event_count(year) > 1


def test_a_configured_archive_folder_that_does_not_exist_stops_the_run(
    year: str, tmp_path: Path
) -> None:
    env = store_env(year, CHRONICLE_ARCHIVE_DIR=str(tmp_path / "nowhere"))
    before = event_count(year)
    refused = run_chronicle("retention", "--now", TWO_YEARS_LATER, "--force", env=env)
    assert refused.returncode == 1 and "does not exist" in refused.stderr
    assert event_count(year) == before


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder no one may write: a read-only mount where this user may mount (root, which
    file modes do not stop), else a folder without write permission."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_read_only_archive_folder_stops_the_run_and_removes_nothing(
    year: str, read_only_folder: Path
) -> None:
    env = store_env(year, CHRONICLE_ARCHIVE_DIR=str(read_only_folder))
    before = event_count(year)
    refused = run_chronicle("retention", "--now", TWO_YEARS_LATER, "--force", env=env)
    assert refused.returncode == 1 and "not writable" in refused.stderr, refused.stderr
    assert event_count(year) == before


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_an_archive_folder_that_fills_up_stops_the_run_and_removes_nothing(
    year: str, tmp_path: Path
) -> None:
    """The disk fills while the segment is written: the process may write no file beyond 4 KiB
    (the store is PostgreSQL's, written by its server, so only the archive meets the limit)."""
    env = store_env(year, CHRONICLE_ARCHIVE_DIR=str(tmp_path))
    before = event_count(year)

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    refused = subprocess.run(
        [sys.executable, "-m", "chronicle", "retention", "--now", TWO_YEARS_LATER, "--force"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=small_files,  # the limit applies to the child alone
    )
    assert refused.returncode == 1, refused.stderr
    assert "cannot write" in refused.stderr and "nothing was removed" in refused.stderr
    assert event_count(year) == before
    assert not list(tmp_path.glob("receipt-*/*.partial"))
