"""The suite's subprocesses import ``chronicle`` from this tree's ``src``, whatever else is on
PYTHONPATH or installed: in another copy of the tree they test that copy's code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.cli.subprocesses import SRC, subprocess_env

WHERE = "import chronicle, sys; print(chronicle.__file__); print(sys.path.index(r'{decoy}'))"


@pytest.mark.parametrize("given", ["environment", "argument"])
def test_a_subprocess_imports_chronicle_from_this_trees_src_before_any_other(
    given: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoy = tmp_path / "decoy"
    (decoy / "chronicle").mkdir(parents=True)
    (decoy / "chronicle" / "__init__.py").write_text("raise SystemExit('the decoy was imported')")
    if given == "environment":
        monkeypatch.setenv("PYTHONPATH", str(decoy))
        env = subprocess_env()
    else:
        monkeypatch.delenv("PYTHONPATH", raising=False)
        env = subprocess_env(PYTHONPATH=str(decoy))
    assert env["PYTHONPATH"].split(os.pathsep) == [str(SRC), str(decoy)]  # prepended, kept
    result = subprocess.run(
        [sys.executable, "-c", WHERE.format(decoy=decoy)],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    imported, _ = result.stdout.splitlines()
    assert Path(imported).resolve() == (SRC / "chronicle" / "__init__.py").resolve()
