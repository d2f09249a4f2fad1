"""Shared test helpers: run the real program under the preview's mock engine, each stack's
program evaluated once per test run (tests/plan_cache.py)."""

from __future__ import annotations

import functools
import gc
import inspect
import os
import shutil
import tempfile
from typing import Any

import pytest
from kubernetes_validate import utils as kubernetes_validate_utils

from components import config as config_module
from preview import engine
from tests import plan_cache
from tests.plan_cache import fresh_plans

plan_cache.install()
# kubernetes-validate 1.37 (utils.validate) reads and parses a 1.5 MB _definitions.json on every
# call; the schema files it ships never change, so parse each one once per process.
kubernetes_validate_utils.schema_contents = functools.lru_cache(maxsize=None)(kubernetes_validate_utils.schema_contents)
__all__ = ["fresh_plans"]


def pytest_collection_finish(session):
    # Everything imported and collected by now lives for the whole run: move it out of the
    # collector's generations (gc.freeze), so each full collection traverses only what the
    # tests make. A plan evaluation disables the collector and re-enables it afterwards
    # (preview/engine.py _sdk_shortcuts); garbage is still collected as before.
    gc.collect()
    gc.freeze()
    # Fewer young collections: the tests allocate plans of thousands of objects at a time.
    gc.set_threshold(20_000, 20, 20)


def pytest_configure(config):
    # The controller (or a run without xdist) names one directory for every worker's plans;
    # workers inherit the environment, so they find it.
    if not hasattr(config, "workerinput") and plan_cache.ENV not in os.environ:
        os.environ[plan_cache.ENV] = tempfile.mkdtemp(prefix="ml-clusters-plans-")
        config.add_cleanup(lambda: shutil.rmtree(os.environ.pop(plan_cache.ENV), ignore_errors=True))


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


def plan_for(raw: dict[str, Any], stack: str = "test", secrets: tuple[str, ...] = ("veleroRepositoryPassword",)) -> engine.Plan:
    """Evaluate __main__.py for a config given as a dict (keys without the project prefix);
    `secrets`: the keys Pulumi holds as secrets (by default the repository password, as
    `pulumi config set --secret` leaves it; the alert receivers' refusals test plain text)."""
    return engine.run_program(stack, flat_config(raw), [f"{engine.PROJECT}:{key}" for key in secrets])


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
