"""The README's Python examples run as written, against the tree's own source."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    return env


def test_the_readme_has_python_examples() -> None:
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("number", range(len(EXAMPLES)))
def test_a_readme_example_runs(number: int, tmp_path: Path) -> None:
    code = EXAMPLES[number]
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if "run(handle, stop)" in code:
        # A consumer that follows a broker until stopped: it must start and keep running.
        try:
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            return
        _, errors = process.communicate()
        pytest.fail(f"the consumer example stopped by itself:\n{errors}")
    _, errors = process.communicate(timeout=120)
    assert process.returncode == 0, errors
