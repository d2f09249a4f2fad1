"""examples/training/trainjob-fabric.yaml: a two-node TrainJob over the fabric, chosen by the
pool's runtime on prod-aws.

Upstream facts: kubeflow/trainer v2.3.0 merges trainer.resourcesPerNode onto the runtime
container's resources (pkg/runtime/core/trainingruntime.go), so the runtime's EFA request
stays; nccl-tests doc/PERFORMANCE.md gives all-reduce bus bandwidth as algbw * 2(n-1)/n."""

from __future__ import annotations

from components import catalog
from components.clouds.aws.fabric import EFA_RESOURCE
from tests.conftest import plan_for_stack
from tests.examples.test_examples import load, validate
from tests.platform.workloads.helpers import objects


def test_the_fabric_trainjob_is_valid_and_names_the_pools_fabric_runtime():
    job = load("training/trainjob-fabric.yaml")
    validate(job)
    assert job["metadata"]["labels"] == {"kueue.x-k8s.io/queue-name": "default"}
    runtimes = objects(plan_for_stack("prod-aws"), "ClusterTrainingRuntime")
    _, runtime = runtimes[job["spec"]["runtimeRef"]["name"]]
    pod = runtime["spec"]["template"]["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]
    # The runtime brings the fabric; the job asks for whole nodes of the pool.
    fabric = catalog.cloud("aws").fabric("p5.48xlarge")
    assert pod["containers"][0]["resources"]["limits"][EFA_RESOURCE] == str(fabric.nics)
    trainer = job["spec"]["trainer"]
    itype = catalog.cloud("aws").instance_types["p5.48xlarge"]
    assert trainer["numNodes"] == 2
    assert trainer["resourcesPerNode"]["limits"]["nvidia.com/gpu"] == itype.gpus == trainer["numProcPerNode"]
    assert EFA_RESOURCE not in trainer["resourcesPerNode"]["limits"]  # merged from the runtime
    assert "2 * (world - 1) / world" in trainer["command"][-1]
