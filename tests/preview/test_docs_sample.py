"""docs/preview.md shows the preview of prod-aws at 100 columns: it must be what the preview
prints, line for line, but for the time the run took."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from preview.__main__ import main

PAGE = Path(__file__).resolve().parents[2] / "docs" / "preview.md"
TIMING = re.compile(r" in \d+\.\ds;")


def shown() -> list[str]:
    text = PAGE.read_text(encoding="utf-8")
    start = text.index("100-column terminal")
    block = text[text.index("```text\n", start) + len("```text\n"):]
    return block[: block.index("```\n")].splitlines()


def test_the_sample_output_is_what_the_preview_prints(capsys):
    # COLUMNS through a MonkeyPatch of its own: a test that takes `monkeypatch` evaluates the
    # program afresh (tests/conftest.py), and this one only sets the terminal's width.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COLUMNS", "100")
        _check_the_sample(capsys)


def _check_the_sample(capsys):
    assert main(["prod-aws"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert [TIMING.sub(" in _;", line) for line in shown()] == [TIMING.sub(" in _;", line) for line in printed]
