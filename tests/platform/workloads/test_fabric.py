"""The training runtimes' fabric variants and Kueue's coverage of fabric devices, on prod-aws
(a p5.48xlarge pool `h100` with EFA, and an L4 pool without a fabric).

Upstream facts relied on:
- kubeflow/trainer v2.3.0 pkg/runtime/core/trainingruntime.go: a TrainJob's
  trainer.resourcesPerNode is merged onto the runtime container's resources
  (pkg/util/trainingruntime MergeResourceRequirements), so the fabric devices stay.
- kubernetes-sigs/kueue v0.19.2 apis/config/v1beta2/configuration_types.go: quotaCheckStrategy
  BlockUndeclared, a workload asking for a resource its ClusterQueue does not cover stays
  pending; clusterqueue_types.go: every flavor of a resource group lists the group's
  coveredResources in order.
- awslabs/amazon-eks-ami PR #595: the EKS AMI raises containers' memlock limit (why the EFA
  variant adds no IPC_LOCK).
"""

from __future__ import annotations

import math
from functools import cache

from components import catalog, conventions
from components.clouds.aws.fabric import EFA_ENV, EFA_RESOURCE
from components.platform.workloads import queueing, training
from tests.conftest import plan_for_stack
from tests.platform.workloads.helpers import depends, objects

P5 = catalog.cloud("aws").fabric("p5.48xlarge")


@cache
def prod_aws():
    return plan_for_stack("prod-aws")


def runtimes():
    return objects(prod_aws(), "ClusterTrainingRuntime")


def test_a_variant_of_each_runtime_for_the_fabric_pool_only():
    assert sorted(runtimes()) == ["mpi-distributed", "mpi-distributed-h100", "torch-distributed", "torch-distributed-h100"]


def test_the_fabric_variant_takes_the_whole_node_and_every_efa_interface():
    _, variant = runtimes()["torch-distributed-h100"]
    assert variant["metadata"]["labels"][conventions.POOL_LABEL] == "h100"
    assert variant["metadata"]["labels"][conventions.FABRIC_LABEL] == "efa"
    (job,) = variant["spec"]["template"]["spec"]["replicatedJobs"]
    pod = job["template"]["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {conventions.POOL_LABEL: "h100"}
    (container,) = pod["containers"]
    assert container["resources"]["limits"] == {"nvidia.com/gpu": "8", EFA_RESOURCE: str(P5.nics)}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert {k: env[k] for k in EFA_ENV} == EFA_ENV == {"FI_PROVIDER": "efa", "FI_EFA_USE_DEVICE_RDMA": "1"}
    # Memory-backed /dev/shm as in the base runtime, and the restricted security context kept:
    # no IPC_LOCK for EFA (memlock, not a capability, is what pinning needs for a non-root user).
    shm = next(v for v in pod["volumes"] if v["name"] == training.SHM_VOLUME)
    assert shm["emptyDir"]["medium"] == "Memory"
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_the_mpi_variant_gives_launcher_and_workers_the_fabric():
    _, variant = runtimes()["mpi-distributed-h100"]
    jobs = {j["name"]: j for j in variant["spec"]["template"]["spec"]["replicatedJobs"]}
    assert sorted(jobs) == ["launcher", "node"]
    for job in jobs.values():
        (container,) = job["template"]["spec"]["template"]["spec"]["containers"]
        assert container["resources"]["limits"][EFA_RESOURCE] == str(P5.nics)


def test_the_base_runtimes_are_unchanged_by_the_fabric():
    _, base = runtimes()["torch-distributed"]
    pod = base["spec"]["template"]["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]
    assert "nodeSelector" not in pod and "resources" not in pod["containers"][0]


def test_fabric_variants_wait_for_the_efa_device_plugin():
    plan = prod_aws()
    plugin = plan.one("kubernetes:helm.sh/v3:Release", "ml-prod-aws-efa-device-plugin")
    for name in ("torch-distributed-h100", "mpi-distributed-h100"):
        resource, _ = runtimes()[name]
        assert depends(resource, plugin), name


def test_kueue_covers_the_efa_interfaces_in_step_with_the_gpus():
    cqs = objects(prod_aws(), "ClusterQueue")
    _, research = cqs["research"]
    gpu_group = research["spec"]["resourceGroups"][1]
    assert gpu_group["coveredResources"] == ["nvidia.com/gpu", EFA_RESOURCE]
    flavors = {f["name"]: {r["name"]: r for r in f["resources"]} for f in gpu_group["flavors"]}
    h100, l4 = flavors["gpu-h100"], flavors["gpu-l4infer"]
    gpus = int(h100["nvidia.com/gpu"]["nominalQuota"])
    assert gpus == 32  # research: {h100: 32} in the stack
    assert int(h100[EFA_RESOURCE]["nominalQuota"]) == math.ceil(gpus * P5.nics / 8) == 128
    assert int(h100[EFA_RESOURCE]["borrowingLimit"]) == math.ceil(int(h100["nvidia.com/gpu"]["borrowingLimit"]) * P5.nics / 8)
    # The L4 pool has no EFA: a job asking for it fits only the h100 flavor.
    assert l4[EFA_RESOURCE] == {"name": EFA_RESOURCE, "nominalQuota": "0", "borrowingLimit": "0"}
    # Every flavor lists the covered resources in the group's order.
    for flavor in gpu_group["flavors"]:
        assert [r["name"] for r in flavor["resources"]] == gpu_group["coveredResources"]


def test_kueue_no_longer_excludes_the_fabric_devices():
    assert not [p for p in queueing.EXCLUDED_RESOURCE_PREFIXES if p.startswith(("vpc.amazonaws.com", "rdma"))]


def test_fabric_quota_rounds_up_for_fewer_nics_than_gpus():
    from components.clouds.aws.fabric import pool_fabric
    from components.handle import GpuPoolFacts
    from tests.platform.harness import pool

    p4d = catalog.cloud("aws").fabric("p4d.24xlarge")
    facts = GpuPoolFacts(pool("a100", "p4d.24xlarge"), "a100", 8, {}, pool_fabric(p4d))
    assert p4d.nics == 4
    assert queueing.fabric_quota(facts, EFA_RESOURCE, 1) == 1  # half an interface per GPU, rounded up
    assert queueing.fabric_quota(facts, EFA_RESOURCE, 16) == 8
    assert queueing.fabric_quota(facts, "rdma/shared_ib", 16) == 0
