"""Kubeflow Trainer v2 (with JobSet as its subchart): TrainJobs that Kueue admits.

The chart's own runtime installer is left off (it is a hook Job that downloads kubectl at
install time); the platform renders the two ClusterTrainingRuntimes itself:

- `torch-distributed`: torchrun across `numNodes` nodes (mlPolicy.torch), as upstream's;
- `mpi-distributed`: an OpenMPI launcher plus sshd workers (mlPolicy.mpi), on the
  trainer's own MPI image.

Both mount the team namespace's `checkpoints` claim (on the shared file system class,
where there is one) at /checkpoints, and a memory-backed /dev/shm sized for the largest GPU
node (the container runtime's default is 64 MiB; NCCL and DataLoader workers use it).

Failures: a pod that fails fails its child Job at once (restartPolicy Never, backoffLimit
0), and JobSet then recreates every child Job, the whole gang, up to MAX_RESTARTS times
(JobSet failurePolicy acts only on a failed child Job), so the job resumes from its last
checkpoint. A pod disrupted by the cluster (preemption, eviction, node drain or loss:
condition DisruptionTarget) is ignored by the Job's podFailurePolicy and simply recreated,
costing no restart.
"""

from __future__ import annotations

import copy
from typing import Any, Optional

from ...conventions import DO_NOT_DISRUPT_ANNOTATION, FABRIC_LABEL, GPU_RESOURCE, POOL_LABEL
from ...handle import ClusterHandle, GpuPoolFacts
from ..common import READ_VERBS, WRITE_VERBS, sorted_dict
from ..common import system_placement
from .releases import image_parts, shared_claim

NAMESPACE = "kubeflow-system"
API_VERSION = "trainer.kubeflow.org/v1alpha1"
CHECKPOINT_CLAIM = "checkpoints"
CHECKPOINT_PATH = "/checkpoints"
# JobSet recreates every replicated job this many times before the TrainJob fails.
MAX_RESTARTS = 3
# Shared memory per GPU of the largest node (8 GPUs: 64 GiB, against the node's memory).
SHM_PER_GPU_GI = 8
SHM_VOLUME = "dshm"
# Each child Job: no retries of its own, disruptions not counted (batch/v1 podFailurePolicy;
# it needs restartPolicy Never, which JobSet would otherwise default to OnFailure,
# pkg/webhooks/jobset_webhook.go @ v0.12.0).
CHILD_JOB_FAILURE = {
    "backoffLimit": 0,
    "podFailurePolicy": {"rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]},
}
# Ports the API server must reach (chart values at v2.3.0: manager.config.webhook.port;
# JobSet 0.12.0 deployment template containerPort 9443).
WEBHOOK_PORT = 9443
JOBSET_WEBHOOK_PORT = 9443
# System-pool requests: the trainer manager (the chart sets none; these are ours) and the
# JobSet controller (its chart's default).
REQUESTS = {"cpu": "100m", "memory": "256Mi"}
JOBSET_REQUESTS = {"cpu": "500m", "memory": "128Mi"}
# A non-root user the runtime images can run as (the MPI image's mpiuser is 1000).
RUNTIME_USER = 1000
# What a team gets in its namespaces (aggregated into `ml-team`), from the CRDs the chart
# ships at v2.3.0 (templates/crd: trainjobs and trainingruntimes namespaced, only trainjobs
# with a status subresource; JobSet 0.12.0's jobsets, with status): TrainJobs and JobSets
# to write, as Kueue's trainjob/jobset editor roles (batch-user) and JobSet's own editor
# role grant. Namespaced TrainingRuntimes too, which Trainer's `kubeflow-trainer-edit`
# (manifests/overlays/kubeflow-platform) only lets users read: a runtime only shapes the
# JobSets its TrainJobs make in the same namespace, which the team may write directly, so
# writing one grants nothing more and lets a team define its own runtime.
TEAM_RULES: list[dict[str, Any]] = [
    {"apiGroups": ["trainer.kubeflow.org"], "resources": ["trainingruntimes", "trainjobs"], "verbs": READ_VERBS + WRITE_VERBS},
    {"apiGroups": ["trainer.kubeflow.org"], "resources": ["trainjobs/status"], "verbs": ["get"]},
    {"apiGroups": ["jobset.x-k8s.io"], "resources": ["jobsets"], "verbs": READ_VERBS + WRITE_VERBS},
    {"apiGroups": ["jobset.x-k8s.io"], "resources": ["jobsets/status"], "verbs": ["get"]},
]
# Cluster-wide, read only, for the teams' groups: the ClusterTrainingRuntimes a TrainJob
# names. Upstream binds the same read to every authenticated user (kubeflow-trainer-view-
# cluster-runtimes in manifests/overlays/kubeflow-platform), and the Kubeflow SDK's
# TrainerClient.list_runtimes() lists them cluster-wide.
TEAM_CLUSTER_RULES: list[dict[str, Any]] = [
    {"apiGroups": ["trainer.kubeflow.org"], "resources": ["clustertrainingruntimes"], "verbs": READ_VERBS},
]


def release_values(handle: ClusterHandle) -> dict[str, Any]:
    repository, tag = image_parts("trainer-controller-manager")
    registry, _, repo = repository.partition("/")
    jobset_repository, jobset_tag = image_parts("jobset")
    placement = system_placement(handle)
    return {
        "crds": {"enabled": True},
        "image": {"registry": registry, "repository": repo, "tag": tag},
        "manager": {"resources": {"requests": dict(REQUESTS), "limits": {"memory": "1Gi"}}, **placement},
        "jobset": {
            "install": True,
            "fullnameOverride": "jobset",
            "image": {"repository": jobset_repository, "tag": jobset_tag, "pullPolicy": "IfNotPresent"},
            "controller": {"resources": {"requests": dict(JOBSET_REQUESTS), "limits": {"cpu": "2", "memory": "4Gi"}}, **placement},
        },
        "runtimes": {"defaultEnabled": False},
    }


def _restricted_pod() -> dict[str, Any]:
    # What Pod Security `restricted` (the team namespaces' default) asks of every pod.
    return {"runAsNonRoot": True, "runAsUser": RUNTIME_USER, "fsGroup": RUNTIME_USER, "seccompProfile": {"type": "RuntimeDefault"}}


def _restricted_container() -> dict[str, Any]:
    return {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def shm_size(gpus_per_node: int) -> str:
    return f"{max(1, gpus_per_node) * SHM_PER_GPU_GI}Gi"


def _container(image: str, extra: Optional[dict[str, Any]] = None, checkpoints: bool = True) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "node",
        "image": image,
        "securityContext": _restricted_container(),
        # The images' default HOME may not be writable for a non-root user.
        "env": [{"name": "HOME", "value": "/tmp"}],
    }
    mounts = [{"name": SHM_VOLUME, "mountPath": "/dev/shm"}]
    if checkpoints:
        mounts.insert(0, {"name": CHECKPOINT_CLAIM, "mountPath": CHECKPOINT_PATH})
    container["volumeMounts"] = mounts
    container.update(extra or {})
    return sorted_dict(container)


def _pod(container: dict[str, Any], checkpoints: bool, gpus_per_node: int = 8) -> dict[str, Any]:
    spec: dict[str, Any] = {"securityContext": _restricted_pod(), "containers": [container], "restartPolicy": "Never"}
    volumes: list[dict[str, Any]] = [{"name": SHM_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": shm_size(gpus_per_node)}}]
    if checkpoints:
        volumes.insert(0, {"name": CHECKPOINT_CLAIM, "persistentVolumeClaim": {"claimName": CHECKPOINT_CLAIM}})
    spec["volumes"] = volumes
    return spec


def _job(pod: dict[str, Any]) -> dict[str, Any]:
    # Training pods are never disrupted voluntarily by a node provisioner (conventions.py).
    return {**CHILD_JOB_FAILURE, "template": {"metadata": {"annotations": {DO_NOT_DISRUPT_ANNOTATION: "true"}}, "spec": pod}}


def torch_runtime(checkpoints: bool, gpus_per_node: int = 8) -> dict[str, Any]:
    """ClusterTrainingRuntime `torch-distributed` (upstream manifests/base/runtimes/torch_distributed.yaml
    at v2.3.0: one replicated job `node`, ancestor label `trainer`, mlPolicy.torch)."""
    return {
        "api_version": API_VERSION,
        "kind": "ClusterTrainingRuntime",
        "metadata": {"name": "torch-distributed", "labels": {"trainer.kubeflow.org/framework": "torch"}},
        "spec": {
            "mlPolicy": {"numNodes": 1, "torch": {}},
            "template": {"spec": {
                "failurePolicy": {"maxRestarts": MAX_RESTARTS},
                "replicatedJobs": [{
                    "name": "node",
                    "template": {
                        "metadata": {"labels": {"trainer.kubeflow.org/trainjob-ancestor-step": "trainer"}},
                        "spec": _job(_pod(_container(_image("torch-runtime"), checkpoints=checkpoints), checkpoints, gpus_per_node)),
                    },
                }],
            }},
        },
    }


def mpi_runtime(checkpoints: bool, gpus_per_node: int = 8) -> dict[str, Any]:
    """ClusterTrainingRuntime `mpi-distributed`: the shape of upstream's deepspeed-distributed
    runtime at v2.3.0 (mlPolicy.mpi OpenMPI, sshd workers on 2222, a launcher that waits
    for them and also trains) with a generic name."""
    image = _image("mpi-runtime")
    worker = _container(image, {
        "command": ["/usr/sbin/sshd"],
        "args": ["-De", "-f", "/home/mpiuser/.sshd_config"],
        "readinessProbe": {"tcpSocket": {"port": 2222}, "initialDelaySeconds": 5},
    }, checkpoints=checkpoints)
    launcher = _container(image, checkpoints=checkpoints)
    return {
        "api_version": API_VERSION,
        "kind": "ClusterTrainingRuntime",
        "metadata": {"name": "mpi-distributed", "labels": {"trainer.kubeflow.org/framework": "mpi"}},
        "spec": {
            "mlPolicy": {"numNodes": 1, "mpi": {
                "numProcPerNode": 1,
                "mpiImplementation": "OpenMPI",
                "sshAuthMountPath": "/home/mpiuser/.ssh",
                "runLauncherAsNode": True,
            }},
            "template": {"spec": {
                "failurePolicy": {"maxRestarts": MAX_RESTARTS},
                "network": {"publishNotReadyAddresses": True},
                "successPolicy": {"operator": "All", "targetReplicatedJobs": ["launcher"]},
                "replicatedJobs": [
                    {"name": "node", "template": {"spec": _job(_pod(worker, checkpoints, gpus_per_node))}},
                    {
                        "name": "launcher",
                        "dependsOn": [{"name": "node", "status": "Ready"}],
                        "template": {
                            "metadata": {"labels": {"trainer.kubeflow.org/trainjob-ancestor-step": "trainer"}},
                            "spec": _job(_pod(launcher, checkpoints, gpus_per_node)),
                        },
                    },
                ],
            }},
        },
    }


# The TensorFlow runtime's worker port and the env it gives the trainer container: the
# JobSet's name (label jobset.sigs.k8s.io/jobset-name, set on every pod by JobSet v0.12.0)
# with which a worker names its peers `<jobset>-node-0-<i>.<jobset>` (JobSet's pod
# hostnames under its headless Service); Kubernetes sets JOB_COMPLETION_INDEX itself in
# every pod of an Indexed Job (JobSet's child Jobs are Indexed).
TF_WORKER_PORT = 2222
TF_ENV = (("TF_WORKER_PORT", str(TF_WORKER_PORT)),)
JOBSET_NAME_LABEL = "jobset.sigs.k8s.io/jobset-name"


def tensorflow_runtime(checkpoints: bool, gpus_per_node: int = 8) -> dict[str, Any]:
    """ClusterTrainingRuntime `tensorflow-distributed` (ours; Trainer v2.3.0 ships none): a
    plain-ML runtime (mlPolicy numNodes only: the PlainML plugin, pkg/runtime/framework/
    plugins/plainml at v2.3.0, sets the node count from the TrainJob and adds its env) whose
    workers build TF_CONFIG for MultiWorkerMirroredStrategy from JOBSET_NAME,
    JOB_COMPLETION_INDEX and the TrainJob's numNodes (passed as NUM_WORKERS)."""
    env = [{"name": "HOME", "value": "/tmp"}, *({"name": k, "value": v} for k, v in TF_ENV),
           {"name": "JOBSET_NAME", "valueFrom": {"fieldRef": {"fieldPath": f"metadata.labels['{JOBSET_NAME_LABEL}']"}}}]
    container = _container(_image("tensorflow-runtime"), {
        "env": env,
        "ports": [{"containerPort": TF_WORKER_PORT, "name": "tf-worker", "protocol": "TCP"}],
    }, checkpoints=checkpoints)
    return {
        "api_version": API_VERSION,
        "kind": "ClusterTrainingRuntime",
        "metadata": {"name": "tensorflow-distributed", "labels": {"trainer.kubeflow.org/framework": "tensorflow"}},
        "spec": {
            "mlPolicy": {"numNodes": 1},
            "template": {"spec": {
                "failurePolicy": {"maxRestarts": MAX_RESTARTS},
                # Workers find each other by DNS before all are ready (gRPC retries until then).
                "network": {"publishNotReadyAddresses": True},
                "replicatedJobs": [{
                    "name": "node",
                    "template": {
                        "metadata": {"labels": {"trainer.kubeflow.org/trainjob-ancestor-step": "trainer"}},
                        "spec": _job(_pod(container, checkpoints, gpus_per_node)),
                    },
                }],
            }},
        },
    }


def _image(key: str) -> str:
    repository, tag = image_parts(key)
    return f"{repository}:{tag}"


def checkpoint_claim(namespace: str, team: str, size: str, storage_class: str) -> dict[str, Any]:
    """PersistentVolumeClaim keyword arguments: the namespace's shared checkpoint volume."""
    return shared_claim(CHECKPOINT_CLAIM, "checkpoints", namespace, team, size, storage_class)


def fabric_runtime_name(base: str, pool: str) -> str:
    return f"{base}-{pool}"


def fabric_runtime(runtime: dict[str, Any], facts: GpuPoolFacts) -> dict[str, Any]:
    """`runtime` made for a fabric pool (`<runtime>-<pool>`): every node pod lands on the pool
    and takes the whole node, its GPUs and every fabric device (e.g. 32 vpc.amazonaws.com/efa
    on p5), with the fabric's NCCL / libfabric environment, pod annotations, host paths and
    sidecars from the handle. A TrainJob's `resourcesPerNode` is merged onto these requests
    (kubeflow/trainer v2.3.0 pkg/runtime/core/trainingruntime.go MergeResourceRequirements),
    so a job that sets only nvidia.com/gpu keeps the fabric devices. IPC_LOCK only where the
    fabric says pods need it (PoolFabric.ipc_lock): the runtimes run as a non-root user, for
    whom an added capability is never effective; what EFA needs is the node's memlock limit."""
    fabric = facts.fabric
    assert fabric is not None, facts.pool.name
    out = copy.deepcopy(runtime)
    out["metadata"]["name"] = fabric_runtime_name(runtime["metadata"]["name"], facts.pool.name)
    out["metadata"]["labels"] = sorted_dict({**out["metadata"].get("labels", {}), POOL_LABEL: facts.pool.name,
                                             FABRIC_LABEL: fabric.kind})
    for job in out["spec"]["template"]["spec"]["replicatedJobs"]:
        template = job["template"]["spec"]["template"]
        pod = template["spec"]
        pod["nodeSelector"] = {POOL_LABEL: facts.pool.name}
        if fabric.pod_annotations:
            template.setdefault("metadata", {})["annotations"] = sorted_dict(dict(fabric.pod_annotations))
        for mount, host in sorted(fabric.host_paths.items()):
            volume = f"fabric-{len(pod['volumes'])}"
            pod["volumes"].append({"name": volume, "hostPath": {"path": host, "type": "Directory"}})
            pod["containers"][0]["volumeMounts"].append({"name": volume, "mountPath": mount, "readOnly": True})
        if fabric.sidecars:
            pod["initContainers"] = [dict(c) for c in fabric.sidecars]
            pod["volumes"] += [dict(v) for v in fabric.volumes]  # what the sidecars mount
        container = pod["containers"][0]
        limits = {GPU_RESOURCE: str(facts.gpus_per_node), **{k: str(v) for k, v in sorted(fabric.resources.items())}}
        container["resources"] = {"limits": limits}
        container["env"] = [*container["env"], *({"name": k, "value": v} for k, v in sorted(fabric.env.items()))]
        if fabric.ipc_lock:
            container["securityContext"] = {**container["securityContext"], "capabilities": {"drop": ["ALL"], "add": ["IPC_LOCK"]}}
        pod["containers"][0] = sorted_dict(container)
    return out
