"""The preview's capacity and quota tables (preview/capacity.py): each pool's chain with its
provisioner and prices from the catalog, and the quota increases to request before `pulumi up`.
Figures are derived from the catalog (components/catalog/{aws,gcp,azure,quotas}.py)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from components import catalog
from components.catalog import quotas, spot
from components.config import load, raw_from_pulumi
from preview import capacity, engine
from preview.__main__ import main

BASE = {"cloud": "aws", "region": "us-east-1", "network": {"privateApi": True}}


def stack_config(name: str):
    values, _ = engine.read_stack_config(name)
    return load(raw_from_pulumi(values)[0])


def cfg_with(*pools, cloud="aws", region="us-east-1", **extra):
    raw = {**BASE, "cloud": cloud, "region": region, "gpuPools": list(pools), **extra}
    if cloud == "gcp":
        raw["gcp"] = {"project": "ml-platform-1"}
    return load(raw)


def test_prod_aws_shows_its_reserved_first_chain_with_catalog_prices():
    rows = capacity.capacity_rows(stack_config("prod-aws"))
    p5 = catalog.cloud("aws").instance_types["p5.48xlarge"].usd_per_hour
    g6 = catalog.cloud("aws").instance_types["g6.2xlarge"].usd_per_hour
    assert [(r.pool, r.provisioner, r.order, r.tier, r.usd_per_node_hour, r.billed) for r in rows] == [
        ("h100", "karpenter", 1, "reserved cr-00000000000000000", p5, capacity.BILLED["reserved"]),
        ("h100", "karpenter", 2, "on-demand", p5, capacity.BILLED["onDemand"]),
        ("l4infer", "cluster-autoscaler", 1, "on-demand", g6, capacity.BILLED["onDemand"]),
    ]


def test_spot_without_a_reading_is_a_ceiling_and_a_capacity_block_is_priced_at_purchase():
    assert spot.spot_price("aws", "g4dn.xlarge") is None  # the case this test is about
    cfg = cfg_with({"name": "h100", "instanceType": "p5.48xlarge", "capacity": [
        {"reserved": {"id": "cr-0123456789abcdef0", "capacityBlock": True}}, "onDemand"]},
        {"name": "t4", "instanceType": "g4dn.xlarge", "capacity": ["spot", "onDemand"]})
    rows = {(r.pool, r.order): r for r in capacity.capacity_rows(cfg)}
    assert rows[("h100", 1)].price_text() == "set at purchase" and rows[("h100", 1)].tier.endswith("(Capacity Block)")
    assert rows[("h100", 1)].billed == capacity.BILLED["capacityBlock"]
    od = catalog.cloud("aws").instance_types["g4dn.xlarge"].usd_per_hour
    assert rows[("t4", 1)].price_text() == f"<= ${od:,.2f}" and rows[("t4", 2)].price_text() == f"${od:,.2f}"
    assert (rows[("t4", 1)].ceiling, rows[("t4", 1)].estimate) == (True, False)


def test_a_spot_tier_with_a_catalog_reading_shows_it_and_on_demand_stays_on_demand():
    reading = spot.spot_price("aws", "g6.xlarge")
    assert reading is not None
    cfg = cfg_with({"name": "l4", "instanceType": "g6.xlarge", "capacity": ["spot", "onDemand"]})
    first, second = capacity.capacity_rows(cfg)
    assert (first.tier, first.usd_per_node_hour, first.ceiling, first.estimate) == ("spot", reading.high, False, True)
    assert first.price_text() == f"~${reading.high:,.2f}"
    assert first.to_json()["estimate"] is True and first.to_json()["usdPerNodeHour"] == reading.high
    od = catalog.cloud("aws").instance_types["g6.xlarge"].usd_per_hour
    assert (second.usd_per_node_hour, second.estimate, second.price_text()) == (od, False, f"${od:,.2f}")


def test_staging_gcp_spot_first_pool_keeps_the_ceiling_where_the_catalog_has_no_gcp_reading():
    cfg = stack_config("staging-gcp")
    pool = next(p for p in cfg.gpu_pools if p.capacity_chain()[0].kind == "spot")
    assert spot.spot_price("gcp", pool.instance_type) is None
    row = next(r for r in capacity.capacity_rows(cfg) if r.pool == pool.name and r.tier == "spot")
    od = catalog.cloud("gcp").instance_types[pool.instance_type].usd_per_hour
    assert row.price_text() == f"<= ${od:,.2f}" and not row.estimate


def test_every_spot_reading_is_a_catalog_type_in_the_price_region_below_on_demand_with_source_and_date():
    import datetime

    assert spot.SPOT_PRICES
    for (cloud, name), reading in spot.SPOT_PRICES.items():
        cat = catalog.cloud(cloud)
        od = cat.instance_types[name].usd_per_hour
        assert 0 < reading.low <= reading.high < od, name
        assert reading.region == cat.price_region, name
        assert reading.source and datetime.date.fromisoformat(reading.read), name
        assert reading.read in reading.basis and reading.source in reading.basis


def test_the_cost_prices_a_spot_first_pool_at_its_reading_and_a_later_spot_tier_on_demand():
    from preview import cost

    reading = spot.spot_price("aws", "g6.xlarge")
    od = catalog.cloud("aws").instance_types["g6.xlarge"].usd_per_hour
    cfg = cfg_with({"name": "first", "instanceType": "g6.xlarge", "maxNodes": 3, "capacity": ["spot", "onDemand"]},
                   {"name": "later", "instanceType": "g6.xlarge", "maxNodes": 3,
                    "capacity": [{"reserved": {"id": "cr-0123456789abcdef0"}}, "spot", "onDemand"]},
                   {"name": "flag", "instanceType": "g6.xlarge", "maxNodes": 3, "spot": True},
                   {"name": "plain", "instanceType": "g4dn.xlarge", "maxNodes": 3, "spot": True})
    costs = {c.name: c for c in cost.pool_costs(cfg)}
    assert (costs["first"].usd_per_hour_max, costs["first"].price_basis, costs["first"].price_date) == (
        round(reading.high * 3, 4), reading.basis, reading.read)
    assert costs["flag"].usd_per_hour_max == round(reading.high * 3, 4)  # spot: true is [spot]
    assert (costs["later"].usd_per_hour_max, costs["later"].price_basis) == (round(od * 3, 4), "on-demand")
    g4 = catalog.cloud("aws").instance_types["g4dn.xlarge"].usd_per_hour
    assert (costs["plain"].usd_per_hour_max, costs["plain"].price_basis) == (round(g4 * 3, 4), "spot, on-demand ceiling")


def test_compare_shows_the_spot_reading_in_the_capacity_chain():
    from preview import compare

    values, secrets = engine.read_stack_config("dev-aws")
    result = compare.evaluate_on("dev-aws", values, secrets, "aws", policies=False)
    reading = spot.spot_price("aws", "g6.xlarge")
    assert result.capacity["gpuPools[0]"] == f"cluster-autoscaler: spot ~${reading.high:,.2f}"


def test_prod_aws_needs_p_and_g_quota_increases_named_as_the_console_names_them():
    cfg = stack_config("prod-aws")
    types = catalog.cloud("aws").instance_types
    rows = {r.code: r for r in capacity.quota_rows(cfg)}
    h100, l4 = (next(p for p in cfg.gpu_pools if p.name == n) for n in ("h100", "l4infer"))
    # The reserved tier needs no quota; the on-demand tier after it needs the whole pool.
    assert rows["L-417A185B"].quota == "Running On-Demand P instances"
    assert rows["L-417A185B"].needed == h100.max_nodes * types["p5.48xlarge"].vcpus
    assert rows["L-DB2E81BA"].quota == "Running On-Demand G and VT instances"
    assert rows["L-DB2E81BA"].needed == l4.max_nodes * types["g6.2xlarge"].vcpus
    assert set(rows) == {"L-417A185B", "L-DB2E81BA"}
    assert all(r.region == "us-east-1" and r.unit == "vCPUs" and r.increase for r in rows.values())


def test_the_preview_says_which_increase_to_request(capsys):
    assert main(["prod-aws", "--quiet"]) == 0  # --quiet prints no tables
    assert main(["prod-aws"]) == 0
    out = capsys.readouterr().out
    needed = 4 * catalog.cloud("aws").instance_types["p5.48xlarge"].vcpus
    assert (f"request before `pulumi up`: Running On-Demand P instances (L-417A185B) in us-east-1 to at least {needed} vCPUs "
            "(a new account is assumed to have 0)") in " ".join(out.split())


def all_quotas() -> list:
    """Every quota row the catalog can hand the preview, on every cloud."""
    rows = [q for family in quotas.AWS_QUOTAS.values() for q in family.values()]
    rows += [q for family in quotas.GCP_QUOTAS.values() for q in family.values()] + [quotas.GCP_ALL_REGIONS, quotas.AZURE_SPOT]
    rows += [quotas.quota_for("azure", itype, "onDemand") for itype in catalog.cloud("azure").instance_types.values() if itype.gpu]
    return rows


OFFICIAL = {"aws": "https://docs.aws.amazon.com/", "gcp": "https://cloud.google.com/", "azure": "https://learn.microsoft.com/"}


def test_every_quota_names_an_official_page_and_its_default_is_sourced_or_plainly_unsourced():
    rows = all_quotas()
    assert {q.cloud for q in rows} == {"aws", "gcp", "azure"} and None not in rows
    for q in rows:
        assert q.source.startswith(OFFICIAL[q.cloud]) and "read 2026-" in q.source, q
        official_default = any(page in q.default_source for page in OFFICIAL.values())
        assert official_default or q.default_source.startswith("unsourced: "), q
        assert q.default_sourced is official_default, q


def test_an_assumed_default_says_so_in_the_json_and_the_request_line():
    cfg = cfg_with({"name": "l4", "instanceType": "g6.xlarge", "maxNodes": 3})
    (row,) = capacity.quota_rows(cfg)
    assert row.assumed and row.to_json()["newAccountDefaultSource"] == quotas.quota_for(
        "aws", catalog.cloud("aws").instance_types["g6.xlarge"], "onDemand").default_source
    # A default an official page states is printed as a fact.
    stated = dataclasses.replace(row, default_source="https://docs.aws.amazon.com/example")
    assert not stated.assumed


@pytest.mark.parametrize("default_offset, asks", [(0, False), (-1, True)])
def test_an_increase_is_asked_only_above_the_new_account_value(monkeypatch, default_offset, asks):
    cfg = cfg_with({"name": "l4", "instanceType": "g6.xlarge", "maxNodes": 3})
    needed = 3 * catalog.cloud("aws").instance_types["g6.xlarge"].vcpus
    family = dict(quotas.AWS_QUOTAS["g"])
    family["onDemand"] = dataclasses.replace(family["onDemand"], default=needed + default_offset)
    monkeypatch.setitem(quotas.AWS_QUOTAS, "g", family)
    (row,) = capacity.quota_rows(cfg)
    assert row.needed == needed and row.increase is asks


def test_a_reservation_only_pool_needs_no_quota_and_spot_its_spot_quota():
    reserved = cfg_with({"name": "h100", "instanceType": "p5.48xlarge", "capacity": [{"reserved": {"id": "cr-0123456789abcdef0"}}]})
    assert capacity.quota_rows(reserved) == []
    spot = cfg_with({"name": "h100", "instanceType": "p5.48xlarge", "maxNodes": 2, "capacity": ["spot", "onDemand"]})
    assert {r.code: r.needed for r in capacity.quota_rows(spot)} == {"L-7212CCBC": 2 * 192, "L-417A185B": 2 * 192}


def test_gcp_counts_gpus_per_model_and_across_regions():
    cfg = cfg_with({"name": "h100", "instanceType": "a3-highgpu-8g", "maxNodes": 2, "spot": True},
                   {"name": "l4", "instanceType": "g2-standard-8", "maxNodes": 3},
                   cloud="gcp", region="us-central1")
    rows = {r.code: r for r in capacity.quota_rows(cfg)}
    assert rows["PREEMPTIBLE_NVIDIA_H100_GPUS"].quota == "Preemptible NVIDIA H100 GPUs" and rows["PREEMPTIBLE_NVIDIA_H100_GPUS"].needed == 16
    assert rows["NVIDIA_L4_GPUS"].needed == 3 and rows["NVIDIA_L4_GPUS"].region == "us-central1"
    assert rows["GPUS_ALL_REGIONS"].needed == 19 and rows["GPUS_ALL_REGIONS"].region == ""


def test_azure_counts_family_vcpus_and_spot_against_low_priority():
    cfg = cfg_with({"name": "h100", "instanceType": "Standard_ND96isr_H100_v5", "maxNodes": 2, "diskGb": 512},
                   {"name": "t4", "instanceType": "Standard_NC4as_T4_v3", "maxNodes": 4, "spot": True, "diskGb": 128},
                   cloud="azure", region="eastus")
    rows = {r.quota: r.needed for r in capacity.quota_rows(cfg)}
    assert rows == {"Standard NDSH100v5 Family vCPUs": 2 * 96, "Total Regional Low-priority vCPUs": 4 * 4}


def test_every_catalog_gpu_type_draws_on_a_known_quota():
    for cloud, cat in catalog.CLOUDS.items():
        for itype in cat.instance_types.values():
            if itype.gpu:
                for tier in ("spot", "onDemand"):
                    assert quotas.quota_for(cloud, itype, tier) is not None, (cloud, itype.name, tier)


def test_json_carries_the_tiers_and_quotas():
    doc = capacity.capacity_json(stack_config("prod-aws"))
    assert [t["tier"] for t in doc["tiers"]] == ["reserved cr-00000000000000000", "on-demand", "on-demand"]
    assert {q["code"] for q in doc["quotas"] if q["requestIncrease"]} == {"L-417A185B", "L-DB2E81BA"}
    json.dumps(doc)  # plain JSON


def test_compare_shows_each_clouds_chain_and_quota_increases(capsys, tmp_path):
    assert main(["portable", "--compare", "--json", str(tmp_path / "c.json")]) == 0
    clouds = {c["cloud"]: c for c in json.loads((tmp_path / "c.json").read_text())["clouds"]}
    for cloud, result in clouds.items():
        if not result["available"]:
            continue
        assert set(result["capacity"]) == {"gpuPools[0]", "gpuPools[1]"}
        assert all(v.startswith("cluster-autoscaler: on-demand $") for v in result["capacity"].values())
        assert result["quotaIncreases"], cloud
    out = capsys.readouterr().out
    assert "capacity (USD/h per" in out and "quota increases before up" in out


def test_the_cost_names_a_reservation_billed_while_held_and_a_block_paid_up_front():
    from preview.report import stack_cost
    from tests.conftest import plan_for_stack

    cfg, plan = stack_config("prod-aws"), plan_for_stack("prod-aws")
    p5 = catalog.cloud("aws").instance_types["p5.48xlarge"].usd_per_hour
    held = [n for n in stack_cost(cfg, plan).not_priced if n.startswith("reservation ")]
    assert held == [f"reservation cr-00000000000000000 (GPU pool h100): billed while held, used or not, at ${p5:,.2f}/h per reserved p5.48xlarge"]
    h100 = cfg.gpu_pools[0]
    block = h100.model_copy(update={"capacity": [h100.capacity[0].model_copy(update={
        "reserved": h100.capacity[0].reserved.model_copy(update={"capacity_block": True})}), h100.capacity[1]]})
    notes = stack_cost(cfg.model_copy(update={"gpu_pools": [block, cfg.gpu_pools[1]]}), plan).not_priced
    assert "Capacity Block cr-00000000000000000 (GPU pool h100): paid up front at its purchase price" in notes
    assert not [n for n in notes if n.startswith("reservation ")]
    # A pool without a reserved tier adds no such line.
    plain = cfg.model_copy(update={"gpu_pools": [cfg.gpu_pools[1]]})
    assert not [n for n in stack_cost(plain, plan).not_priced if "reservation" in n or "Capacity Block" in n]
