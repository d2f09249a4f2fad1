"""Kubeflow Trainer v2 + JobSet (kubeflow/trainer v2.3.0, its JobSet 0.12.0 subchart):
the release, the two ClusterTrainingRuntimes, checkpoint claims on the shared class."""

from __future__ import annotations

from functools import cache

from components import catalog
from components.conventions import system_pool_labels
from components.platform.workloads import training
from tests.conftest import plan_for_stack
from tests.platform import harness
from tests.platform.workloads.helpers import depends, objects, releases, values

TRAINING = {"workloads": {"queueing": {"enabled": True}, "training": {"enabled": True, "checkpointStorage": "250Gi"}}}
TEAMS = harness.namespaces({"name": "train-a", "team": "a", "group": "g", "gpus": 2}, {"name": "train-b", "team": "b", "group": "g"})


@cache
def eks():
    return harness.run_platform(harness.eks_shape([harness.pool("h100", "p5.48xlarge")]), TRAINING, TEAMS)


def test_trainer_release_installs_crds_and_jobset_and_no_runtime_installer():
    plan = eks().plan
    release = releases(plan)["kubeflow-trainer"]
    assert release.inputs["chart"] == "oci://ghcr.io/kubeflow/charts/kubeflow-trainer"
    assert release.inputs["version"] == "2.3.0"
    vals = values(plan, "kubeflow-trainer")
    # charts/kubeflow-trainer/values.yaml @ v2.3.0: crds.enabled installs TrainJob,
    # TrainingRuntime and ClusterTrainingRuntime; jobset.install the JobSet 0.12.0 subchart.
    assert vals["crds"] == {"enabled": True}
    assert vals["jobset"]["install"] is True
    # The chart's runtimes come from a post-install Job on alpine that downloads kubectl
    # (templates/runtimes/installer-job.yaml); the platform renders its runtimes itself.
    assert vals["runtimes"] == {"defaultEnabled": False}
    assert vals["image"] == {"registry": "ghcr.io", "repository": "kubeflow/trainer/trainer-controller-manager", "tag": "v2.3.0"}
    # JobSet's chart source names a staging image (tag main, pullPolicy Always).
    assert vals["jobset"]["image"] == {"repository": "registry.k8s.io/jobset/jobset", "tag": "v0.12.0", "pullPolicy": "IfNotPresent"}
    for part in (vals["manager"], vals["jobset"]["controller"]):
        assert part["nodeSelector"] == system_pool_labels()
        assert "requests" in part["resources"]


def test_torch_and_mpi_runtimes_follow_upstream_and_wait_for_the_release():
    plan = eks().plan
    trainer = releases(plan)["kubeflow-trainer"]
    runtimes = objects(plan, "ClusterTrainingRuntime")
    assert sorted(runtimes) == ["mpi-distributed", "tensorflow-distributed", "torch-distributed"]
    for resource, _ in runtimes.values():
        assert depends(resource, trainer)
    _, torch = runtimes["torch-distributed"]
    # manifests/base/runtimes/torch_distributed.yaml @ v2.3.0: mlPolicy.torch, one
    # replicated job `node` whose pods carry the ancestor-step label `trainer`.
    assert torch["spec"]["mlPolicy"] == {"numNodes": 1, "torch": {}}
    node = torch["spec"]["template"]["spec"]["replicatedJobs"][0]
    assert node["name"] == "node"
    assert node["template"]["metadata"]["labels"] == {"trainer.kubeflow.org/trainjob-ancestor-step": "trainer"}
    pod = node["template"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == catalog.IMAGES["torch-runtime"]
    assert catalog.IMAGES["torch-runtime"].split("@")[0] == "pytorch/pytorch:2.13.0-cuda13.0-cudnn9-runtime"
    _, mpi = runtimes["mpi-distributed"]
    # manifests/base/runtimes/deepspeed_distributed.yaml @ v2.3.0: OpenMPI with sshd
    # workers on 2222 and a launcher that waits for them to be Ready.
    assert mpi["spec"]["mlPolicy"]["mpi"]["mpiImplementation"] == "OpenMPI"
    launcher = mpi["spec"]["template"]["spec"]["replicatedJobs"][1]
    assert launcher["dependsOn"] == [{"name": "node", "status": "Ready"}]
    worker = mpi["spec"]["template"]["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]["containers"][0]
    assert worker["readinessProbe"]["tcpSocket"] == {"port": 2222}


def test_runtimes_resume_after_node_loss_from_the_shared_checkpoint_volume():
    for _, runtime in objects(eks().plan, "ClusterTrainingRuntime").values():
        spec = runtime["spec"]["template"]["spec"]
        # JobSet failurePolicy.maxRestarts acts only when a child Job fails (JobSet v0.12.0
        # pkg/controllers/failure_policy.go); each child Job fails on its first failed pod
        # (backoffLimit 0, restartPolicy Never, which the JobSet webhook would otherwise
        # default to OnFailure, restarting containers in place), so a failure restarts the gang.
        assert spec["failurePolicy"] == {"maxRestarts": training.MAX_RESTARTS}
        for job in spec["replicatedJobs"]:
            job_spec = job["template"]["spec"]
            assert job_spec["backoffLimit"] == 0
            # A pod the cluster disrupts (DisruptionTarget: preemption, eviction, node
            # drain/loss) is recreated without failing the Job (batch/v1 podFailurePolicy).
            assert job_spec["podFailurePolicy"]["rules"] == [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]
            pod = job_spec["template"]["spec"]
            assert pod["restartPolicy"] == "Never"
            assert pod["volumes"][0] == {"name": "checkpoints", "persistentVolumeClaim": {"claimName": "checkpoints"}}
            assert {"name": "checkpoints", "mountPath": "/checkpoints"} in pod["containers"][0]["volumeMounts"]
            # Pod Security `restricted` (the team namespaces' default) admits the pods.
            assert pod["securityContext"]["runAsNonRoot"] is True
            assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
            assert pod["containers"][0]["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def test_each_team_namespace_gets_a_checkpoint_claim_on_the_shared_class():
    plan = eks().plan
    claims = objects(plan, "PersistentVolumeClaim")
    namespaces = objects(plan, "Namespace")
    shared = objects(plan, "StorageClass")["ml-shared"][0]
    assert sorted(claims) == ["train-a/checkpoints", "train-b/checkpoints"]
    for key, (resource, claim) in claims.items():
        assert claim["spec"] == {"accessModes": ["ReadWriteMany"], "storageClassName": "ml-shared", "resources": {"requests": {"storage": "250Gi"}}}
        assert depends(resource, namespaces[key.split("/")[0]][0]) and depends(resource, shared)


def test_without_a_shared_file_system_there_is_no_checkpoint_volume():
    plan = plan_for_stack("local")  # platform.sharedFileSystem false
    assert not objects(plan, "PersistentVolumeClaim")
    for _, runtime in objects(plan, "ClusterTrainingRuntime").values():
        pod = runtime["spec"]["template"]["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]
        assert [v["name"] for v in pod["volumes"]] == [training.SHM_VOLUME]


def test_multi_gpu_jobs_get_shared_memory_sized_for_the_largest_gpu_node():
    """The container runtime gives /dev/shm 64 MiB; NCCL and DataLoader workers on a
    multi-GPU node need more. A memory-backed emptyDir replaces it, sized per GPU of the
    largest node the runtimes can land on (GPUs per node from the catalog)."""
    from components import catalog
    plan = plan_for_stack("prod-aws")
    largest = max(catalog.instance_type("aws", t).gpus for t in ("p5.48xlarge", "g6.2xlarge"))
    for _, runtime in objects(plan, "ClusterTrainingRuntime").values():
        for job in runtime["spec"]["template"]["spec"]["replicatedJobs"]:
            pod = job["template"]["spec"]["template"]["spec"]
            shm = {v["name"]: v for v in pod["volumes"]}[training.SHM_VOLUME]
            assert shm["emptyDir"] == {"medium": "Memory", "sizeLimit": f"{largest * training.SHM_PER_GPU_GI}Gi"}
            assert {"name": training.SHM_VOLUME, "mountPath": "/dev/shm"} in pod["containers"][0]["volumeMounts"]


def test_the_tensorflow_runtime_is_plain_ml_with_what_workers_need_for_tf_config():
    """Trainer v2.3.0 ships no TensorFlow runtime; a runtime without a framework policy is
    run by the PlainML plugin (pkg/runtime/framework/plugins/plainml: numNodes from the
    TrainJob, its env into the `node` container of the ancestor step `trainer`)."""
    plan = eks().plan
    resource, tf = objects(plan, "ClusterTrainingRuntime")["tensorflow-distributed"]
    assert depends(resource, releases(plan)["kubeflow-trainer"])
    assert tf["spec"]["mlPolicy"] == {"numNodes": 1}
    node = tf["spec"]["template"]["spec"]["replicatedJobs"][0]
    assert node["name"] == "node" and node["template"]["metadata"]["labels"] == {"trainer.kubeflow.org/trainjob-ancestor-step": "trainer"}
    container = node["template"]["spec"]["template"]["spec"]["containers"][0]
    assert container["name"] == "node" and container["image"] == catalog.IMAGES["tensorflow-runtime"]
    env = {e["name"]: e for e in container["env"]}
    # JobSet v0.12.0 labels every pod with its JobSet's name; Kubernetes sets JOB_COMPLETION_INDEX.
    assert env["JOBSET_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.labels['jobset.sigs.k8s.io/jobset-name']"}}
    assert env["TF_WORKER_PORT"]["value"] == str(training.TF_WORKER_PORT)
    assert container["ports"] == [{"containerPort": training.TF_WORKER_PORT, "name": "tf-worker", "protocol": "TCP"}]
    assert tf["spec"]["template"]["spec"]["network"] == {"publishNotReadyAddresses": True}
