"""Node auto-repair and image streaming on GKE, on prod-gcp's cached plan.

Upstream facts: pulumi-gcp 10.2.0 container.NodePool `management.auto_repair` and
`node_config.gcfs_config.enabled`; the Terraform provider it bridges (v7) declares gcfs_config
without ForceNew (GoogleCloudPlatform/terraform-google-conversion v7
pkg/services/container/node_config.go schemaGcfsConfig), so turning streaming on updates a pool.
"""

from __future__ import annotations

import copy
import json

from components.clouds.gcp import coldstart
from preview import engine
from tests.conftest import inputs, plan_for_stack
from tests.workflows.day2 import classify
from tests.workflows.test_day2_gcp import FACTS

POOL = "gcp:container/nodePool:NodePool"


def pools():
    plan = plan_for_stack("prod-gcp")
    return plan, plan.by_type(POOL)


def is_gpu(pool) -> bool:
    return bool(inputs(pool)["nodeConfig"].get("guestAccelerators"))


def test_every_node_pool_auto_repairs():
    _, found = pools()
    config, _ = engine.read_stack_config("prod-gcp")
    stack_pools = {p["name"] for key in ("ml-clusters:gpuPools", "ml-clusters:cpuPools") for p in json.loads(config.get(key, "[]"))}
    # Every pool of the stack file, and the system pool.
    assert {p.name.rsplit("-", 1)[-1] for p in found} == stack_pools | {"system"}
    for pool in found:
        assert inputs(pool)["management"]["autoRepair"] is True, pool.name


def test_gpu_pools_stream_images_and_cpu_pools_do_not():
    _, found = pools()
    for pool in found:
        config = inputs(pool)["nodeConfig"]
        if is_gpu(pool):
            assert config["gcfsConfig"] == coldstart.IMAGE_STREAMING == {"enabled": True}, pool.name
            assert config["imageType"] == "COS_CONTAINERD"  # image streaming needs COS with containerd
        else:
            assert "gcfsConfig" not in config, pool.name


def test_turning_streaming_on_updates_gpu_pools_in_place():
    after, found = pools()
    before = copy.deepcopy(after)
    for r in before.resources:
        if r.type == POOL:
            r.inputs["nodeConfig"].pop("gcfsConfig", None)
    outcomes = classify(before, after, FACTS)
    changed = {o.name: o for o in outcomes.values() if o.type == POOL}
    assert set(changed) == {p.name for p in found if is_gpu(p)}
    assert all(o.action == "update" and o.paths == ("nodeConfig.gcfsConfig.enabled",) for o in changed.values())
    assert not [o for o in outcomes.values() if o.action in ("replace", "delete", "create")]
