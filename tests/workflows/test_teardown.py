"""Teardown order, on the plan: `pulumi destroy` deletes a resource only after everything that
depends on it (its dependents, its children, the resources its provider serves) is gone. Pulumi
docs, "Resource option: dependsOn": the recorded dependencies order creation, update AND
deletion; "pulumi state delete": a resource others depend on or are parented to cannot go first.

So the order a destroy takes is the reverse of the plan's dependency graph, and these tests
walk that graph for every cloud stack in stacks/:
- every Kubernetes object (Helm releases included) goes before the system pool and the cluster,
  while the controllers that clean up after it (CSI drivers deleting volumes, the cloud
  controller deleting load balancers) still run;
- every node pool goes before its cluster, and the cluster before its network;
- outside prod nothing is protected, so a destroy is not stopped half way; in prod the
  cluster is protected, so a destroy stops before it (docs/day2.md, "Tearing down").
"""

from __future__ import annotations

import pytest

from preview import engine
from tests.conftest import plan_for_stack

CLUSTERS = {"aws:eks/cluster:Cluster", "gcp:container/cluster:Cluster", "azure-native:containerservice:ManagedCluster"}
POOLS = {"aws:eks/nodeGroup:NodeGroup", "gcp:container/nodePool:NodePool", "azure-native:containerservice:AgentPool"}
NETWORK = {"aws:ec2/subnet:Subnet", "gcp:compute/subnetwork:Subnetwork", "azure-native:network:VirtualNetwork", "azure-native:network:Subnet"}
CLOUD_STACKS = [s for s in engine.available_stacks() if engine.read_stack_config(s)[0].get("ml-clusters:cloud") in ("aws", "gcp", "azure")]


def needs(plan: engine.Plan) -> dict[str, set[str]]:
    """URN -> every URN it depends on, directly or not: recorded dependencies, its parent
    and its provider (a provider reference is `<urn>::<id>`)."""
    direct = {
        r.urn: set(r.dependencies) | ({r.parent} if r.parent else set()) | ({r.provider.rsplit("::", 1)[0]} if r.provider else set())
        for r in plan.resources
    }
    closed: dict[str, set[str]] = {}

    def walk(urn: str) -> set[str]:
        if urn not in closed:
            closed[urn] = set()
            for dep in direct.get(urn, ()):
                closed[urn] |= {dep} | walk(dep)
        return closed[urn]

    for urn in direct:
        walk(urn)
    return closed


def deleted_before(needs_of: dict[str, set[str]], first: engine.PlannedResource, then: engine.PlannedResource) -> bool:
    return then.urn in needs_of[first.urn]


@pytest.fixture(scope="module", params=CLOUD_STACKS)
def stack(request):
    return request.param, plan_for_stack(request.param)


def test_kubernetes_objects_go_before_the_system_pool_and_the_cluster(stack):
    name, plan = stack
    needs_of = needs(plan)
    cluster = [r for r in plan.resources if r.type in CLUSTERS]
    system = [r for r in plan.resources if r.type in POOLS and r.name.endswith("-system")]
    objects = [r for r in plan.resources if r.type.startswith("kubernetes:")]
    assert len(cluster) == 1 and objects, name
    late = [o.name for o in objects if not deleted_before(needs_of, o, cluster[0]) or not all(deleted_before(needs_of, o, s) for s in system)]
    assert not late, f"{name}: deleted without waiting for the cluster or system pool: {late}"


def test_pools_go_before_their_cluster_and_the_cluster_before_its_network(stack):
    name, plan = stack
    needs_of = needs(plan)
    cluster = next(r for r in plan.resources if r.type in CLUSTERS)
    pools = [r for r in plan.resources if r.type in POOLS]
    network = [r for r in plan.resources if r.type in NETWORK]
    assert pools and network, name
    assert all(deleted_before(needs_of, p, cluster) for p in pools), name
    assert any(deleted_before(needs_of, cluster, n) for n in network), f"{name}: the cluster does not wait for its network"


def test_only_prod_protects_what_a_destroy_must_not_take(stack):
    name, plan = stack
    environment = plan.outputs["environment"]
    protected = [r.name for r in plan.resources if r.protect]
    if environment == "prod":
        assert any(r.protect for r in plan.resources if r.type in CLUSTERS), name
    else:
        assert protected == [], f"{name} ({environment}): a destroy would stop at {protected}"


def test_the_walk_sees_an_order_the_plan_does_not_give():
    # The other side: a Kubernetes object with no path to the cluster is reported.
    plan = engine.Plan(stack="t", project="p", resources=[
        engine.PlannedResource(urn="c", type="aws:eks/cluster:Cluster", name="c", parent=None, custom=True, inputs={}),
        engine.PlannedResource(urn="k", type="kubernetes:core/v1:Namespace", name="k", parent=None, custom=True, inputs={}),
    ])
    needs_of = needs(plan)
    assert not deleted_before(needs_of, plan.resources[1], plan.resources[0])
    plan.resources[1].dependencies = ("c",)
    assert deleted_before(needs(plan), plan.resources[1], plan.resources[0])
