"""gpuPools[].interconnect (components/config/checks/fabric.py): a pool gets its type's fabric by
default, none when asked, and naming a fabric its type lacks is one clear line.

Upstream facts: the catalog's fabric rows (components/catalog/{aws,gcp,azure}.py FABRICS, each
with its source); EFA-only interfaces need VPC CNI v1.18.5 or later (EKS user guide,
node-efa / device-management-efa)."""

from __future__ import annotations

import pytest

from components import catalog
from components.config import ConfigError, load
from components.config.checks.fabric import EFA_ONLY_MIN_VPC_CNI

BASE = {"cloud": "aws", "region": "us-east-1", "network": {"privateApi": True}}


def stack(cloud: str = "aws", region: str = "us-east-1", **pool) -> dict:
    raw = {**BASE, "cloud": cloud, "region": region, "gpuPools": [{"name": "train", "maxNodes": 2, **pool}]}
    if cloud == "gcp":
        raw["gcp"] = {"project": "ml-project-1"}
    return raw


def problems(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load(raw)
    return err.value.problems


def fabric_types(cloud: str) -> list[str]:
    return sorted(catalog.cloud(cloud).fabrics)


def test_every_fabric_row_is_a_gpu_type_of_its_cloud_with_sources():
    for cloud, cat in catalog.CLOUDS.items():
        for name, fabric in cat.fabrics.items():
            itype = cat.instance_types[name]
            assert itype.gpu is not None, (cloud, name)
            assert fabric.kind in catalog.FABRIC_KINDS
            assert fabric.nics >= 1 and fabric.line_rate_gbps % fabric.nics == 0
            assert 0 < fabric.expected_busbw_gbs <= fabric.line_rate_gbps / 8 * 1.25, "above what the line rate can carry"
            assert fabric.source and fabric.busbw_source
            assert (fabric.generation is not None) == (fabric.kind == "efa")


def test_the_types_the_issue_names_have_their_fabric():
    # p5/p5en/p6-b200 EFA, a3-highgpu TCPX, a3-ultragpu RDMA, ND H100 v5 InfiniBand.
    kinds = {n: f.kind for cat in catalog.CLOUDS.values() for n, f in cat.fabrics.items()}
    assert {kinds[t] for t in ("p5.48xlarge", "p5en.48xlarge", "p6-b200.48xlarge")} == {"efa"}
    assert kinds["a3-highgpu-8g"] == "tcpx" and kinds["a3-ultragpu-8g"] == "rdma"
    assert kinds["Standard_ND96isr_H100_v5"] == "infiniband"
    # Types without one: the L4/T4/A10G/L40S sizes.
    for name in ("g6.xlarge", "g4dn.xlarge", "g2-standard-4", "Standard_NC4as_T4_v3"):
        assert catalog.find_instance_type(name) is not None and name not in kinds


@pytest.mark.parametrize("cloud,region", [("aws", "us-east-1"), ("gcp", "us-central1"), ("azure", "eastus")])
def test_auto_gives_each_fabric_type_its_fabric_and_none_gives_none(cloud, region):
    for name in fabric_types(cloud):
        itype = catalog.cloud(cloud).instance_types[name]
        if region not in catalog.cloud(cloud).regions_offering(name):
            continue
        cfg = load(stack(cloud, region, instanceType=name, minNodes=0))
        assert cfg.gpu_pools[0].fabric(cloud) == catalog.cloud(cloud).fabric(name), name
        assert itype.gpu
        explicit = load(stack(cloud, region, instanceType=name, interconnect=cfg.gpu_pools[0].fabric(cloud).kind))
        assert explicit.gpu_pools[0].fabric(cloud) == catalog.cloud(cloud).fabric(name)
        assert load(stack(cloud, region, instanceType=name, interconnect="none")).gpu_pools[0].fabric(cloud) is None


def test_a_type_without_fabric_gets_none_under_auto():
    assert load(stack(instanceType="g6.xlarge")).gpu_pools[0].fabric("aws") is None


def test_a_pool_given_by_need_gets_the_picked_types_fabric():
    cfg = load(stack(gpu="h100", gpusPerNode=8))
    picked = cfg.gpu_pools[0].instance_type
    assert cfg.gpu_pools[0].fabric("aws") == catalog.cloud("aws").fabric(picked) is not None


def test_asking_for_a_fabric_the_type_lacks_is_one_line():
    assert problems(stack(instanceType="g6.xlarge", interconnect="efa")) == [
        "gpuPools[0].interconnect: 'efa' is not the fabric of g6.xlarge (it has no GPU fabric); allowed: auto, none"
    ]


def test_asking_for_another_clouds_fabric_names_the_types_own():
    assert problems(stack(instanceType="p5.48xlarge", interconnect="infiniband")) == [
        "gpuPools[0].interconnect: 'infiniband' is not the fabric of p5.48xlarge (it has EFA v2); allowed: auto, none, efa"
    ]


def test_an_unknown_interconnect_lists_every_allowed_value():
    assert problems(stack(instanceType="p5.48xlarge", interconnect="roce")) == [
        "gpuPools[0].interconnect: 'roce' is not allowed; allowed: auto, none, efa, tcpx, tcpxo, rdma, infiniband"
    ]
    assert ("auto", "none", *catalog.FABRIC_KINDS) == ("auto", "none", "efa", "tcpx", "tcpxo", "rdma", "infiniband")


def test_existing_clusters_accept_auto_and_none_only():
    raw = {"cloud": "existing", "existing": {"kubeconfig": "/dev/null"},
           "gpuPools": [{"name": "train", "instanceType": "p5.48xlarge", "interconnect": "efa"}]}
    assert "gpuPools[0].interconnect: 'efa' cannot be wired on cloud existing, whose nodes and networks are not this stack's; allowed: auto, none" in problems(raw)


def test_waiver_only_where_a_fabric_is_turned_off():
    assert load(stack(instanceType="p5.48xlarge", interconnect="none", interconnectWaiver="single-node fine-tuning only")).gpu_pools[0].fabric("aws") is None
    assert problems(stack(instanceType="p5.48xlarge", interconnectWaiver="because")) == [
        "gpuPools[0].interconnectWaiver: set, but the pool uses its fabric (interconnect: auto); allowed: leave it out, or set interconnect: none on a type with a fabric"
    ]
    assert problems(stack(instanceType="g6.xlarge", interconnect="none", interconnectWaiver="because")) == [
        "gpuPools[0].interconnectWaiver: set, but its type has no fabric to go without; allowed: leave it out, or set interconnect: none on a type with a fabric"
    ]


def test_spot_reason_only_on_a_spot_fabric_pool():
    assert load(stack(instanceType="p5.48xlarge", spot=True, interconnectSpotReason="checkpoints every 10 min")).gpu_pools[0].spot
    # A spot tier in the capacity chain is spot too (the policy pack asks a reason for it).
    chained = load(stack(instanceType="p5.48xlarge", capacity=["spot", "onDemand"], interconnectSpotReason="checkpoints every 10 min"))
    assert chained.gpu_pools[0].interconnect_spot_reason == "checkpoints every 10 min"
    assert problems(stack(instanceType="p5.48xlarge", capacity=[{"reserved": {"id": "cr-0123456789abcdef0"}}, "onDemand"],
                          interconnectSpotReason="x")) == [
        "gpuPools[0].interconnectSpotReason: set, but the pool is not on spot; allowed: leave it out (it explains a spot pool with a fabric)"
    ]
    assert problems(stack(instanceType="p5.48xlarge", interconnectSpotReason="x")) == [
        "gpuPools[0].interconnectSpotReason: set, but the pool is not on spot; allowed: leave it out (it explains a spot pool with a fabric)"
    ]
    assert problems(stack(instanceType="g6.xlarge", spot=True, interconnectSpotReason="x")) == [
        "gpuPools[0].interconnectSpotReason: set, but the pool has no fabric; allowed: leave it out (it explains a spot pool with a fabric)"
    ]


def test_empty_reasons_are_refused():
    assert problems(stack(instanceType="p5.48xlarge", interconnect="none", interconnectWaiver="")) == [
        "gpuPools[0].interconnectWaiver: '' is not valid; string should have at least 1 character"
    ]


def _pinned(version: str) -> dict:
    return {**stack(instanceType="p5.48xlarge"), "aws": {"addonVersions": {"vpc-cni": version}}}


def test_a_pinned_vpc_cni_must_support_efa_only_interfaces():
    need = "v" + ".".join(map(str, EFA_ONLY_MIN_VPC_CNI))
    assert need == "v1.18.5"
    assert problems(_pinned("v1.18.4-eksbuild.1")) == [
        f"aws.addonVersions.vpc-cni: 'v1.18.4-eksbuild.1' is older than {need}, which the EFA-only interfaces of pool(s) train need; "
        f"allowed: {need}-eksbuild.1 or later, or leave it unset (the newest for the cluster version)"
    ]
    assert load(_pinned("v1.18.5-eksbuild.1")).aws.addon_versions["vpc-cni"] == "v1.18.5-eksbuild.1"
    # Without an EFA pool an old pin is nobody's business here.
    assert load({**stack(instanceType="g6.xlarge"), "aws": {"addonVersions": {"vpc-cni": "v1.16.0-eksbuild.1"}}})


def test_reasons_travel_on_the_pool_resource_for_the_policy_pack():
    """interconnectWaiver / interconnectSpotReason become tags (GKE resource labels), which
    policies/rules/fabric.py reads."""
    from components import conventions
    from components.config import GpuPool
    from tests.conftest import inputs, plan_for_stack

    pool = GpuPool.model_validate({"name": "h100", "instanceType": "p5.48xlarge", "interconnect": "none",
                                   "interconnectWaiver": "Single-node jobs; <none> cross nodes!", "spot": True,
                                   "interconnectSpotReason": "checkpoints every 10 min"})
    assert conventions.fabric_reason_tags(pool, "aws") == {
        "ml-clusters/interconnect-waiver": "Single-node jobs   none  cross nodes",
        "ml-clusters/interconnect-spot-reason": "checkpoints every 10 min",
    }
    assert conventions.fabric_reason_tags(pool, "gcp")["ml-clusters-interconnect-waiver"] == "single-node_jobs__<none>_cross_nodes!".replace("<", "_").replace(">", "_").replace("!", "_")
    assert conventions.fabric_reason_tags(GpuPool.model_validate({"name": "a", "instanceType": "p5.48xlarge"}), "aws") == {}
    # prod-gcp and prod-azure use their fabrics (GKE GPUDirect, AKS InfiniBand): nothing to explain.
    gke = inputs(plan_for_stack("prod-gcp").one("gcp:container/nodePool:NodePool", "ml-prod-gcp-h100"))
    assert "ml-clusters-interconnect-waiver" not in gke["nodeConfig"]["resourceLabels"]
    aks = inputs(plan_for_stack("prod-azure").one("azure-native:containerservice:AgentPool", "ml-prod-azure-h100"))
    assert "ml-clusters/interconnect-waiver" not in aks["tags"]
    # prod-aws's h100 is on Karpenter: the reasons would be its NodePool's annotations
    # (tests/clouds/aws/test_fabric.py covers a stated one); it uses its fabric, nothing to explain.
    eks = inputs(plan_for_stack("prod-aws").one("kubernetes:karpenter.sh/v1:NodePool", "ml-prod-aws-h100-nodepool"))
    assert "annotations" not in eks["metadata"]
    assert eks["spec"]["template"]["metadata"]["labels"][conventions.FABRIC_LABEL] == "efa"
    # prod-aws-dr keeps h100 on a node group, which uses its fabric too: no tags to explain.
    assert "tags" not in inputs(plan_for_stack("prod-aws-dr").one("aws:eks/nodeGroup:NodeGroup", "ml-prod-aws-dr-h100"))
