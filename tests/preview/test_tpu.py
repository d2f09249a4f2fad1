"""TPU pools in the preview: the pool table (through fold.print_table), the cost lines priced
per chip-hour from the catalog, the JSON plan, and `--compare` (no TPU off GKE)."""

from __future__ import annotations

import json

from rich.console import Console

from components.catalog import prices, tpus
from components.catalog.prices import HOURS_PER_MONTH
from components.config import load, raw_from_pulumi
from preview import compare, engine
from preview import tpu as preview_tpu
from preview.__main__ import main
from tests.conftest import flat_config, plan_for_stack

V5E = {"name": "v5e", "generation": "v5e", "topology": "4x4", "spot": True}
SINGLE = {"name": "v6e", "generation": "v6e", "topology": "2x4", "minSlices": 1, "maxSlices": 3, "diskGb": 150}
RAW = {"cloud": "gcp", "region": "us-central1", "gcp": {"project": "ml-platform-dev"}, "network": {"privateApi": True},
       "tpuPools": [V5E, SINGLE]}


def staging_cfg():
    values, _ = engine.read_stack_config("staging-gcp")
    return load(raw_from_pulumi(values)[0])


def test_tpu_pools_are_priced_per_chip_hour_with_their_host_at_min_and_max():
    cfg = load(RAW)
    costs = {c.name: c for c in preview_tpu.tpu_pool_costs(cfg)}
    v5e, v6e = tpus.TPU_GENERATIONS["v5e"], tpus.TPU_GENERATIONS["v6e"]
    # Multi-host 4x4: 0 or 4 VMs of 4 chips.
    multi = costs["v5e"]
    assert (multi.min_nodes, multi.max_nodes, multi.chips_per_node, multi.chips_max) == (0, 4, 4, 16)
    assert (multi.usd_per_hour_min, multi.usd_per_hour_max) == (0.0, round(v5e.usd_per_chip_hour * 16, 4))
    assert multi.price_basis == tpus.SPOT_PRICE_BASIS and multi.spot
    # Single-host 2x4 on one 8-chip VM, 1..3 slices.
    single = costs["v6e"]
    assert (single.min_nodes, single.max_nodes, single.chips_per_node) == (1, 3, 8)
    assert (single.usd_per_hour_min, single.usd_per_hour_max) == (round(v6e.usd_per_chip_hour * 8, 4), round(v6e.usd_per_chip_hour * 24, 4))
    assert single.price_basis == "on-demand" and (single.price_region, single.price_date) == (tpus.PRICE_REGION, tpus.PRICE_DATE)
    lines = {line.item: line for line in preview_tpu.tpu_cost_lines(cfg, list(costs.values()))}
    pool_line = lines["TPU pool v6e: 1-3 x ct6e-standard-8t (8 v6e chips each)"]
    assert (pool_line.usd_per_hour_min, pool_line.usd_per_hour_max) == (single.usd_per_hour_min, single.usd_per_hour_max)
    assert pool_line.source.startswith(tpus.PRICE_SOURCE)
    disk = lines["TPU pool v6e: node disks 150 GB each"]
    per_node = prices.SERVICE_PRICES["gcp"]["block-storage"].usd * 150 / HOURS_PER_MONTH
    assert (disk.usd_per_hour_min, disk.usd_per_hour_max) == (round(per_node, 4), round(per_node * 3, 4))
    assert "TPU pool v5e: 0-4 x ct5lp-hightpu-4t (4 v5e chips each) (spot: on-demand ceiling)" in lines


def test_the_preview_prints_the_tpu_table_and_costs_them_and_writes_them_to_json(capsys, tmp_path):
    assert main(["staging-gcp", "--json", str(tmp_path / "p.json")]) == 0
    out = capsys.readouterr().out
    doc = json.loads((tmp_path / "p.json").read_text())
    expected = [c.to_json() for c in preview_tpu.tpu_pool_costs(staging_cfg())]
    assert doc["tpu_pools"] == expected and [p["name"] for p in expected] == ["v5e"]
    (pool,) = expected
    assert "TPU pools" in out and "4x4 (multi-host)" in out and pool["machineType"] in out
    assert f"${pool['usdPerHourMax']:,.2f}" in out
    # The stack's total carries the TPU line.
    items = {line["item"] for line in doc["cost"]["lines"]}
    assert any(item.startswith("TPU pool v5e: 0-4 x ct5lp-hightpu-4t") for item in items)
    # A stack without TPU pools prints no TPU table and writes an empty list.
    assert main(["prod-aws", "--quiet", "--json", str(tmp_path / "a.json")]) == 0
    assert json.loads((tmp_path / "a.json").read_text())["tpu_pools"] == []
    assert "TPU pools" not in capsys.readouterr().out


def test_the_tpu_table_folds_to_the_terminal_width():
    costs = preview_tpu.tpu_pool_costs(load(RAW))
    for width in (160, 60):
        con = Console(width=width, record=True, color_system=None)
        preview_tpu.print_tpu_pools(con, costs)
        text = con.export_text()
        assert all(len(line) <= width for line in text.splitlines())
        assert "ct6e-standard-8t" in text and "2x4 (single-host)" in text


def test_compare_shows_the_tpu_pool_on_gcp_and_no_tpu_elsewhere():
    values = flat_config({**RAW, "tpuPools": [V5E]})
    changed, notes = compare.values_for(values, "aws")
    assert "ml-clusters:tpuPools" not in changed
    assert "tpuPools: no TPU on aws; compared without its 1 TPU pool(s)" in notes
    results = {cloud: compare.evaluate_on("tpu", values, [], cloud, policies=False) for cloud in ("aws", "gcp")}
    assert results["aws"].available and results["gcp"].available
    (row,) = [p for p in results["gcp"].pools if p.key == "tpuPools[0]"]
    assert (row.instance_type, row.tpu, row.min_nodes, row.max_nodes) == ("ct5lp-hightpu-4t", "4x4 v5e, 16 chips", 0, 4)
    assert not [p for p in results["aws"].pools if p.key.startswith("tpuPools")]
    con = Console(width=200, record=True, color_system=None)
    compare.print_table(con, "tpu", list(results.values()))
    (line,) = [ln for ln in con.export_text().splitlines() if "tpuPools[0] v5e" in ln]
    assert "no TPU" in line and "ct5lp-hightpu-4t (4x4 v5e, 16 chips) 0-4" in line


def test_the_staging_plan_has_one_tpu_node_pool_per_tpu_pool():
    cfg = staging_cfg()
    names = {r.name for r in plan_for_stack("staging-gcp").by_type("gcp:container/nodePool:NodePool")}
    assert {f"ml-staging-gcp-{p.name}" for p in cfg.tpu_pools} <= names
