"""Day-2 facts checked over every stack file in stacks/."""

from __future__ import annotations

import pytest

from preview import engine
from tests.conftest import inputs, plan_for_stack

STACKS = engine.available_stacks()


@pytest.fixture(scope="module")
def plans():
    return {stack: plan_for_stack(stack) for stack in STACKS}


def untainted_pools(plan) -> list[str]:
    """Node pools where a pod with no toleration can run."""
    out = [r.name for r in plan.by_type("aws:eks/nodeGroup:NodeGroup") if not inputs(r).get("taints")]
    out += [r.name for r in plan.by_type("azure-native:containerservice:AgentPool") if not inputs(r).get("nodeTaints")]
    out += [r.name for r in plan.by_type("gcp:container/nodePool:NodePool") if not (inputs(r).get("nodeConfig") or {}).get("taints")]
    return out


def pools(plan) -> int:
    return sum(len(plan.by_type(t)) for t in (
        "aws:eks/nodeGroup:NodeGroup", "azure-native:containerservice:AgentPool", "gcp:container/nodePool:NodePool"))


@pytest.mark.parametrize("stack", STACKS)
def test_every_cloud_stack_has_a_pool_for_pods_without_tolerations(plans, stack):
    """D7: EKS and AKS taint the system pool (CriticalAddonsOnly) and every GPU pool; a CPU-only
    team pod (or one Velero restores at failover) needs an untainted pool to schedule on, and
    Cluster Autoscaler adds nodes only to a pool the pod fits."""
    plan = plans[stack]
    if pools(plan) == 0:
        pytest.skip("cloud existing: the program creates no pools")
    assert untainted_pools(plan), f"{stack}: every pool is tainted"


def shared_class(plan):
    found = [inputs(r) for r in plan.by_type("kubernetes:storage.k8s.io/v1:StorageClass") if inputs(r)["metadata"]["name"] == "ml-shared"]
    return found[0] if found else None


@pytest.mark.parametrize("stack", STACKS)
def test_shared_volumes_are_deleted_with_their_claims_outside_prod(plans, stack):
    """D9: with Retain, deleting a PVC leaves the PV and its Filestore instance (>= 1 TiB each on
    GKE), EFS access point or Azure share billing after `pulumi destroy`. Prod keeps them
    (prod also protects its stateful resources); every other environment deletes them."""
    plan = plans[stack]
    shared = shared_class(plan)
    if shared is None:
        pytest.skip("no shared file system on this stack")
    values, _ = engine.read_stack_config(stack)
    prod = values.get("ml-clusters:environment") == "prod"
    assert shared["reclaimPolicy"] == ("Retain" if prod else "Delete")


def test_both_sides_of_the_reclaim_boundary_are_in_stacks(plans):
    policies = {shared_class(p)["reclaimPolicy"] for p in plans.values() if shared_class(p)}
    assert policies == {"Retain", "Delete"}
