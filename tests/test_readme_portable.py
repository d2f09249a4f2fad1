"""docs/portable.md, the portable stacks page, says what the code does."""

from __future__ import annotations

from pathlib import Path

import yaml

from components.config import ConfigError, load, raw_from_pulumi
from preview import compare, engine, ready

PAGE = Path(__file__).resolve().parents[1] / "docs" / "portable.md"


def section() -> str:
    text = PAGE.read_text(encoding="utf-8")
    return text[text.index("<!-- section:portable -->"):text.index("<!-- /section:portable -->")]


def blocks(lang: str = "") -> list[str]:
    """Fenced blocks of the section whose fence names `lang` (`""`: a bare fence)."""
    found, current, kind = [], None, None
    for line in section().splitlines():
        if line.startswith("```") and current is None:
            current, kind = [], line[3:].strip()
        elif line.startswith("```"):
            if kind == lang:
                found.append("\n".join(current) + "\n")
            current = None
        elif current is not None:
            current.append(line)
    return found


def test_the_example_loads_on_every_cloud_by_changing_cloud_alone():
    example = yaml.safe_load(blocks("yaml")[0])["config"]
    for cloud in ("aws", "gcp", "azure"):
        values = {**engine.project_defaults(), **{k: engine.config_string(v) for k, v in example.items()}, "ml-clusters:cloud": cloud}
        cfg = load(raw_from_pulumi(values)[0])
        assert cfg.cloud == cloud and all(p.instance_type for p in cfg.gpu_pools + cfg.cpu_pools)


def _problem(raw: dict) -> list[str]:
    try:
        load(raw)
    except ConfigError as err:
        return err.problems
    raise AssertionError(f"{raw} loaded")


def test_the_error_lines_shown_are_the_ones_users_get():
    shown = [line for line in blocks()[1].splitlines() if line]
    got = [
        *_problem({"network": {"privateApi": True}, "cloud": "aws", "region": "us-east-1", "gpuPools": [{"name": "a", "gpu": "l4", "gpusPerNode": 2}]}),
        *_problem({"network": {"privateApi": True}, "cloud": "aws", "region": "eu-west-1", "gpuPools": [{"name": "a", "gpu": "b200", "gpusPerNode": 8}]}),
        *_problem({"network": {"privateApi": True}, "cloud": "azure", "region": "eastus", "gpuPools": [{"name": "a", "gpu": "l4"}]}),
        *_problem({"network": {"privateApi": True}, "cloud": "azure", "region": "asia-southeast"}),
    ]
    assert shown == got


def test_the_compare_table_shown_matches_the_portable_stack():
    values, secrets = engine.read_stack_config("portable")
    results = compare.compare("portable", values, secrets)
    table = blocks()[2]
    for r in results:
        assert f"${r.usd_per_hour_max:,.2f}" in table and f"${r.usd_per_month_max:,.2f}" in table
        assert ready.minutes(r.time_to_ready_seconds) in table
        for pool in r.pools:
            assert pool.instance_type in table
