"""gpuPools[].warmNodes (components/config/checks/warm.py): one line per bad value, both sides
of every bound, and how a DR standby treats it (components/dr.py). Config only: nothing here
evaluates a plan."""

from __future__ import annotations

import pytest

from components.config import ConfigError, load
from components.dr import effective_config, parity, plan_for

AWS = {"cloud": "aws", "region": "us-east-1", "network": {"privateApi": True}}
GCP_FLEX = {"cloud": "gcp", "region": "us-central1", "network": {"privateApi": True},
            "gcp": {"project": "ml-platform-1", "flexStartPools": ["batch"]},
            "platform": {"workloads": {"queueing": {"enabled": True}}},
            "namespaces": [{"name": "research", "team": "research", "group": "research@corp.io", "gpus": 2}]}
EXISTING = {"cloud": "existing", "existing": {"kubeconfig": "stacks/kubeconfigs/local-kind.yaml"}}


def aws(**pool) -> dict:
    return {**AWS, "gpuPools": [{"name": "l4", "instanceType": "g6.xlarge", "maxNodes": 3, **pool}]}


def problems(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load(raw)
    return err.value.problems


def test_default_is_no_warm_nodes():
    assert load(aws()).gpu_pools[0].warm_nodes == 0


@pytest.mark.parametrize("warm", [0, 1, 3])
def test_zero_up_to_max_nodes_is_accepted(warm):
    assert load(aws(warmNodes=warm)).gpu_pools[0].warm_nodes == warm


def test_more_than_max_nodes_is_one_line():
    assert problems(aws(warmNodes=4)) == [
        "gpuPools[0].warmNodes: 4 is more than maxNodes 3 (warm nodes are among the pool's nodes); allowed: 0 to 3"]


@pytest.mark.parametrize("value, line", [
    (-1, "gpuPools[0].warmNodes: -1 is less than the allowed minimum 0"),
    ("two", "gpuPools[0].warmNodes: 'two' is not valid; input should be a valid integer, unable to parse string as an integer"),
    (1.5, "gpuPools[0].warmNodes: 1.5 is not valid; input should be a valid integer, got a number with a fractional part"),
])
def test_not_a_whole_number_from_zero_is_one_line(value, line):
    assert problems(aws(warmNodes=value)) == [line]


def test_a_karpenter_pool_keeps_warm_nodes_where_it_refuses_min_nodes():
    """Karpenter keeps no minimum (checks/capacity.py refuses minNodes > 0 there); warm nodes
    are pods it provisions for, within the NodePool's limits (maxNodes)."""
    chain = [{"reserved": {"id": "cr-0123456789abcdef0"}}, "onDemand"]
    cfg = load(aws(instanceType="p5.48xlarge", capacity=chain, warmNodes=2))
    assert cfg.gpu_pools[0].warm_nodes == 2
    assert any("minNodes: 1 with provisioner karpenter" in p for p in problems(aws(instanceType="p5.48xlarge", capacity=chain, minNodes=1)))
    assert problems(aws(instanceType="p5.48xlarge", capacity=chain, warmNodes=4)) == [
        "gpuPools[0].warmNodes: 4 is more than maxNodes 3 (warm nodes are among the pool's nodes); allowed: 0 to 3"]


@pytest.mark.parametrize("pool", [
    {"sharing": {"timeSlicing": {"replicas": 4}}},
    {"spot": True},
])
def test_sharing_and_spot_pools_take_warm_nodes(pool):
    assert load(aws(warmNodes=1, **pool)).gpu_pools[0].warm_nodes == 1


def test_a_flex_start_pool_refuses_warm_nodes_and_another_gke_pool_takes_them():
    raw = {**GCP_FLEX, "gpuPools": [{"name": "batch", "instanceType": "a2-highgpu-1g", "maxNodes": 2, "warmNodes": 1},
                                    {"name": "l4", "instanceType": "g2-standard-8", "maxNodes": 2, "warmNodes": 1}]}
    assert problems(raw) == [
        "gpuPools[0].warmNodes: 1 on flex-start pool 'batch': its nodes come only for a queued job's request and run "
        "at most 7 days, so none can be kept warm; allowed: 0"]
    raw["gpuPools"][0]["warmNodes"] = 0
    assert [p.warm_nodes for p in load(raw).gpu_pools] == [0, 1]


def test_cloud_existing_refuses_warm_nodes():
    raw = {**EXISTING, "gpuPools": [{"name": "l4", "instanceType": "g6.xlarge", "warmNodes": 1}]}
    assert problems(raw) == [
        "gpuPools[0].warmNodes: 1 on cloud existing, whose nodes and autoscaler are the cluster's own, so nothing "
        "brings a fresh node when a pod takes a warm one; allowed: 0"]
    assert load({**EXISTING, "gpuPools": [{"name": "l4", "instanceType": "g6.xlarge", "warmNodes": 0}]}).gpu_pools[0].warm_nodes == 0


def test_an_idle_standby_keeps_no_warm_nodes_and_parity_ignores_them():
    """A standby states its own warm nodes (a region's cost choice, like its capacity chain), and
    keeps none while idle; failover builds what its file says."""
    dr = {"environment": "prod", "dr": {"role": "standby", "primaryStack": "prod-aws", "primaryRegion": "us-east-1", "rpoMinutes": 60},
          "veleroRepositoryPassword": "test-repository-password"}
    standby = load({**aws(warmNodes=1), **dr, "region": "us-west-2"})
    plan = plan_for(standby, "prod-aws-dr")
    assert plan.standby_idle
    assert [p.warm_nodes for p in effective_config(standby, plan).gpu_pools] == [0]
    assert parity(load(aws(warmNodes=1))) == parity(load(aws()))
    assert parity(load(aws(warmNodes=1))) != parity(load(aws(maxNodes=2)))  # other pool keys still count
