"""promtool for the tests: the binary, or a loud skip (a failure under CI=true), and the
helpers both promtool suites use (synthetic series, running `promtool test rules`).

promtool comes from Debian's `prometheus` package (.ci/run installs it)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

PROMTOOL = shutil.which("promtool")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

if PROMTOOL is None and IN_CI:
    raise RuntimeError("promtool is missing in CI: .ci/run must install Debian's prometheus package")

# Module-level `pytestmark = requires_promtool` in a test module skips it without promtool.
requires_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="PROMTOOL MISSING: install Debian's `prometheus` package (apt-get install prometheus) to run the promtool tests; CI does",
)


def series(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return {"series": f"{name}{{{inner}}}", "values": values}


def run_rule_tests(tmp_path: Path, groups: list[dict[str, Any]], tests: list[dict[str, Any]]) -> None:
    """`promtool test rules` on `tests` against a rule file holding `groups`."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    spec = {"rule_files": [rules.name], "evaluation_interval": "1m", "tests": tests}
    path = tmp_path / "tests.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    done = subprocess.run([PROMTOOL, "test", "rules", path.name], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr



def check_rules(tmp_path: Path, groups: list[dict[str, Any]]) -> str:
    """`promtool check rules` on a rule file holding `groups` (rules and their templates
    valid); its output, which counts the rules found."""
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    done = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout
