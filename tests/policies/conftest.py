"""Fixtures for the policy pack's tests (helpers live in tests/policies/helpers.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest


@pytest.fixture
def write_config(tmp_path):
    """Write a policy config dict to a file and return its path as a string."""
    def write(data: dict[str, Any], name: str = "policy.json") -> str:
        path = tmp_path / name
        path.write_text(json.dumps(data), encoding="utf-8")
        return str(path)

    return write
