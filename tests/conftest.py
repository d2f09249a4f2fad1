"""Shared test helpers: run the real program under the preview's mock engine.

Most of the suite's time was the same stacks evaluated again and again (prod-aws 33 times in
one run). So within a test process, `engine.run_program` keeps each plan it made for a given
stack, config and program, and hands every caller its own deep copy: a test that edits a plan
cannot change what the next one reads. Calls that pass `plan=` (to see what was registered
before an error), `shortcuts=False` (the SDK's own path), and raised config errors are never
kept. Tests about determinism evaluate afresh under `fresh_plans()`, and so does every test
that uses `monkeypatch`: it may be spying on, or changing, what the program does."""

from __future__ import annotations

import contextlib
import copy
import inspect
from typing import Any, Iterator

import pytest

from components import config as config_module
from preview import engine

_evaluate_program = getattr(engine.run_program, "evaluates", engine.run_program)
_plans: dict[tuple[Any, ...], engine.Plan] = {}
_keep_plans = [True]


def _run_program_once(stack, config, secret_keys=None, program=engine.ROOT_DIR / "__main__.py", plan=None, shortcuts=True):
    if plan is not None or not shortcuts or not _keep_plans[0]:
        return _evaluate_program(stack, config, secret_keys, program, plan, shortcuts)
    key = (stack, tuple(sorted(config.items())), tuple(secret_keys or ()), str(program))
    if key not in _plans:
        _plans[key] = _evaluate_program(stack, config, secret_keys, program)
    return copy.deepcopy(_plans[key])


_run_program_once.evaluates = _evaluate_program  # type: ignore[attr-defined]
engine.run_program = _run_program_once


@contextlib.contextmanager
def fresh_plans() -> Iterator[None]:
    """Evaluate the program anew on every call inside the block (for determinism tests)."""
    _keep_plans[0] = False
    try:
        yield
    finally:
        _keep_plans[0] = True


@pytest.fixture(autouse=True)
def _patched_code_evaluates_afresh(request):
    # Only a test that asks for monkeypatch itself: the preview tests' autouse COLUMNS
    # fixture changes the terminal width, not the program.
    if "monkeypatch" in inspect.signature(request.function).parameters:
        with fresh_plans():
            yield
    else:
        yield


def flat_config(raw: dict[str, Any]) -> dict[str, str]:
    """A stack's keys (no prefix) -> the flat string map Pulumi hands the program."""
    out = engine.project_defaults()
    for key, value in raw.items():
        out[f"{engine.PROJECT}:{key}"] = engine.config_string(value)
    return out


def plan_for(raw: dict[str, Any], stack: str = "test") -> engine.Plan:
    """Evaluate __main__.py for a config given as a dict (keys without the project prefix)."""
    return engine.run_program(stack, flat_config(raw))


def plan_for_stack(stack: str) -> engine.Plan:
    values, secret_keys = engine.read_stack_config(stack)
    return engine.run_program(stack, values, secret_keys)


def config_errors(raw: dict[str, Any]) -> list[str]:
    """The problems the program reports for `raw`; fails the test if it reports none."""
    with pytest.raises(config_module.ConfigError) as err:
        plan_for(raw)
    return err.value.problems


def inputs(resource: engine.PlannedResource) -> dict[str, Any]:
    """A resource's inputs with secrets unwrapped and whole floats as ints."""
    return engine.redact(engine.unwrap_secrets(resource.inputs))
