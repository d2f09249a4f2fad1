"""What warm GPU nodes cost in the preview (preview/warm.py, preview/cost.py) and in `--compare`:
at the pool's first capacity tier from the catalog, nothing added when that tier is a
reservation (billed whether its nodes run or not). Figures derived from the catalog here."""

from __future__ import annotations

import pytest

from components import catalog
from components.catalog import prices, spot
from components.catalog.prices import HOURS_PER_MONTH
from components.config import load
from components.config.read import raw_from_pulumi
from preview import compare, cost, engine
from preview.warm import warm_costs
from tests.conftest import plan_for_stack

SPOT = {"cloud": "aws", "region": "us-east-1", "network": {"privateApi": True},
        "gpuPools": [{"name": "l4", "instanceType": "g6.xlarge", "maxNodes": 3, "warmNodes": 2, "spot": True},
                     {"name": "cold", "instanceType": "g6.xlarge", "maxNodes": 3}]}


def config(stack: str):
    return load(raw_from_pulumi(engine.read_stack_config(stack)[0])[0])


@pytest.mark.parametrize("stack", ["prod-aws", "prod-gcp", "prod-azure"])
def test_reserved_first_pools_add_nothing_and_the_others_their_first_tiers_price(stack):
    cfg = config(stack)
    full = cost.stack_cost(cfg, plan_for_stack(stack))
    lines = {line.item: line for line in full.lines}
    cat = catalog.cloud(cfg.cloud)
    warm = [p for p in cfg.gpu_pools if p.warm_nodes]
    assert warm and [w.pool for w in full.warm] == [p.name for p in warm]
    for pool, w in zip(warm, full.warm, strict=True):
        line = lines[w.item()]
        first = pool.capacity_chain()[0]
        if first.reserved is not None:
            # Reserved first: billed whether used or not, so no added cost; its size is not known.
            assert (line.usd_per_hour_min, line.usd_per_hour_max, w.usd_per_month) == (0.0, 0.0, 0.0)
            assert "no added cost within it (size not in the stack)" in w.item() and w.reservation
        else:
            price = cat.instance_types[pool.instance_type].usd_per_hour
            assert line.usd_per_hour_min == round(price * pool.warm_nodes, 4)
            # At the pool's maximum the warm nodes are among maxNodes: nothing on top.
            assert line.usd_per_hour_max == 0.0
            assert w.usd_per_month == round(round(price * pool.warm_nodes, 4) * HOURS_PER_MONTH, 2)
            assert f"{pool.warm_nodes} warm node" in w.item() and pool.instance_type in w.item()
        # The node's disk is billed beside it, inside a reservation too (it reserves instances,
        # not volumes); AKS nodes here boot from ephemeral OS disks, which have no line.
        disks = lines.get(f"GPU pool {pool.name}: warm node disks {pool.disk_gb} GB each")
        if cfg.cloud == "azure":
            assert disks is None
        else:
            per_gb = prices.SERVICE_PRICES[cfg.cloud]["block-storage"].usd
            assert (disks.usd_per_hour_min, disks.usd_per_hour_max) == (round(per_gb * pool.disk_gb / HOURS_PER_MONTH * pool.warm_nodes, 4), 0.0)
    doc = full.to_json()
    assert [d["pool"] for d in doc["warmNodes"]] == [p.name for p in warm]
    assert any(line["item"] == full.warm[0].item() for line in doc["lines"])


@pytest.mark.parametrize("instance_type", ["g6.xlarge", "g5.xlarge"])
def test_a_spot_first_pool_is_priced_at_its_reading_or_ceiling_and_a_pool_without_warm_nodes_not_at_all(instance_type):
    """A spot reading in the catalog prices the warm nodes at it (the dearest zone); without
    one, spot is priced at its ceiling, the on-demand price."""
    cfg = load({**SPOT, "gpuPools": [{**pool, "instanceType": instance_type} for pool in SPOT["gpuPools"]]})
    (w,) = warm_costs(cfg)
    reading = spot.spot_price("aws", instance_type)
    price = reading.high if reading else catalog.cloud("aws").instance_types[instance_type].usd_per_hour
    assert (w.pool, w.nodes, w.ceiling, w.estimate, w.reservation) == ("l4", 2, reading is None, reading is not None, "")
    assert w.usd_per_hour == round(price * 2, 4)
    assert w.item() == f"GPU pool l4: 2 warm nodes x {instance_type}, spot {'reading' if reading else 'ceiling'}"


def test_compare_shows_each_clouds_warm_cost_and_drops_the_reservation_elsewhere():
    """On its own cloud prod-aws's h100 warm node is inside the ODCR; compared on gcp the
    reservation is dropped (a reservation is one cloud's), so it is priced on-demand there."""
    values, secret_keys = engine.read_stack_config("prod-aws")
    on_aws = compare.evaluate_on("prod-aws", values, secret_keys, "aws", policies=False)
    on_gcp = compare.evaluate_on("prod-aws", values, secret_keys, "gcp", policies=False)
    assert on_aws.warm_nodes["gpuPools[0]"] == "1 in reservation cr-00000000000000000: no added cost"
    gcp_cfg = load(raw_from_pulumi(compare.values_for(values, "gcp")[0])[0])
    h100 = gcp_cfg.gpu_pools[0]
    price = catalog.cloud("gcp").instance_types[h100.instance_type].usd_per_hour
    assert on_gcp.warm_nodes["gpuPools[0]"].startswith(f"1 x ${price:,.2f}/h = ")
    assert set(on_aws.warm_nodes) == set(on_gcp.warm_nodes) == {"gpuPools[0]", "gpuPools[1]"}
    assert on_aws.to_json()["warmNodes"] == on_aws.warm_nodes
