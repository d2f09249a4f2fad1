"""Field-by-field checks of the workload layer's custom resources at the pinned versions.

No upstream CRD is stored in this repository: the tables below are our own record of the
fields each kind declares at the levels the platform and the examples write, read from
the CRDs at the pins (sources per table). Where a custom resource embeds a Kubernetes type
(a JobSet's Job templates, an InferenceService predictor's pod spec and container), that
part is validated strictly by kubernetes-validate against Kubernetes' own schema. A field
a table does not list is an error, as `kubectl apply --validate=strict` would report it.
"""

from __future__ import annotations

from typing import Any, Iterator

import kubernetes_validate

from tests.platform import gateway_crds
from tests.platform.workloads import capacity_crds

KUBERNETES_VERSION = "1.35"

# kubernetes-sigs/kueue config/components/crd/bases/kueue.x-k8s.io_{resourceflavors,
# clusterqueues,localqueues}.yaml @ v0.19.2 (v1beta2: served and the storage version).
KUEUE = "kueue.x-k8s.io/v1beta2"
# kubeflow/trainer manifests/base/crds/trainer.kubeflow.org_{trainjobs,
# clustertrainingruntimes}.yaml @ v2.3.0; the runtime's template is a JobSet spec
# (kubernetes-sigs/jobset api/jobset/v1alpha2/jobset_types.go @ v0.12.0).
TRAINER = "trainer.kubeflow.org/v1alpha1"
# kubernetes-sigs/jobset api/jobset/v1alpha2/jobset_types.go @ v0.12.0 (the JobSet the
# trainer's chart installs; examples/tpu submits one directly).
JOBSET = "jobset.x-k8s.io/v1alpha2"
# kserve/kserve charts/kserve-crd/templates/serving.kserve.io_inferenceservices.yaml @ v0.20.0
# (pkg/apis/serving/v1beta1/{inference_service,component,predictor}.go).
KSERVE = "serving.kserve.io/v1beta1"

# kserve/kserve charts/kserve-crd/templates/serving.kserve.io_clusterservingruntimes.yaml @ v0.20.0
# (v1alpha1, served and stored; pkg/apis/serving/v1alpha1/servingruntime_types.go): the spec is
# ServingRuntimeSpec, its containers, volumes, tolerations and affinity Kubernetes types.
KSERVE_RUNTIMES = "serving.kserve.io/v1alpha1"
SERVING_RUNTIME_POD = {"affinity", "annotations", "containers", "hostIPC", "imagePullSecrets", "labels", "nodeSelector",
                       "schedulerName", "tolerations", "volumes"}

# argoproj/argo-workflows pkg/apis/workflow/v1alpha1/workflow_types.go @ v4.0.6 (WorkflowSpec,
# Template, WorkflowStep, ResourceTemplate, Parameter, ValueFrom, Outputs, Artifact; a
# script template is a Container plus `source`, checked as a Kubernetes Container).
ARGO = "argoproj.io/v1alpha1"
# kubeflow/katib pkg/apis/controller/experiments/v1beta1/experiment_types.go and
# common/v1beta1/common_types.go @ v0.19.0; trialSpec is checked as the Kubernetes kind it names.
KATIB = "kubeflow.org/v1beta1"
_PARAMETER = {"default", "description", "enum", "globalName", "name", "value", "valueFrom"}
_VALUE_FROM = {"configMapKeyRef", "default", "event", "expression", "jqFilter", "jsonPath", "parameter", "path", "supplied"}
_ARTIFACT = {"archive", "artifactGC", "deleted", "from", "fromExpression", "globalName", "mode", "name", "optional", "path",
             "recurseMode", "subPath", "s3", "gcs", "azure", "http", "git", "hdfs", "raw", "oss", "artifactory", "plugin"}

# What the API serves at the pins: (group/version, kind) -> (served, storage).
SERVED = {
    (KUEUE, "ResourceFlavor"): (True, True),
    (KUEUE, "ClusterQueue"): (True, True),
    (KUEUE, "LocalQueue"): (True, True),
    (TRAINER, "TrainJob"): (True, True),
    (TRAINER, "ClusterTrainingRuntime"): (True, True),
    (KSERVE, "InferenceService"): (True, True),
    (KSERVE_RUNTIMES, "ClusterServingRuntime"): (True, True),
    (JOBSET, "JobSet"): (True, True),
    (ARGO, "Workflow"): (True, True),
    (KATIB, "Experiment"): (True, True),
}

TOLERATION = {"effect", "key", "operator", "tolerationSeconds", "value"}

# (group/version, kind) -> {path: fields declared there}. "[]" steps into list items.
FIELDS: dict[tuple[str, str], dict[str, set[str]]] = {
    (KUEUE, "ResourceFlavor"): {
        "spec": {"nodeLabels", "nodeTaints", "tolerations", "topologyName"},
        "spec.nodeTaints[]": {"effect", "key", "timeAdded", "value"},
        "spec.tolerations[]": TOLERATION,
    },
    (KUEUE, "ClusterQueue"): {
        "spec": {"admissionChecksStrategy", "admissionScope", "cohortName", "concurrentAdmissionPolicy", "fairSharing",
                 "flavorFungibility", "namespaceSelector", "preemption", "queueingStrategy", "resourceGroups", "stopPolicy"},
        "spec.fairSharing": {"weight"},
        "spec.namespaceSelector": {"matchExpressions", "matchLabels"},
        "spec.preemption": {"borrowWithinCohort", "reclaimWithinCohort", "withinClusterQueue"},
        "spec.resourceGroups[]": {"coveredResources", "flavors"},
        "spec.resourceGroups[].flavors[]": {"name", "resources"},
        "spec.resourceGroups[].flavors[].resources[]": {"borrowingLimit", "lendingLimit", "name", "nominalQuota"},
    },
    (KUEUE, "LocalQueue"): {
        "spec": {"clusterQueue", "fairSharing", "stopPolicy"},
    },
    (TRAINER, "TrainJob"): {
        "spec": {"activeDeadlineSeconds", "initializer", "managedBy", "runtimePatches", "runtimeRef", "suspend", "trainer"},
        "spec.runtimeRef": {"apiGroup", "kind", "name"},
        "spec.trainer": {"args", "command", "env", "image", "numNodes", "numProcPerNode", "resourcesPerNode"},
        "spec.trainer.env[]": {"name", "value", "valueFrom"},
        "spec.trainer.resourcesPerNode": {"claims", "limits", "requests"},
    },
    (TRAINER, "ClusterTrainingRuntime"): {
        "spec": {"mlPolicy", "podGroupPolicy", "template"},
        "spec.mlPolicy": {"flux", "jax", "mpi", "numNodes", "torch", "xgboost"},
        "spec.mlPolicy.mpi": {"mpiImplementation", "numProcPerNode", "runLauncherAsNode", "sshAuthMountPath"},
        "spec.mlPolicy.torch": {"envInjection"},
        "spec.template": {"metadata", "spec"},
        "spec.template.spec": {"coordinator", "failurePolicy", "managedBy", "network", "replicatedJobs", "startupPolicy",
                               "successPolicy", "suspend", "ttlSecondsAfterFinished", "volumeClaimPolicies"},
        "spec.template.spec.failurePolicy": {"maxRestarts", "restartStrategy", "rules"},
        "spec.template.spec.network": {"enableDNSHostnames", "publishNotReadyAddresses", "subdomain"},
        "spec.template.spec.replicatedJobs[]": {"dependsOn", "groupName", "name", "replicas", "template"},
        "spec.template.spec.replicatedJobs[].dependsOn[]": {"name", "status"},
        "spec.template.spec.successPolicy": {"operator", "targetReplicatedJobs"},
    },
    (JOBSET, "JobSet"): {
        "spec": {"coordinator", "failurePolicy", "managedBy", "network", "replicatedJobs", "startupPolicy",
                 "successPolicy", "suspend", "ttlSecondsAfterFinished", "volumeClaimPolicies"},
        "spec.failurePolicy": {"maxRestarts", "restartStrategy", "rules"},
        "spec.network": {"enableDNSHostnames", "publishNotReadyAddresses", "subdomain"},
        "spec.replicatedJobs[]": {"dependsOn", "groupName", "name", "replicas", "template"},
    },
    (KSERVE, "InferenceService"): {
        "spec": {"canary", "explainer", "predictor", "transformer"},
        "spec.canary[]": {"predictor", "trafficPercent"},
        "spec.predictor.model.modelFormat": {"name", "version"},
        "spec.canary[].predictor.model.modelFormat": {"name", "version"},
        # LoggerSpec and LoggerStorageSpec (inference_service.go @ v0.20.0); storage.parameters
        # is a free string map.
        "spec.predictor.logger": {"batchInterval", "batchSize", "marshallerUrl", "metadataAnnotations", "metadataHeaders",
                                  "mode", "storage", "url"},
        "spec.predictor.logger.storage": {"key", "parameters", "path", "serviceAccountName"},
    },
}

FIELDS[(KSERVE_RUNTIMES, "ClusterServingRuntime")] = {
    "spec": SERVING_RUNTIME_POD | {"builtInAdapter", "disabled", "grpcDataEndpoint", "grpcEndpoint", "httpDataEndpoint",
                                   "multiModel", "protocolVersions", "replicas", "storageHelper", "supportedModelFormats",
                                   "workerSpec"},
    "spec.supportedModelFormats[]": {"autoSelect", "name", "priority", "version"},
}
FIELDS[(ARGO, "Workflow")] = {
    "spec": {"activeDeadlineSeconds", "affinity", "archiveLogs", "arguments", "artifactGC", "artifactRepositoryRef",
             "automountServiceAccountToken", "dnsConfig", "dnsPolicy", "entrypoint", "executor", "hooks", "hostAliases",
             "hostNetwork", "imagePullSecrets", "metrics", "nodeSelector", "onExit", "parallelism", "podDisruptionBudget",
             "podGC", "podMetadata", "podPriorityClassName", "podSpecPatch", "priority", "retryStrategy", "schedulerName",
             "securityContext", "serviceAccountName", "shutdown", "suspend", "synchronization", "templateDefaults",
             "templates", "tolerations", "ttlStrategy", "volumeClaimGC", "volumeClaimTemplates", "volumes",
             "workflowMetadata", "workflowTemplateRef"},
    "spec.arguments": {"artifacts", "parameters"},
    "spec.arguments.parameters[]": _PARAMETER,
    "spec.arguments.parameters[].valueFrom": _VALUE_FROM,
    "spec.templates[]": {"activeDeadlineSeconds", "affinity", "annotations", "archiveLocation", "automountServiceAccountToken",
                         "container", "containerSet", "daemon", "dag", "data", "executor", "failFast", "hostAliases", "http",
                         "initContainers", "inputs", "memoize", "metadata", "metrics", "name", "nodeSelector", "outputs",
                         "parallelism", "plugin", "podSpecPatch", "priorityClassName", "resource", "retryStrategy",
                         "schedulerName", "script", "securityContext", "serviceAccountName", "sidecars", "steps", "suspend",
                         "synchronization", "timeout", "tolerations", "volumes"},
    "spec.templates[].steps[][]": {"arguments", "continueOn", "hooks", "inline", "name", "onExit", "template", "templateRef",
                                   "when", "withItems", "withParam", "withSequence"},
    "spec.templates[].resource": {"action", "failureCondition", "flags", "manifest", "manifestFrom", "mergeStrategy",
                                  "setOwnerReference", "successCondition"},
    "spec.templates[].inputs": {"artifacts", "parameters"},
    "spec.templates[].inputs.parameters[]": _PARAMETER,
    "spec.templates[].outputs": {"artifacts", "exitCode", "parameters", "result"},
    "spec.templates[].outputs.parameters[]": _PARAMETER,
    "spec.templates[].outputs.parameters[].valueFrom": _VALUE_FROM,
    "spec.templates[].outputs.artifacts[]": _ARTIFACT,
    "spec.templates[].outputs.artifacts[].archive": {"none", "tar", "zip"},
}
FIELDS[(KATIB, "Experiment")] = {
    "spec": {"algorithm", "earlyStopping", "maxFailedTrialCount", "maxTrialCount", "metricsCollectorSpec", "nasConfig",
             "objective", "parallelTrialCount", "parameters", "resumePolicy", "trialTemplate"},
    "spec.objective": {"additionalMetricNames", "goal", "metricStrategies", "objectiveMetricName", "type"},
    "spec.algorithm": {"algorithmName", "algorithmSettings"},
    "spec.earlyStopping": {"algorithmName", "algorithmSettings"},
    "spec.earlyStopping.algorithmSettings[]": {"name", "value"},
    "spec.parameters[]": {"feasibleSpace", "name", "parameterType"},
    "spec.parameters[].feasibleSpace": {"distribution", "list", "max", "min", "step"},
    "spec.trialTemplate": {"configMap", "failureCondition", "primaryContainerName", "primaryPodLabels", "retain",
                           "successCondition", "trialParameters", "trialSpec"},
    "spec.trialTemplate.trialParameters[]": {"description", "name", "reference"},
}

# Required fields the platform must never leave out (the CRDs' `required` lists).
REQUIRED: dict[tuple[str, str], dict[str, set[str]]] = {
    (TRAINER, "TrainJob"): {"spec": {"runtimeRef"}, "spec.runtimeRef": {"name"}},
    (KSERVE, "InferenceService"): {"spec": {"predictor"}, "spec.canary[]": {"predictor", "trafficPercent"}},
    (JOBSET, "JobSet"): {"spec.replicatedJobs[]": {"name", "template"}},
    (KSERVE_RUNTIMES, "ClusterServingRuntime"): {"spec": {"containers"}, "spec.supportedModelFormats[]": {"name"}},
}

# InferenceService predictor = a PodSpec + KServe's component extension + one predictor
# implementation; its `model` = a Container + the model's own fields (component.go,
# predictor.go, predictor_model.go @ v0.20.0). The rest is checked as Kubernetes types.
PREDICTOR_EXTENSION = {
    "annotations", "autoScaling", "batcher", "canaryTrafficPercent", "containerConcurrency", "deploymentStrategy",
    "huggingface", "labels", "lightgbm", "logger", "maxReplicas", "minReplicas", "model", "onnx", "paddle", "pmml",
    "name", "pytorch", "scaleMetric", "scaleMetricType", "scaleTarget", "sklearn", "storageContainerName", "storageUris",
    "tensorflow", "timeout", "triton", "workerSpec", "xgboost",
}
# PodSpec fields the predictor does not take.
PREDICTOR_OMITS = {"ephemeralContainers", "workloadRef"}
MODEL_EXTENSION = {"confidential", "modelFormat", "protocolVersion", "runtime", "runtimeVersion", "storage", "storageUri"}


# The serving gateway's kinds (Gateway API, Envoy Gateway, cert-manager): their own record.
FIELDS.update(gateway_crds.FIELDS)
REQUIRED.update(gateway_crds.REQUIRED)
ENUMS = {**gateway_crds.ENUMS, (KSERVE, "InferenceService"): {"spec.predictor.logger.mode": {"all", "request", "response"}}}
# The custom resources that obtain GPU capacity (GKE ComputeClass, Kueue's provisioning
# admission check): their tables live in capacity_crds.py.
SERVED.update(capacity_crds.SERVED)
FIELDS.update(capacity_crds.FIELDS)
FIELDS[(KUEUE, "ClusterQueue")].update(capacity_crds.CLUSTER_QUEUE_FIELDS)
REQUIRED.update(capacity_crds.REQUIRED)


def known(api_version: str, kind: str) -> bool:
    """Whether this is a workload-layer custom resource the tables describe."""
    return (api_version, kind) in FIELDS


def _at(obj: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Every value at `path` (with "[]" steps into list items), with its concrete path."""
    found: list[tuple[str, Any]] = [("", obj)]
    for step in path.split("."):
        key, lists = step.rstrip("[]"), step.count("[]")
        nxt = []
        for where, value in found:
            if not isinstance(value, dict) or key not in value:
                continue
            items = [(f"{where}.{key}" if where else key, value[key])]
            for _ in range(lists):
                items = [(f"{w}[{i}]", v) for w, vs in items if isinstance(vs, list) for i, v in enumerate(vs)]
            nxt += items
        found = nxt
    return iter(found)


def _kubernetes(kind: str, api_version: str, body: dict[str, Any], where: str) -> list[str]:
    doc = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "check"}, **body}
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as err:
        inner = ".".join(str(p) for p in err.path)
        return [f"{where}: {err.message} at {inner}"]
    return []


def _embedded(key: tuple[str, str], obj: dict[str, Any]) -> list[str]:
    """The Kubernetes types a custom resource embeds, strictly against Kubernetes' schema."""
    out: list[str] = []
    if key == (TRAINER, "ClusterTrainingRuntime"):
        for where, template in _at(obj, "spec.template.spec.replicatedJobs[].template"):
            out += _kubernetes("Job", "batch/v1", {"spec": template.get("spec", {})}, where)
    if key == (JOBSET, "JobSet"):
        for where, template in _at(obj, "spec.replicatedJobs[].template"):
            out += _kubernetes("Job", "batch/v1", {"spec": template.get("spec", {})}, where)
    if key == (ARGO, "Workflow"):
        for where, script in _at(obj, "spec.templates[].script"):
            container = {"name": "main", **{k: v for k, v in script.items() if k != "source"}}
            out += _kubernetes("Pod", "v1", {"spec": {"containers": [container], "volumes": obj["spec"].get("volumes", [])}}, where)
    if key == (KATIB, "Experiment"):
        for where, trial in _at(obj, "spec.trialTemplate.trialSpec"):
            out += _kubernetes(trial["kind"], trial["apiVersion"], {k: v for k, v in trial.items() if k not in ("apiVersion", "kind")}, where)
    if key == (KSERVE_RUNTIMES, "ClusterServingRuntime"):
        for where, spec in _at(obj, "spec"):
            pod = {k: v for k, v in spec.items() if k in SERVING_RUNTIME_POD - {"annotations", "labels"}}
            out += _kubernetes("Pod", "v1", {"spec": pod}, where)
    if key == (KSERVE, "InferenceService"):
        for path in ("spec.predictor", "spec.canary[].predictor"):
            for where, predictor in _at(obj, path):
                out += [f"{where}: unknown field {name!r}" for name in sorted(PREDICTOR_OMITS & set(predictor))]
                pod = {k: v for k, v in predictor.items() if k not in PREDICTOR_EXTENSION}
                model = predictor.get("model")
                if isinstance(model, dict):
                    container = {"name": "kserve-container", **{k: v for k, v in model.items() if k not in MODEL_EXTENSION}}
                    pod = {**pod, "containers": [*pod.get("containers", []), container]}
                pod.setdefault("containers", [{"name": "kserve-container", "image": "placeholder"}])
                out += _kubernetes("Pod", "v1", {"spec": pod}, where)
    return out


def errors(obj: dict[str, Any]) -> list[str]:
    """Every problem of `obj` as `path: message`: fields the kind does not declare, required
    fields left out, and errors in the Kubernetes types it embeds."""
    key = (obj["apiVersion"], obj["kind"])
    found: list[str] = []
    for path, allowed in FIELDS[key].items():
        for where, value in _at(obj, path):
            if not isinstance(value, dict):
                found.append(f"{where}: expected an object")
                continue
            found += [f"{where}: unknown field {name!r}" for name in sorted(set(value) - allowed)]
    for path, required in REQUIRED.get(key, {}).items():
        for where, value in _at(obj, path):
            found += [f"{where}: required field {name!r} is missing" for name in sorted(required - set(value))]
    for path, allowed_values in ENUMS.get(key, {}).items():
        for where, value in _at(obj, path):
            if value not in allowed_values:
                found.append(f"{where}: {value!r} is not one of {sorted(map(str, allowed_values))}")
    return sorted(found + _embedded(key, obj))
