"""The preview fits its tables to the terminal (COLUMNS, else 120 columns when not a
terminal); these tests read what a wide terminal shows, so no cell wraps mid-phrase."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")
