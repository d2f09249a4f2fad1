"""Model serving: KServe in Standard mode (formerly RawDeployment: plain Deployments,
Services and HPAs, no Knative or Istio), with cert-manager for its webhook certificates.

Order (each waits for the one before): cert-manager (its CRDs in the release), kserve-crd,
kserve-resources (the controller; its Certificate and Issuer need cert-manager's CRDs),
kserve-runtime-configs (ClusterServingRuntimes, checked by the controller's webhook).
"""

from __future__ import annotations

from typing import Any, Optional

from ...config import ServingGateway
from ...handle import ClusterHandle
from .. import gateway
from ..common import READ_VERBS, WRITE_VERBS, system_placement
from .releases import image_parts, shared_claim

NAMESPACE = "kserve"
# Each team namespace's cache of model weights (ReadWriteMany on the shared class): filled once
# from the model store, mounted read-only by every replica through `storageUri: pvc://model-cache/...`
# (KServe v0.20.0 pkg/webhook/admission/pod/storage_initializer_injector.go mounts PVC URIs
# into the model container instead of downloading them; read-only unless the
# storage.kserve.io/readonly annotation says "false").
MODEL_CACHE_CLAIM = "model-cache"
CERT_MANAGER_NAMESPACE = "cert-manager"
KEDA_NAMESPACE = "keda"
# KEDA's external metrics API server (an aggregated APIService; its Service's targetPort 6443)
# and its admission webhooks (targetPort 9443): kedacore/charts v2.20.2 keda/templates, rendered.
KEDA_METRICS_API_PORT = 6443
KEDA_WEBHOOK_PORT = 9443
API_VERSION = "serving.kserve.io/v1beta1"
DEPLOYMENT_MODE = "Standard"
# The annotation an InferenceService carries to be reconciled (and validated) in Standard
# mode; KServe v0.20.0 accepts `spec.canary` only with it (inference_service_validation.go).
DEPLOYMENT_MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
# Ports the API server must reach: KServe's webhook server (files/kserve/resources.yaml,
# containerPort 9443) and cert-manager's webhook (values.yaml webhook.securePort 10250,
# chosen upstream because GKE's control plane may already reach it).
WEBHOOK_PORT = 9443
CERT_MANAGER_WEBHOOK_PORT = 10250
# System-pool requests. KServe: its chart's defaults for the manager and kube-rbac-proxy;
# cert-manager sets none, these are ours.
REQUESTS = {"manager": {"cpu": "100m", "memory": "300Mi"}, "kube-rbac-proxy": {"cpu": "100m", "memory": "300Mi"}}
CERT_MANAGER_REQUESTS = {
    "controller": {"cpu": "50m", "memory": "128Mi"},
    "webhook": {"cpu": "20m", "memory": "64Mi"},
    "cainjector": {"cpu": "20m", "memory": "128Mi"},
}
# What a team gets in its namespaces (aggregated into `ml-team`): the namespaced kinds of
# the kserve-crd chart at v0.20.0 (InferenceServices, InferenceGraphs and TrainedModels
# with a status subresource, ServingRuntimes without), to write as KServe's
# `kubeflow-kserve-edit` role grants (config/overlays/kubeflow/cluster-role.yaml; its
# LLMInferenceService and Knative kinds are not installed here). The Deployments,
# Services and HPAs an InferenceService makes are covered by the core role.
TEAM_RULES: list[dict[str, Any]] = [
    {"apiGroups": ["serving.kserve.io"], "resources": ["inferencegraphs", "inferenceservices", "servingruntimes", "trainedmodels"],
     "verbs": READ_VERBS + WRITE_VERBS},
    {"apiGroups": ["serving.kserve.io"], "resources": ["inferencegraphs/status", "inferenceservices/status", "trainedmodels/status"],
     "verbs": ["get"]},
]
# Cluster-wide, read only, for the teams' groups: the ClusterServingRuntimes the
# runtime-configs chart installs, from which KServe picks one by model format (what a team
# reads to see which formats and protocols are served, or to name one in `runtime`).
TEAM_CLUSTER_RULES: list[dict[str, Any]] = [
    {"apiGroups": ["serving.kserve.io"], "resources": ["clusterservingruntimes"], "verbs": READ_VERBS},
]


def cert_manager_values(handle: ClusterHandle, gateway_api: bool = False) -> dict[str, Any]:
    placement = system_placement(handle)
    # The chart's default nodeSelector keeps pods on Linux nodes; ours adds the system pool.
    linux = {"nodeSelector": {"kubernetes.io/os": "linux", **placement["nodeSelector"]}, "tolerations": placement["tolerations"]}

    def part(name: str) -> dict[str, Any]:
        return {"resources": {"requests": dict(CERT_MANAGER_REQUESTS[name])}, **linux}

    # With the serving gateway: HTTP-01 challenges answered through the Gateway API (the
    # ControllerConfiguration's enableGatewayAPI, deploy/charts/cert-manager/values.yaml `config`
    # @ v1.17.4; the ExperimentalGatewayAPISupport gate it needs is on by default since 1.15).
    config = {"config": {"apiVersion": "controller.config.cert-manager.io/v1alpha1", "kind": "ControllerConfiguration",
                         "enableGatewayAPI": True}} if gateway_api else {}
    return {
        **config,
        # CRDs as part of the release (cert-manager >= 1.15), kept if the release is removed.
        "crds": {"enabled": True, "keep": True},
        **part("controller"),
        "webhook": part("webhook"),
        "cainjector": part("cainjector"),
        "startupapicheck": linux,
    }


def kserve_values(handle: ClusterHandle, gateway_settings: Optional[ServingGateway] = None) -> dict[str, Any]:
    repository, tag = image_parts("kserve-controller")
    proxy_repository, proxy_tag = image_parts("kube-rbac-proxy")
    return {"kserve": {
        "version": tag,
        "controller": {
            "deploymentMode": DEPLOYMENT_MODE,
            "image": repository,
            "tag": tag,
            "imagePullPolicy": "IfNotPresent",
            "rbacProxyImage": f"{proxy_repository}:{proxy_tag}",
            "resources": {"requests": dict(REQUESTS["manager"]), "limits": {"cpu": "100m", "memory": "300Mi"}},
            "rbacProxy": {"resources": {"requests": dict(REQUESTS["kube-rbac-proxy"]), "limits": {"cpu": "100m", "memory": "300Mi"}}},
            # With the serving gateway: KServe makes an HTTPRoute per InferenceService on it
            # and reports https URLs under the stack's domain. Without: models are reached
            # through their Service inside the cluster.
            "gateway": gateway.kserve_ingress(gateway_settings) if gateway_settings is not None and gateway_settings.enabled
            else {"disableIngressCreation": True},
            **system_placement(handle),
        },
    }}


def runtime_values() -> dict[str, Any]:
    """Install the ClusterServingRuntimes (off in the chart by default); no LLM configs. The
    vLLM runtime off its floating tag (values.yaml servingruntime.vllmserver.tag: latest) and
    MLServer on the version KServe's manifests name; the others default to the chart's
    kserve.version (files/runtimes/clusterservingruntimes-patch.yaml)."""
    vllm_image, vllm_tag = image_parts("kserve-vllm")
    mlserver_image, mlserver_tag = image_parts("kserve-mlserver")
    return {"kserve": {
        "servingruntime": {
            "enabled": True,
            "vllmserver": {"image": vllm_image, "tag": vllm_tag},
            # MLServer (files/runtimes/clusterservingruntimes-patch.yaml: image:tag from these
            # values) for teams coming from Seldon Core: sklearn, xgboost, lightgbm, mlflow models
            # over the V2 protocol.
            "mlserver": {"image": mlserver_image, "tag": mlserver_tag},
        },
        "llmisvcConfigs": {"enabled": False},
    }}


def model_cache_claim(namespace: str, team: str, size: str, storage_class: str) -> dict[str, Any]:
    """PersistentVolumeClaim keyword arguments: the namespace's model cache."""
    return shared_claim(MODEL_CACHE_CLAIM, "model-cache", namespace, team, size, storage_class)


def keda_values(handle: ClusterHandle) -> dict[str, Any]:
    """kedacore/charts v2.20.2 keda/values.yaml: the top-level nodeSelector and tolerations
    apply to the operator, the metrics API server and the webhooks (the chart adds
    kubernetes.io/os: linux itself); CRDs in the release."""
    return {"crds": {"install": True}, **system_placement(handle)}
