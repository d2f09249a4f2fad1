"""GKE Binary Authorization on the plan: the project policy admits every image the program
runs, from the catalog's pins, and nothing else; prod clusters enforce it.

Upstream facts (pulumi-gcp 10.2.0: container ClusterBinaryAuthorization.evaluation_mode takes
`DISABLED` or `PROJECT_SINGLETON_POLICY_ENFORCE`; binaryauthorization.Policy
`name_pattern` "supports a trailing * as a wildcard"; the Binary Authorization API reference
adds that `*` does not match `/` and a trailing `**` matches subdirectories).
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from components.catalog import versions
from components.clouds.gcp.admission import CLUSTER_EVALUATION_MODE, matches, pinned_images, repository
from tests.conftest import inputs, plan_for_stack
from tests.platform import harness

POLICY = "gcp:binaryauthorization/policy:Policy"
CLUSTER = "gcp:container/cluster:Cluster"
WORKLOADS = {"workloads": {part: {"enabled": True} for part in ("queueing", "training", "serving", "notebooks", "pipelines", "tuning")}}


@pytest.fixture(scope="module")
def prod():
    return plan_for_stack("prod-gcp")


@pytest.fixture(scope="module")
def patterns(prod) -> list[str]:
    return [p["namePattern"] for p in inputs(prod.one(POLICY))["admissionWhitelistPatterns"]]


def _image_value(value: Any) -> Iterator[str]:
    """`repo:tag`, or `{registry?, repository | name, tag?}` (kube-prometheus-stack and Kueue
    take `repository`, JupyterHub `name`)."""
    if isinstance(value, str) and value:
        yield value
    elif isinstance(value, dict):
        name = value.get("repository") if isinstance(value.get("repository"), str) else value.get("name")
        if isinstance(name, str) and name:
            registry = value.get("registry")
            yield f"{registry}/{name}" if isinstance(registry, str) and registry else name


def images_in(value: Any) -> Iterator[str]:
    """Images named anywhere in an object: a pod spec's containers and initContainers, and in
    Helm release values any `image` key (or `...Image`, e.g. KServe's `rbacProxyImage`) and any
    mapping with a `repository` (and `registry`) key."""
    if isinstance(value, dict):
        if isinstance(value.get("repository"), str) and value["repository"]:
            yield from _image_value(value)
        for key, child in value.items():
            if key in ("containers", "initContainers", "ephemeralContainers") and isinstance(child, list):
                for container in child:
                    if isinstance(container, dict) and isinstance(container.get("image"), str):
                        yield container["image"]
            if key == "image" or key.endswith("Image"):
                if not (isinstance(child, dict) and isinstance(child.get("repository"), str)):  # the walk below finds those
                    yield from _image_value(child)
            yield from images_in(child)
    elif isinstance(value, list):
        for child in value:
            yield from images_in(child)


def rendered_images(plan) -> set[str]:
    return {i for r in plan.resources if r.type.startswith("kubernetes:") for i in images_in(inputs(r))}


def test_prod_clusters_enforce_the_project_policy_and_staging_does_not():
    for stack in ("prod-gcp", "prod-gcp-dr"):
        assert inputs(plan_for_stack(stack).one(CLUSTER))["binaryAuthorization"] == {"evaluationMode": CLUSTER_EVALUATION_MODE}
    assert "binaryAuthorization" not in inputs(plan_for_stack("staging-gcp").one(CLUSTER))


def test_one_policy_per_project_owned_by_the_primary(prod):
    policy = inputs(prod.one(POLICY))
    assert policy["project"] == "ml-platform-prod"
    # Everything not admitted is refused, and logged; GKE's own system images pass Google's global policy.
    assert policy["defaultAdmissionRule"] == {"evaluationMode": "ALWAYS_DENY", "enforcementMode": "ENFORCED_BLOCK_AND_AUDIT_LOG"}
    assert policy["globalPolicyEvaluationMode"] == "ENABLE"
    # The standby shares the project: it enforces the primary's policy and creates none.
    assert plan_for_stack("prod-gcp-dr").by_type(POLICY) == []


def test_the_stacks_own_registry_is_admitted(prod, patterns):
    repo = inputs(prod.one("gcp:artifactregistry/repository:Repository"))
    own = f"{repo['location']}-docker.pkg.dev/{repo['project']}/{repo['repositoryId']}"
    assert matches(next(p for p in patterns if p.startswith(own)), f"{own}/team-a/trainer:1.0")
    assert not any(matches(p, f"{repo['location']}-docker.pkg.dev/another-project/x/y:1") for p in patterns)


def test_every_pinned_image_is_admitted(patterns):
    unadmitted = [i for i in pinned_images() if not any(matches(p, i) for p in patterns)]
    assert unadmitted == []
    assert set(versions.IMAGES.values()) <= set(pinned_images())


def test_every_image_the_plans_render_is_admitted(prod, patterns):
    """Every container image in the prod plans and in a GKE platform with the whole workload
    layer on. An image from a registry the catalog does not pin fails here."""
    gke = harness.run_platform(harness.gke_shape([harness.pool("l4", "g2-standard-8")]), WORKLOADS,
                               harness.namespaces({"name": "team-a", "team": "a", "group": "team-a", "gpus": 2})).plan
    images = rendered_images(prod) | rendered_images(plan_for_stack("prod-gcp-dr")) | rendered_images(gke)
    assert len(images) >= 5, images  # the walk finds the images
    refused = sorted(i for i in images if not any(matches(p, i) for p in patterns))
    assert refused == []


# What each pinned chart renders with the values this program passes: `helm template` of the
# chart source at its tag (the release values dumped from the prod-gcp plan and a GKE platform
# with the whole workload layer on), images read off containers, initContainers, controller
# arguments (the config reloader, the ACME solver) and KServe's inferenceservice-config.
# Sources: prometheus-community/helm-charts kube-prometheus-stack-88.5.3 (+ kube-state-metrics-8.4.0,
# prometheus-node-exporter-4.56.1, grafana-community/helm-charts grafana-12.11.1);
# vmware-tanzu/helm-charts velero-12.1.0; kubernetes-sigs/node-feature-discovery v0.18.3;
# cert-manager/cert-manager v1.17.4; kserve/kserve v0.20.0; jupyterhub/zero-to-jupyterhub-k8s
# 4.4.0; kubernetes-sigs/kueue v0.19.2 charts/kueue; kubeflow/trainer v2.3.0
# charts/kubeflow-trainer with kubernetes-sigs/jobset v0.12.0 charts/jobset as its sub-chart
# (kubernetes-sigs/lws v0.8.0 charts/lws placed beside it, switched off); argoproj/argo-helm
# argo-workflows-1.0.18 charts/argo-workflows (the executor image is the controller's
# --executor-image argument); envoyproxy/gateway v1.9.0 charts/gateway-helm and
# charts/gateway-crds-helm; kedacore/charts v2.20.2 keda. A chart bump fails the version check below: render it again and update both this
# record and the catalog's CHART_IMAGE_REPOSITORIES.
RENDERED: dict[str, tuple[str, tuple[str, ...]]] = {
    "kube-prometheus-stack": ("88.5.3", (
        "quay.io/prometheus/prometheus:v3.14.0-distroless",
        "quay.io/prometheus/alertmanager:v0.34.0",
        "quay.io/prometheus/node-exporter:v1.12.1-distroless",
        "quay.io/prometheus-operator/prometheus-operator:v0.93.1",
        "quay.io/prometheus-operator/prometheus-config-reloader:v0.93.1",
        "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.20.0",
        "ghcr.io/jkroepke/kube-webhook-certgen:1.8.7",
        "docker.io/grafana/grafana:13.2.0",
        "quay.io/kiwigrid/k8s-sidecar:2.10.1",
    )),
    "velero": ("12.1.0", ("docker.io/velero/velero:v1.18.1", "velero/velero-plugin-for-gcp:v1.14.2")),
    "node-feature-discovery": ("0.18.3", ("registry.k8s.io/nfd/node-feature-discovery:v0.18.3",)),
    "cert-manager": ("v1.17.4", tuple(f"quay.io/jetstack/cert-manager-{part}:v1.17.4" for part in
                                      ("controller", "webhook", "cainjector", "startupapicheck", "acmesolver"))),
    "kserve-resources": ("v0.20.0", (
        "kserve/kserve-controller:v0.20.0",
        "quay.io/brancz/kube-rbac-proxy:v0.18.0",
        "kserve/storage-initializer:v0.20.0",
        "kserve/agent:v0.20.0",
        "kserve/router:v0.20.0",
        "kserve/art-explainer:v0.20.0",
    )),
    "kserve-runtime-configs": ("v0.20.0", (
        *(f"kserve/{server}:v0.20.0" for server in ("autogluonserver", "huggingfaceserver", "lgbserver", "paddleserver",
                                                   "pmmlserver", "predictiveserver", "sklearnserver", "xgbserver")),
        "kserve/huggingfaceserver:v0.20.0-gpu",
        "docker.io/seldonio/mlserver:1.7.1",
        "tensorflow/serving:2.6.2",
        "pytorch/torchserve-kfs:0.9.0",
        "nvcr.io/nvidia/tritonserver:23.05-py3",
        "vllm/vllm-openai:v0.24.0",
    )),
    "jupyterhub": ("4.4.0", (
        "quay.io/jupyterhub/k8s-hub:4.4.0",
        "quay.io/jupyterhub/configurable-http-proxy:5.2.0",
        "quay.io/jupyter/scipy-notebook:2026-08-24",
    )),
    "kueue": ("0.19.2", ("registry.k8s.io/kueue/kueue:v0.19.2",)),
    # envoyproxy/gateway v1.9.0 charts/gateway-helm (values.yaml made from values.tmpl.yaml as
    # tools/make/helm.mk does, GatewayImage docker.io/envoyproxy/gateway:v1.9.0): the controller,
    # its certgen Job and the proxies' shutdown manager; the proxies' Envoy is the controller's
    # built-in default (api/v1alpha1/shared_types.go DefaultEnvoyProxyImage). The rate-limit
    # image in its config runs only with a global rate limit, which nothing configures.
    "gateway-helm": ("v1.9.0", ("docker.io/envoyproxy/gateway:v1.9.0", "docker.io/envoyproxy/envoy:distroless-v1.39.0")),
    "gateway-crds-helm": ("v1.9.0", ()),
    # kedacore/charts v2.20.2 keda, rendered with the platform's values: the operator, the metrics
    # API server and the admission webhooks (no other image in its templates).
    "keda": ("2.20.2", ("ghcr.io/kedacore/keda:2.20.2", "ghcr.io/kedacore/keda-metrics-apiserver:2.20.2",
                        "ghcr.io/kedacore/keda-admission-webhooks:2.20.2")),
    "kubeflow-trainer": ("2.3.0", (
        "ghcr.io/kubeflow/trainer/trainer-controller-manager:v2.3.0",
        "registry.k8s.io/jobset/jobset:v0.12.0",
    )),
    "argo-workflows": ("1.0.18", (
        "quay.io/argoproj/workflow-controller:v4.0.6",
        "quay.io/argoproj/argocli:v4.0.6",
        "quay.io/argoproj/argoexec:v4.0.6",
    )),
}


def test_the_chart_record_is_of_the_pinned_versions():
    assert {chart: version for chart, (version, _) in RENDERED.items()} == {chart: versions.CHARTS[chart].version for chart in RENDERED}
    # Every chart with its own image list has a record to check the list against.
    assert set(versions.CHART_IMAGE_REPOSITORIES) <= set(RENDERED)


@pytest.mark.parametrize("chart", sorted(RENDERED))
def test_every_image_the_pinned_charts_render_is_admitted(patterns, chart):
    _, images = RENDERED[chart]
    assert sorted(i for i in images if not any(matches(p, i) for p in patterns)) == []


@pytest.mark.parametrize("chart", sorted(RENDERED))
def test_the_catalog_lists_exactly_the_charts_own_images(chart):
    """CHART_IMAGE_REPOSITORIES holds each chart's rendered repositories that IMAGES does not
    already pin: none missing (a directory another entry happens to admit still counts) and none
    the chart does not run."""
    _, images = RENDERED[chart]
    ours = {repository(i) for i in versions.IMAGES.values()}
    expected = sorted({repository(i) for i in images} - ours)
    assert sorted(versions.CHART_IMAGE_REPOSITORIES.get(chart, ())) == expected
    # Spelled as Binary Authorization sees them: registry host included.
    assert all(repository(r) == r for r in versions.CHART_IMAGE_REPOSITORIES.get(chart, ()))


def test_the_policy_refuses_what_the_catalog_does_not_pin(patterns):
    for image in ("docker.io/library/busybox:1.36", "busybox", "docker.io/someone/velero:1", "ghcr.io/kubeflow/other/x:1",
                  "registry.k8s.io/pause-but-not/x:1", "registry.k8s.io/etcd:3.5"):
        assert not any(matches(p, image) for p in patterns), image
    assert repository("velero/velero:v1.18.1") == "docker.io/velero/velero"
