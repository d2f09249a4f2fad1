"""The ML workload layer: queued GPU jobs, GPU limits on InferenceServices, pinned images
in the workload layer's custom resources and Helm releases."""

from __future__ import annotations

import re
from typing import Any, Iterator, Sequence

from .base import Context, Finding, Resource, UnknownValue, get, resource_rule, stack_rule
from .kubernetes import image_problem
from .types import (
    HELM_RELEASE,
    K8S_CRON_JOB,
    K8S_DAEMON_SET,
    K8S_DEPLOYMENT,
    K8S_JOB,
    K8S_NAMESPACE,
    K8S_POD,
    K8S_REPLICA_SET,
    K8S_STATEFUL_SET,
    POD_SPEC_PATHS,
    SERVING_LABEL,
)

DOMAIN = "workloads"
GPU_RESOURCE = re.compile(r"^nvidia\.com/(gpu|mig-.+)$")
# Cloud TPU chips as GKE's TPU device plugin advertises them; Kueue queues them like GPUs.
TPU_RESOURCE = "google.com/tpu"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"

TRAIN_JOB = "kubernetes:trainer.kubeflow.org/v1alpha1:TrainJob"
JOB_SET = "kubernetes:jobset.x-k8s.io/v1alpha2:JobSet"
CLUSTER_TRAINING_RUNTIME = "kubernetes:trainer.kubeflow.org/v1alpha1:ClusterTrainingRuntime"
TRAINING_RUNTIME = "kubernetes:trainer.kubeflow.org/v1alpha1:TrainingRuntime"
INFERENCE_SERVICE = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
SERVING_RUNTIME = "kubernetes:serving.kserve.io/v1alpha1:ServingRuntime"
CLUSTER_SERVING_RUNTIME = "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime"
# Argo Workflows (argoproj.io/v1alpha1 at v4.0.6): the kinds whose templates make pods.
WORKFLOW = "kubernetes:argoproj.io/v1alpha1:Workflow"
WORKFLOW_TEMPLATE = "kubernetes:argoproj.io/v1alpha1:WorkflowTemplate"
CRON_WORKFLOW = "kubernetes:argoproj.io/v1alpha1:CronWorkflow"
# Where each keeps its workflow spec.
WORKFLOW_SPECS: dict[str, tuple[str, ...]] = {
    WORKFLOW: ("spec",), WORKFLOW_TEMPLATE: ("spec",), CRON_WORKFLOW: ("spec", "workflowSpec"),
}

# Batch kinds a team submits; where each keeps the labels Kueue reads.
QUEUED_KINDS: dict[str, str] = {
    K8S_JOB: "metadata.labels",
    K8S_CRON_JOB: "spec.jobTemplate.metadata.labels",
    K8S_POD: "metadata.labels",
    TRAIN_JOB: "metadata.labels",
    JOB_SET: "metadata.labels",
}
IMAGE_KINDS = (TRAIN_JOB, JOB_SET, CLUSTER_TRAINING_RUNTIME, TRAINING_RUNTIME, INFERENCE_SERVICE, SERVING_RUNTIME, CLUSTER_SERVING_RUNTIME)
# The priority classes of the pods a team runs outside Kueue on its reserved GPUs; the
# namespace's `outside-queue` ResourceQuota is scoped to them (components/platform/serving.py
# OUTSIDE_QUEUE_PRIORITIES; docs/workloads.md "One account of GPUs").
RESERVED_PRIORITY_CLASSES = ("ml-serving-high", "ml-notebook")
# Kinds whose pods Kueue does not queue on this platform (its pod and deployment
# integrations are off): their GPUs are accounted only through a reserved priority class.
UNQUEUED_POD_KINDS = (K8S_POD, K8S_DEPLOYMENT, K8S_STATEFUL_SET, K8S_REPLICA_SET, K8S_DAEMON_SET)
# An InferenceService's pod-making components; canaries are `spec.canary[].predictor`.
ISVC_COMPONENTS = ("predictor", "transformer", "explainer")
# Charts of the workload layer whose values name images.
WORKLOAD_CHARTS = ("kueue", "kubeflow-trainer", "cert-manager", "kserve-crd", "kserve-resources", "kserve-runtime-configs", "jupyterhub",
                   "argo-workflows")


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """(path, key, value) of every mapping entry below `value`. Unknown values are skipped:
    they are judged at the next preview."""
    if isinstance(value, dict):
        for key, child in value.items():
            where = f"{path}.{key}" if path else str(key)
            yield where, key, child
            yield from _walk(child, where)
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _walk(child, f"{path}[{i}]")


def requests_gpus(obj: Any) -> bool:
    return any(isinstance(key, str) and GPU_RESOURCE.match(key) for _, key, _ in _walk(obj))


def requests_tpus(obj: Any) -> bool:
    return any(key == TPU_RESOURCE for _, key, _ in _walk(obj))


def _team_namespaces(resources: Sequence[Resource]) -> set[str]:
    out = set()
    for r in resources:
        if r.type != K8S_NAMESPACE:
            continue
        try:
            if get(r.props, ["metadata", "labels", SERVING_LABEL]) == "true":
                name = get(r.props, "metadata.name")
                if name:
                    out.add(str(name))
        except UnknownValue:
            continue
    return out


@stack_rule(
    id="workloads-gpu-jobs-queued",
    title="GPU jobs in team namespaces go through a queue",
    domain=DOMAIN,
    types=[K8S_NAMESPACE, *QUEUED_KINDS],
    description=f"A Job, CronJob, Pod, JobSet or TrainJob that asks for GPUs or TPU chips ({TPU_RESOURCE}) in a team namespace (label {SERVING_LABEL}: \"true\") carries {QUEUE_LABEL}, so Kueue admits it within the team's quota.",
    severity="medium",
    level="advisory",
    fix=f"Add the label {QUEUE_LABEL}: default (the team namespace's LocalQueue) to the job's metadata.",
)
def workloads_gpu_jobs_queued(resources: Sequence[Resource], ctx: Context):
    teams = _team_namespaces(resources)
    for r in resources:
        labels_path = QUEUED_KINDS.get(r.type)
        if labels_path is None:
            continue
        try:
            namespace = get(r.props, "metadata.namespace")
            spec = get(r.props, "spec")
            what = "GPUs" if requests_gpus(spec) else "TPU chips" if requests_tpus(spec) else None
            if namespace not in teams or what is None:
                continue
            labels = get(r.props, labels_path) or {}
            queue = get(labels, [QUEUE_LABEL])
        except UnknownValue:
            continue
        if not queue:
            yield Finding(f"{r.type.rsplit(':', 1)[-1]} in team namespace {namespace} asks for {what} without the {QUEUE_LABEL} label: it bypasses the team's queue.", resource=r)


def _gpu_pod_specs(r: Resource) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, pod spec) of every pod template of `r` that asks for GPUs. A canary's
    predictor inherits the stable predictor's priority class when it sets none (KServe
    v0.20.0 merges the stable predictor's spec into the canary's)."""
    if r.type == INFERENCE_SERVICE:
        spec = get(r.props, "spec") or {}
        for component in ISVC_COMPONENTS:
            body = spec.get(component)
            if isinstance(body, dict) and requests_gpus(body):
                yield f"spec.{component}", body
        stable = spec.get("predictor") if isinstance(spec.get("predictor"), dict) else {}
        for i, entry in enumerate(get(spec, "canary") or []):
            body = entry.get("predictor") if isinstance(entry, dict) else None
            if isinstance(body, dict) and requests_gpus(body):
                yield f"spec.canary[{i}].predictor", {"priorityClassName": stable.get("priorityClassName"), **body}
        return
    pod = get(r.props, list(POD_SPEC_PATHS[r.type]))
    if isinstance(pod, dict) and requests_gpus(pod):
        yield ".".join(POD_SPEC_PATHS[r.type]), pod


@stack_rule(
    id="workloads-gpu-pods-accounted",
    title="GPU pods outside Kueue run on the team's reserved GPUs",
    domain=DOMAIN,
    types=[K8S_NAMESPACE, *UNQUEUED_POD_KINDS, INFERENCE_SERVICE],
    description=(
        f"A Pod, Deployment, StatefulSet, ReplicaSet, DaemonSet or InferenceService that asks for GPUs in a team namespace "
        f"(label {SERVING_LABEL}: \"true\") uses one of the priority classes {', '.join(RESERVED_PRIORITY_CLASSES)}, so the "
        f"namespace's outside-queue ResourceQuota holds it to the GPUs the team reserves outside Kueue. Kueue queues only "
        f"Jobs, JobSets and TrainJobs here; a {QUEUE_LABEL} label on these kinds queues nothing."
    ),
    severity="medium",
    level="advisory",
    fix=f"Set priorityClassName to {RESERVED_PRIORITY_CLASSES[0]} (model servers) or {RESERVED_PRIORITY_CLASSES[1]} (notebooks) "
        "and select a pool where the team has reservedGpus, or run the work as a queued Job, JobSet or TrainJob.",
)
def workloads_gpu_pods_accounted(resources: Sequence[Resource], ctx: Context):
    teams = _team_namespaces(resources)
    for r in resources:
        if r.type not in UNQUEUED_POD_KINDS and r.type != INFERENCE_SERVICE:
            continue
        try:
            namespace = get(r.props, "metadata.namespace")
            if namespace not in teams:
                continue
            found = [(where, get(pod, "priorityClassName")) for where, pod in _gpu_pod_specs(r)]
        except UnknownValue:
            continue
        kind = r.type.rsplit(":", 1)[-1]
        for where, priority in found:
            if priority in RESERVED_PRIORITY_CLASSES:
                continue
            yield Finding(
                f"{kind} in team namespace {namespace} asks for GPUs at {where} with priority class {priority or 'none'}: "
                f"neither queued by Kueue nor on the team's reserved GPUs ({', '.join(RESERVED_PRIORITY_CLASSES)}), "
                "it takes GPUs Kueue counts as free.",
                resource=r,
            )


@stack_rule(
    id="workloads-pipeline-gpu-steps-queued",
    title="Pipeline steps get GPUs through a queued kind",
    domain=DOMAIN,
    types=[K8S_NAMESPACE, *WORKFLOW_SPECS],
    description=(
        f"An Argo Workflow, WorkflowTemplate or CronWorkflow in a team namespace (label {SERVING_LABEL}: \"true\") asks for "
        "GPUs only inside the objects its `resource` templates create (a queued TrainJob, JobSet or Job), never in a "
        "step's own pod (container, script, containerSet, sidecars): Kueue does not manage Workflows, and queues Argo's "
        "pods only through its pod integration, which is off here."
    ),
    severity="medium",
    level="advisory",
    fix=f"Make the GPU step a resource template that creates a TrainJob or a Job labelled {QUEUE_LABEL}: default "
        "(examples/pipelines/train-evaluate-deploy.yaml), and keep the step pods on CPU and memory.",
)
def workloads_pipeline_gpu_steps_queued(resources: Sequence[Resource], ctx: Context):
    teams = _team_namespaces(resources)
    for r in resources:
        path = WORKFLOW_SPECS.get(r.type)
        if path is None:
            continue
        try:
            namespace = get(r.props, "metadata.namespace")
            if namespace not in teams:
                continue
            templates = get(r.props, [*path, "templates"]) or []
        except UnknownValue:
            continue
        kind = r.type.rsplit(":", 1)[-1]
        for template in templates:
            # A resource template's manifest is text: what it creates is judged as its own kind.
            if isinstance(template, dict) and requests_gpus({k: v for k, v in template.items() if k != "resource"}):
                yield Finding(
                    f"{kind} in team namespace {namespace}: step template {template.get('name')!r} asks for GPUs in its own pod, "
                    "which no queue admits; create a queued TrainJob or Job from a resource template instead.",
                    resource=r,
                )


@resource_rule(
    id="workloads-inferenceservice-gpu-limits",
    title="InferenceServices set GPU limits",
    domain=DOMAIN,
    types=[INFERENCE_SERVICE],
    description="Every container of an InferenceService (predictor, canaries, transformer, explainer) that requests NVIDIA GPUs sets the same quantity as its limit.",
    severity="high",
    level="mandatory",
    fix="Set resources.limits[<GPU resource>] equal to the request (or give only the limit: Kubernetes copies it to the request).",
)
def workloads_inferenceservice_gpu_limits(r: Resource, ctx: Context):
    for path, key, value in _walk(get(r.props, "spec"), "spec"):
        if key != "resources" or not isinstance(value, dict):
            continue
        requests = value.get("requests") or {}
        limits = value.get("limits") or {}
        if not isinstance(requests, dict):
            continue
        for name, quantity in requests.items():
            if not GPU_RESOURCE.match(str(name)):
                continue
            limit = limits.get(name) if isinstance(limits, dict) else None
            if limit is None:
                yield f"{path} requests {quantity} {name} without a limit."
            elif str(limit) != str(quantity):
                yield f"{path} requests {quantity} {name} but limits it to {limit}."


def _release_images(values: Any, path: str = "values") -> Iterator[tuple[str, str]]:
    """(path, image) named by Helm values: `image: repo[:tag]` strings (with a sibling `tag`
    where the chart splits them, as KServe's does), and `image` mappings giving a
    repository (or name) and a tag."""
    if isinstance(values, list):
        for i, child in enumerate(values):
            yield from _release_images(child, f"{path}[{i}]")
        return
    if not isinstance(values, dict):
        return
    image = values.get("image")
    if isinstance(image, str):
        tag = values.get("tag")
        has_tag = ":" in image.rsplit("/", 1)[-1] or "@" in image
        yield f"{path}.image", image if has_tag or not tag else f"{image}:{tag}"
    elif isinstance(image, dict):
        repo = image.get("repository") or image.get("name")
        if isinstance(repo, str) and "tag" in image:
            tag = image.get("tag")
            yield f"{path}.image", f"{repo}:{tag}" if tag else repo
    for key, child in values.items():
        if key != "image":
            yield from _release_images(child, f"{path}.{key}")


@resource_rule(
    id="workloads-pinned-images",
    title="Workload-layer images are pinned",
    domain=DOMAIN,
    types=[*IMAGE_KINDS, HELM_RELEASE],
    description="Images in TrainJobs, JobSets, training and serving runtimes and InferenceServices, and the images the workload layer's Helm releases set, name a fixed tag or digest, never :latest.",
    severity="medium",
    level="mandatory",
    fix="Pin the image to a version tag or @sha256 digest (the platform's pins live in components/catalog/versions.py).",
)
def workloads_pinned_images(r: Resource, ctx: Context):
    if r.type == HELM_RELEASE:
        chart = str(get(r.props, "chart", ""))
        if chart.rsplit("/", 1)[-1] not in WORKLOAD_CHARTS:
            return
        found = _release_images(get(r.props, "values"))
    else:
        found = ((path, value) for path, key, value in _walk(get(r.props, "spec"), "spec") if key == "image" and isinstance(value, str))
    for path, image in found:
        problem = image_problem(image)
        if problem:
            yield f"{path} image {image} {problem}."
