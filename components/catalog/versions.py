"""Every pinned chart and image version, and the supported Kubernetes versions. One place."""

# Kubernetes minor versions the program supports on every cloud (1.34: DRA is GA).
KUBERNETES_VERSIONS: tuple[str, ...] = ("1.34", "1.35")
DEFAULT_KUBERNETES_VERSION = "1.35"

# Container images the program renders itself.
# NVIDIA's images are pinned by tag and digest. Each tag@digest pair is the one NVIDIA's GPU
# operator v26.7.0 pins in its OLM bundle (NVIDIA/gpu-operator v26.7.0
# bundle/manifests/gpu-operator-certified.clusterserviceversion.yaml, spec.relatedImages), the
# release whose deployments/gpu-operator/values.yaml ships these same tags. The device plugin's
# a61ba9fd... is also the multi-arch index nvcr.io serves for v0.20.0.
DEVICE_PLUGIN_IMAGE = "nvcr.io/nvidia/k8s-device-plugin:v0.20.0@sha256:a61ba9fd8efb82f3a79f877f7580e02c1e8e7593f62473644bc9c79e315c3312"
IMAGES: dict[str, str] = {
    "nvidia-device-plugin": DEVICE_PLUGIN_IMAGE,
    # GPU Feature Discovery ships in the device plugin image since v0.15.
    "gpu-feature-discovery": DEVICE_PLUGIN_IMAGE,
    # DCGM 4.6.0 with exporter 4.8.3, the distroless build the GPU operator runs: the same
    # dcgm-exporter binary, /etc/dcgm-exporter and entrypoint (it passes our args through) as
    # the Ubuntu build, user root (NVIDIA/dcgm-exporter docker/Dockerfile, runtime-distroless).
    "dcgm-exporter": "nvcr.io/nvidia/k8s/dcgm-exporter:4.6.0-4.8.3-distroless@sha256:613ab03c11d442fd960ff515f547e9921537454a712d08160bc8f677f89f1c35",
    # NVIDIA mig-manager (NVIDIA/mig-parted v0.15.0), for MIG pools nobody else partitions.
    "nvidia-mig-manager": "nvcr.io/nvidia/cloud-native/k8s-mig-manager:v0.15.0@sha256:cab2cf9deafc9602da69d0832a82958a7687f22f4a2f19674099dc9a5c4ea8e2",
    # Velero's object-store plugins, v1.14.x pairs with Velero 1.18 (the velero chart 12.1.0's app).
    "velero-plugin-for-aws": "velero/velero-plugin-for-aws:v1.14.2",
    "velero-plugin-for-gcp": "velero/velero-plugin-for-gcp:v1.14.2",
    "velero-plugin-for-microsoft-azure": "velero/velero-plugin-for-microsoft-azure:v1.14.2",
    # --- ML workload layer (components/platform/workloads/). Controllers by tag, the release
    # the pinned chart ships; runtime images by tag and digest where a public file records one.
    # Kueue's chart source names a staging image; its release script swaps in this one.
    "kueue": "registry.k8s.io/kueue/kueue:v0.19.2",
    "jobset": "registry.k8s.io/jobset/jobset:v0.12.0",
    "trainer-controller-manager": "ghcr.io/kubeflow/trainer/trainer-controller-manager:v2.3.0",
    # The images of the two ClusterTrainingRuntimes the platform installs: PyTorch as in the
    # trainer's torch-distributed runtime, and the trainer's OpenMPI + sshd image for MPI.
    # Digest: the one momonong/selfhost-models docker/transformers.Dockerfile@29bec68 builds FROM
    # (several unrelated public repositories record the same tag@digest pair).
    "torch-runtime": "pytorch/pytorch:2.13.0-cuda13.0-cudnn9-runtime@sha256:db80a41f8428644cebcb3d75b0b62df334ab6c0e75785951eb25f48bfbd42407",
    # Tag only: no public file records a digest for it (TAG_ONLY_IMAGES).
    "mpi-runtime": "ghcr.io/kubeflow/trainer/deepspeed-runtime:v2.3.0",
    "kserve-controller": "kserve/kserve-controller:v0.20.0",
    "kube-rbac-proxy": "quay.io/brancz/kube-rbac-proxy:v0.18.0",
    # KServe's vLLM ClusterServingRuntime: the chart's values.yaml @ v0.20.0 names
    # `vllm/vllm-openai:latest`; pinned to the vLLM that KServe v0.20.0 is built against
    # (python/kserve/pyproject.toml: vllm==0.24.0). Tag only (TAG_ONLY_IMAGES).
    "kserve-vllm": "vllm/vllm-openai:v0.24.0",
    # KServe's MLServer ClusterServingRuntime (Seldon's Apache-2.0 inference server): the chart's
    # values.yaml @ v0.20.0 names tag 1.5.0, KServe's own runtime manifests at the same tag
    # (hack/setup/quick-install/*-with-manifests.sh, built from config/runtimes) name 1.7.1;
    # pinned to the latter. Tag only (TAG_ONLY_IMAGES).
    "kserve-mlserver": "docker.io/seldonio/mlserver:1.7.1",
    # docker-stacks' CUDA build of pytorch-notebook, dated tag (jupyter/docker-stacks wiki 2026-08).
    # Tag only (TAG_ONLY_IMAGES).
    "notebook-gpu": "quay.io/jupyter/pytorch-notebook:cuda12-2026-08-24",
    "notebook-cpu": "quay.io/jupyter/scipy-notebook:2026-08-24",
    # kured (kubereboot/kured 1.23.0; chart kubereboot/charts kured-6.1.0 appVersion 1.23.0), the
    # GPU repair agent (components/platform/health.py). Tag only: neither repository's files
    # at those tags record the image's digest (the chart defaults the tag to appVersion).
    "kured": "ghcr.io/kubereboot/kured:1.23.0",
    # The metadata databases of pipelines (Argo Workflows' archive) and tuning (Katib): the
    # PostgreSQL 16 image and digest Argo Workflows' own postgres component runs
    # (argoproj/argo-workflows v4.0.6 manifests/components/postgres/postgres-deployment.yaml);
    # the tag names its major. Katib's postgres backend (lib/pq) speaks to it as well.
    "postgres": "quay.io/fedora/postgresql-16:16@sha256:06d566b4be3ba0542690382c2586c5e7e033005cc09a689a5c1f5c1fe7c6cc96",
    # Katib v0.19.0 (kubeflow/katib manifests/v1beta1/installs/katib-standalone-postgres,
    # kustomization.yaml images and katib-config.yaml): the controller and database manager
    # run on the system pool; the metrics collector, the median-stop service and the
    # hyperopt suggestion service run in the team namespaces (runtime images, tag only).
    "katib-controller": "ghcr.io/kubeflow/katib/katib-controller:v0.19.0",
    "katib-db-manager": "ghcr.io/kubeflow/katib/katib-db-manager:v0.19.0",
    "katib-metrics-collector": "ghcr.io/kubeflow/katib/file-metrics-collector:v0.19.0",
    "katib-medianstop": "ghcr.io/kubeflow/katib/earlystopping-medianstop:v0.19.0",
    "katib-hyperopt": "ghcr.io/kubeflow/katib/suggestion-hyperopt:v0.19.0",
    # The tensorflow-distributed ClusterTrainingRuntime (ours: Trainer v2.3.0 ships no
    # TensorFlow runtime). Tag only (TAG_ONLY_IMAGES).
    "tensorflow-runtime": "tensorflow/tensorflow:2.20.0-gpu",
}

# nccl-tests images per fabric kind, for the NCCL acceptance job (each carries NCCL with the
# fabric's net plugin, OpenMPI and sshd). EFA: AWS's public ECR gallery image hpc-cloud/nccl-tests,
# whose tag names its parts (CUDA 13.0.2, EFA installer 1.48.0, aws-ofi-nccl 1.19.0, NCCL 2.30.4,
# nccl-tests 2.18.3). Tag only (TAG_ONLY_IMAGES).
NCCL_TESTS_IMAGES: dict[str, str] = {
    "efa": "public.ecr.aws/hpc-cloud/nccl-tests:cuda13.0.2-efa1.48.0-ofiv1.19.0-ncclv2.30.4-1-testsv2.18.3",
    # GKE: the plugin images carry NCCL, the plugin and nccl-tests (/third_party/...), as the
    # upstream NCCL tests run them (GoogleCloudPlatform/container-engine-accelerators @ 992db812
    # gpudirect-tcpx/nccl-test-latest.yaml, gpudirect-tcpxo/nccl-test-latest.yaml,
    # gpudirect-rdma/nccl-test.yaml: the gIB diagnostic image). Tag only (TAG_ONLY_IMAGES).
    "tcpx": "us-docker.pkg.dev/gce-ai-infra/gpudirect-tcpx/nccl-plugin-gpudirecttcpx-dev:v3.1.9",
    "tcpxo": "us-docker.pkg.dev/gce-ai-infra/gpudirect-tcpxo/nccl-plugin-gpudirecttcpx-dev:v1.0.15",
    "rdma": "us-docker.pkg.dev/gce-ai-infra/gpudirect-gib/nccl-plugin-gib-diagnostic:v1.1.1",
}
# AKS InfiniBand: NCCL's own IB transport (NCCL_NET=IB), from the same nccl-tests build: the EFA
# installer in it lays down its bundled rdma-core, ibverbs providers included, besides
# OpenMPI and sshd (awslabs/awsome-distributed-ai PR #1153, micro-benchmarks/nccl-tests).
NCCL_TESTS_IMAGES["infiniband"] = NCCL_TESTS_IMAGES["efa"]
IMAGES.update({f"nccl-tests-{kind}": image for kind, image in NCCL_TESTS_IMAGES.items()})
# The fabric images pods run (the NCCL acceptance job; cloud backends add their fabric's
# sidecars and installers): held to the same rule as the runtime images below.
FABRIC_IMAGE_KEYS: tuple[str, ...] = tuple(f"nccl-tests-{kind}" for kind in NCCL_TESTS_IMAGES)
# GKE's fabric agents and the RxDM sidecar (components/clouds/gcp/fabric.py), read off
# GoogleCloudPlatform/container-engine-accelerators @ 992db812 (2026-06-11):
# nri_device_injector/nri-device-injector.yaml (digest), gpudirect-*/nccl-*-installer.yaml
# (the pause container by digest, the installers by tag), gpudirect-tcpx/nccl-test-latest.yaml
# and gpudirect-tcpxo/README.md "Jan 9, 2026" (RxDM v2.0.12 with TCPX v3.1.9, v1.0.21 with
# TCPXO v1.0.15). AKS's nvidia-peermem loader (components/clouds/azure/fabric.py):
# Azure/aks-rdma-infiniband @ 700dabb configs/nvidia-peermem-reloader/ds.yaml.
GKE_FABRIC_IMAGES: dict[str, str] = {
    "gke-nri-device-injector": "gcr.io/gke-release/nri-device-injector@sha256:6e79483d52abdc28454bf186320b10a56b0f117a10e8d65d5c74dbb821a76970",
    "gke-pause": "gke.gcr.io/pause:3.8@sha256:880e63f94b145e46f1b1082bb71b85e21f16b99b180b9996407d61240ceb9830",
    "gke-nccl-tcpx-installer": NCCL_TESTS_IMAGES["tcpx"],
    "gke-nccl-tcpxo-installer": NCCL_TESTS_IMAGES["tcpxo"],
    "gke-nccl-gib-installer": "us-docker.pkg.dev/gce-ai-infra/gpudirect-gib/nccl-plugin-gib:v1.1.1",
    "gke-tcpx-rxdm": "us-docker.pkg.dev/gce-ai-infra/gpudirect-tcpx/tcpgpudmarxd-dev:v2.0.12",
    "gke-tcpxo-rxdm": "us-docker.pkg.dev/gce-ai-infra/gpudirect-tcpxo/tcpgpudmarxd-dev:v1.0.21",
    "aks-peermem-loader": "mcr.microsoft.com/mirror/docker/library/ubuntu:24.04",
}
IMAGES.update(GKE_FABRIC_IMAGES)
# Held to the tag@digest-or-TAG_ONLY rule; the NRI injector is pinned by digest alone (its
# manifest names no tag), which pins it as firmly.
FABRIC_IMAGE_KEYS += tuple(k for k in GKE_FABRIC_IMAGES if k != "gke-nri-device-injector")

# The images team workloads run (training runtimes, the KServe vLLM runtime, notebook servers).
# Each is pinned by digest, or listed in TAG_ONLY_IMAGES with why not (docs/workloads.md).
RUNTIME_IMAGE_KEYS: tuple[str, ...] = (
    "torch-runtime", "mpi-runtime", "kserve-vllm", "kserve-mlserver", "notebook-gpu", "notebook-cpu", "tensorflow-runtime",
    "katib-metrics-collector", "katib-medianstop", "katib-hyperopt",
)
_GOOGLE_TAG_ONLY = ("Google publishes the GPUDirect images on us-docker.pkg.dev/gce-ai-infra by version tag; "
                    "its manifests (container-engine-accelerators) and cluster-toolkit name them by tag, no file records a digest")
TAG_ONLY_IMAGES: dict[str, str] = {
    **{f"nccl-tests-{k}": _GOOGLE_TAG_ONLY for k in ("tcpx", "tcpxo", "rdma")},
    **{k: _GOOGLE_TAG_ONLY for k in ("gke-nccl-tcpx-installer", "gke-nccl-tcpxo-installer", "gke-nccl-gib-installer",
                                     "gke-tcpx-rxdm", "gke-tcpxo-rxdm")},
    "nccl-tests-infiniband": "the EFA nccl-tests image (nccl-tests-efa), by its version-naming tag",
    "aks-peermem-loader": "Microsoft's mirror of Ubuntu 24.04 as Azure/aks-rdma-infiniband names it, by tag; "
                          "no file records a digest",
    "nccl-tests-efa": "AWS publishes hpc-cloud/nccl-tests on the ECR public gallery by version-naming tag; "
                      "no public file records a digest for this tag",
    "kserve-vllm": "neither vLLM nor KServe publishes a digest for vllm-openai:v0.24.0 in a file (KServe "
                   "v0.20.0 names `latest`); the only public record found was a single unaffiliated note, "
                   "too weak a source to pin a production serving image to",
    "kserve-mlserver": "neither Seldon nor KServe records a digest for mlserver:1.7.1 in a file; KServe "
                       "v0.20.0's runtime manifests name it by tag",
    "mpi-runtime": "no public file records a digest for deepspeed-runtime:v2.3.0; kubeflow/trainer's "
                   "manifests at v2.3.0 name it by tag",
    "notebook-gpu": "no public file records a digest for pytorch-notebook:cuda12-2026-08-24; "
                    "jupyter/docker-stacks publishes dated tags, not digests",
    "notebook-cpu": "no public file records a digest for scipy-notebook:2026-08-24; "
                    "jupyter/docker-stacks publishes dated tags, not digests",    "tensorflow-runtime": "no public file records a digest for tensorflow/tensorflow:2.20.0-gpu; "
                          "TensorFlow's install docs name the Docker Hub tags only",
    "katib-metrics-collector": "no public file records a digest for file-metrics-collector:v0.19.0; "
                               "kubeflow/katib's katib-config.yaml at v0.19.0 names it by tag",
    "katib-medianstop": "no public file records a digest for earlystopping-medianstop:v0.19.0; "
                        "kubeflow/katib's katib-config.yaml at v0.19.0 names it by tag",
    "katib-hyperopt": "no public file records a digest for suggestion-hyperopt:v0.19.0; "
                      "kubeflow/katib's katib-config.yaml at v0.19.0 names it by tag",
}

# Image repositories the pinned Helm charts run from their own defaults (this program's values
# do not name them). GKE's Binary Authorization policy admits their directories along with
# IMAGES (components/clouds/gcp/admission.py), and matches the full path: registry host
# included, Docker Hub spelled docker.io/<org>/<name>. Checked against the chart sources at the
# pinned versions: each chart rendered (`helm template`) with the values this program passes, its
# images read off the containers, initContainers, controller arguments and config that names
# images for pods the chart's controllers start. Left out: what those values keep off (named
# per chart below), and Helm test hooks (`helm.sh/hook: test`; a Release never runs them).
# A chart added, bumped or moved to another registry re-checks its entry here.
CHART_IMAGE_REPOSITORIES: dict[str, tuple[str, ...]] = {
    # prometheus-community/helm-charts kube-prometheus-stack-88.5.3
    # charts/kube-prometheus-stack/values.yaml, with its pinned sub-charts (Chart.yaml):
    # kube-state-metrics-8.4.0 and prometheus-node-exporter-4.56.1 (same repository), grafana
    # 12.11.1 (grafana-community/helm-charts grafana-12.11.1 charts/grafana/values.yaml: grafana
    # and its kiwigrid/k8s-sidecar dashboard sidecar). The config reloader is the operator's
    # --prometheus-config-reloader image; the admission-webhook patch Jobs run
    # ghcr.io/jkroepke/kube-webhook-certgen (no longer registry.k8s.io/ingress-nginx).
    # Off with our values or the chart's defaults: the CRD upgrade Job (docker.io/library/busybox,
    # registry.k8s.io/kubectl), the admission-webhook Deployment
    # (quay.io/prometheus-operator/admission-webhook), Thanos (quay.io/thanos/thanos) and
    # prometheus-windows-exporter (windowsMonitoring.enabled false). grafana's test hook runs
    # docker.io/bats/bats.
    "kube-prometheus-stack": (
        "quay.io/prometheus/prometheus",
        "quay.io/prometheus/alertmanager",
        "quay.io/prometheus/node-exporter",
        "quay.io/prometheus-operator/prometheus-operator",
        "quay.io/prometheus-operator/prometheus-config-reloader",
        "registry.k8s.io/kube-state-metrics/kube-state-metrics",
        "ghcr.io/jkroepke/kube-webhook-certgen",
        "docker.io/grafana/grafana",
        "quay.io/kiwigrid/k8s-sidecar",
    ),
    # vmware-tanzu/helm-charts velero-12.1.0 charts/velero/values.yaml (image.repository; the
    # server, node-agent and upgrade-CRDs Job). The object-store plugin init container is ours
    # (IMAGES). registry.k8s.io/kubectl only runs for namespace.labels or cleanUpCRDs: both off.
    "velero": ("docker.io/velero/velero",),
    # kubernetes-sigs/node-feature-discovery v0.18.3 deployment/helm/node-feature-discovery/
    # values.yaml (image.repository; master and gc, our values turn the worker off). Not
    # installed on GKE (the cloud runs the device plugin), kept for the other clouds' catalog.
    "node-feature-discovery": ("registry.k8s.io/nfd/node-feature-discovery",),
    # cert-manager/cert-manager v1.17.4 deploy/charts/cert-manager/values.yaml; the ACME HTTP-01
    # solver is the controller's --acme-http01-solver-image, run for an ACME issuer's challenges.
    "cert-manager": (
        "quay.io/jetstack/cert-manager-controller",
        "quay.io/jetstack/cert-manager-webhook",
        "quay.io/jetstack/cert-manager-cainjector",
        "quay.io/jetstack/cert-manager-startupapicheck",
        "quay.io/jetstack/cert-manager-acmesolver",
    ),
    # kserve/kserve v0.20.0 charts/kserve-resources/values.yaml: the controller and rbac proxy
    # are ours (IMAGES); the inferenceservice-config ConfigMap names the images the controller
    # puts in InferenceService and InferenceGraph pods. localmodel.enabled is false (no
    # localmodel controller or node agent).
    "kserve-resources": (
        "docker.io/kserve/storage-initializer",
        "docker.io/kserve/agent",
        "docker.io/kserve/router",
        "docker.io/kserve/art-explainer",
    ),
    # kserve/kserve v0.20.0 charts/kserve-runtime-configs/values.yaml and
    # files/runtimes/resources.yaml: the ClusterServingRuntimes (servingruntime.enabled, ours);
    # vLLM's and MLServer's images are ours (IMAGES). llmisvcConfigs is off.
    "kserve-runtime-configs": (
        "docker.io/kserve/autogluonserver",
        "docker.io/kserve/huggingfaceserver",
        "docker.io/kserve/lgbserver",
        "docker.io/kserve/paddleserver",
        "docker.io/kserve/pmmlserver",
        "docker.io/kserve/predictiveserver",
        "docker.io/kserve/sklearnserver",
        "docker.io/kserve/xgbserver",
        "docker.io/tensorflow/serving",
        "docker.io/pytorch/torchserve-kfs",
        "nvcr.io/nvidia/tritonserver",
    ),
    # jupyterhub/zero-to-jupyterhub-k8s 4.4.0 jupyterhub/values.yaml: the hub and proxy. The
    # user servers run our notebook images (IMAGES). Off with our values: the user scheduler
    # (registry.k8s.io/kube-scheduler), placeholders and pre-pullers (registry.k8s.io/pause,
    # quay.io/jupyterhub/k8s-image-awaiter), the metadata-blocking init container
    # (quay.io/jupyterhub/k8s-network-tools); autohttps (traefik, k8s-secret-sync) is off by default.
    "jupyterhub": (
        "quay.io/jupyterhub/k8s-hub",
        "quay.io/jupyterhub/configurable-http-proxy",
    ),
    # kubernetes-sigs/kueue v0.19.2 charts/kueue (values.yaml, templates/): the manager Deployment
    # only, its image ours (IMAGES). No kube-rbac-proxy sidecar and no certificate Job in the
    # templates (the manager serves its own metrics and makes its own webhook certificate;
    # enableCertManager false). Off by default: KueueViz (enableKueueViz false; kueueviz-backend
    # and kueueviz-frontend, named by staging image in values.yaml).
    "kueue": (),
    # kubeflow/trainer v2.3.0 charts/kubeflow-trainer with its JobSet sub-chart
    # (kubernetes-sigs/jobset v0.12.0 charts/jobset): the trainer manager and the JobSet
    # controller Deployments, both images ours (IMAGES); each makes its own webhook certificate
    # (no Job; JobSet's certManager.enable false). Off with our values: the runtimes installer
    # post-install Job (docker.io/alpine, runtimes.defaultEnabled false, none enabled) and the
    # runtimes' images (ghcr.io/kubeflow/trainer/{deepspeed,mlx,xgboost}-runtime, torchtune-trainer),
    # the data cache (ghcr.io/kubeflow/trainer/data-cache and the LeaderWorkerSet sub-chart,
    # dataCache.enabled false). The controller's Flux plugin names
    # ghcr.io/converged-computing/flux-view-ubuntu (pkg/constants/constants.go) only for a
    # runtime with a Flux policy; the platform's runtimes are PyTorch and MPI.
    "kubeflow-trainer": (),
    # argoproj/argo-helm argo-workflows-1.0.18 charts/argo-workflows/values.yaml (app v4.0.6,
    # images.tag defaults to the appVersion): the workflow controller, the server (argocli)
    # and the executor the controller puts into every workflow pod (executor.image). Off with
    # our values: the CRD install Job (registry.k8s.io/kubectl, crds.full false renders the
    # chart's own CRD files instead).
    "argo-workflows": (
        "quay.io/argoproj/workflow-controller",
        "quay.io/argoproj/argocli",
        "quay.io/argoproj/argoexec",
    ),
    # envoyproxy/gateway v1.9.0 charts/gateway-helm (values.tmpl.yaml global.images, templates/):
    # the controller and its certgen Job run docker.io/envoyproxy/gateway; the Envoy proxies the
    # controller starts for a Gateway run the envoy image built into it (api/v1alpha1
    # DefaultEnvoyProxyImage, docker.io/envoyproxy/envoy). Off: the rate-limit service
    # (docker.io/envoyproxy/ratelimit, no global rate limit configured).
    "gateway-helm": ("docker.io/envoyproxy/gateway", "docker.io/envoyproxy/envoy"),
    # envoyproxy/gateway v1.9.0 charts/gateway-crds-helm: CRDs only.
    "gateway-crds-helm": (),
    # kedacore/charts v2.20.2 keda/values.yaml (image.keda, image.metricsApiServer, image.webhooks):
    # the operator, the external metrics API server and the admission webhooks.
    "keda": ("ghcr.io/kedacore/keda", "ghcr.io/kedacore/keda-metrics-apiserver", "ghcr.io/kedacore/keda-admission-webhooks"),
}

# Ports admission webhooks of the pinned charts listen on inside their pods (Kueue, KServe
# and cert-manager-style controllers: 9443; others: 8443). GKE private clusters admit only
# 443 and 10250 from the control plane, so the GKE backend opens these; a chart added with a
# webhook on another port adds it here.
ADMISSION_WEBHOOK_PORTS: tuple[int, ...] = (8443, 9443)

# Cluster Autoscaler, pinned per Kubernetes minor: the image's minor must match the
# cluster's, and so must the chart's RBAC. CA 1.35 locks --enable-dynamic-resource-allocation
# to true and exits otherwise (kubernetes/autoscaler cluster-autoscaler-1.35.2
# cluster-autoscaler/config/flags/flags.go), so it must list/watch resource.k8s.io objects:
# chart 9.54.0 (appVersion 1.35.0) is the first whose templates/clusterrole.yaml grants that;
# 9.59.0 is the newest (2026-07-21). CA 1.34 keeps DRA off by default (flag default false in
# cluster-autoscaler-1.34.5), so chart 9.53.0 (appVersion 1.34.2, the last 1.34 chart) fits.
# Images by tag: no public source we can reach offline lists registry.k8s.io digests for
# these tags (kubernetes/k8s.io's promoter manifest stops at v1.28.2).
CLUSTER_AUTOSCALER_CHARTS: dict[str, str] = {
    "1.34": "9.53.0",
    "1.35": "9.59.0",
}
CLUSTER_AUTOSCALER_IMAGE_TAGS: dict[str, str] = {
    "1.34": "v1.34.5",
    "1.35": "v1.35.2",
}


class Chart:
    def __init__(self, name: str, version: str, repo: str) -> None:
        self.name, self.version, self.repo = name, version, repo


# Helm charts installed as releases (big third-party stacks).
CHARTS: dict[str, Chart] = {
    "kube-prometheus-stack": Chart(
        "kube-prometheus-stack", "88.5.3", "https://prometheus-community.github.io/helm-charts"
    ),
    # The version shown here is the default minor's; the EKS backend picks per minor.
    "cluster-autoscaler": Chart(
        "cluster-autoscaler", CLUSTER_AUTOSCALER_CHARTS[DEFAULT_KUBERNETES_VERSION], "https://kubernetes.github.io/autoscaler"
    ),
    # Turns GPU Feature Discovery's NodeFeature objects into node labels.
    "node-feature-discovery": Chart(
        "node-feature-discovery", "0.18.3", "https://kubernetes-sigs.github.io/node-feature-discovery/charts"
    ),
    # Cluster backups (disaster recovery): chart 12.1.0 ships Velero v1.18.1.
    "velero": Chart("velero", "12.1.0", "https://vmware-tanzu.github.io/helm-charts"),
    # --- ML workload layer. An `oci://` repo is a registry path: the chart is <repo>/<name>.
    # Kueue ships its CRDs inside the chart (templates/crd), API kueue.x-k8s.io/v1beta2.
    "kueue": Chart("kueue", "0.19.2", "oci://registry.k8s.io/kueue/charts"),
    # Kubeflow Trainer v2: TrainJob/ClusterTrainingRuntime CRDs in the chart, JobSet 0.12.0 as a subchart.
    "kubeflow-trainer": Chart("kubeflow-trainer", "2.3.0", "oci://ghcr.io/kubeflow/charts"),
    # cert-manager: KServe's webhook certificates (KServe v0.20.0 is tested with v1.17.x).
    "cert-manager": Chart("cert-manager", "v1.17.4", "https://charts.jetstack.io"),
    # KServe: CRDs first, then the controller, then the serving runtimes (chart versions carry the v).
    "kserve-crd": Chart("kserve-crd", "v0.20.0", "oci://ghcr.io/kserve/charts"),
    "kserve-resources": Chart("kserve-resources", "v0.20.0", "oci://ghcr.io/kserve/charts"),
    "kserve-runtime-configs": Chart("kserve-runtime-configs", "v0.20.0", "oci://ghcr.io/kserve/charts"),
    "jupyterhub": Chart("jupyterhub", "4.4.0", "https://hub.jupyter.org/helm-chart/"),
    # Argo Workflows v4.0.6: the pipeline engine (argoproj/argo-helm tag argo-workflows-1.0.18).
    "argo-workflows": Chart("argo-workflows", "1.0.18", "https://argoproj.github.io/argo-helm"),
    # The serving gateway: Envoy Gateway v1.9.0. Its CRD chart installs the Gateway API
    # standard-channel CRDs (bundle v1.6.1, charts/gateway-crds-helm/templates/
    # standard-gatewayapi-crds.yaml @ v1.9.0) and Envoy Gateway's own; the controller chart
    # then runs with its CRD sub-chart off (charts/gateway-helm/Chart.yaml: condition crds.enabled).
    "gateway-crds-helm": Chart("gateway-crds-helm", "v1.9.0", "oci://docker.io/envoyproxy"),
    # KEDA 2.20.2 (kedacore/charts v2.20.2 keda/Chart.yaml): scales models on Prometheus queries
    # (request rate, queue depth) and to zero, through KServe's autoscalerClass keda.
    "keda": Chart("keda", "2.20.2", "https://kedacore.github.io/charts"),
    "gateway-helm": Chart("gateway-helm", "v1.9.0", "oci://docker.io/envoyproxy"),
    # --- Fabric. The EFA device plugin (EKS): aws/eks-charts stable/aws-efa-k8s-device-plugin,
    # chart v0.5.30 (image v0.5.20, 2026-07-21; ≥0.5.6 knows p6-b200). Its chart spells the
    # version with the v.
    "aws-efa-k8s-device-plugin": Chart("aws-efa-k8s-device-plugin", "v0.5.30", "https://aws.github.io/eks-charts"),
    # --- EKS capacity (components/clouds/aws/capacity.py). Karpenter 1.14.1: its CRDs from their
    # own chart (Helm installs a chart's crds/ once and never upgrades them), then the controller,
    # image public.ecr.aws/karpenter/controller:1.14.1 by the digest the chart pins
    # (aws/karpenter-provider-aws charts/karpenter/values.yaml at the v1.14.1 release commit
    # 1d927085). Kubernetes 1.34 needs Karpenter >= 1.6, 1.35 >= 1.9
    # (website/content/en/v1.14/upgrading/compatibility.md).
    "karpenter-crd": Chart("karpenter-crd", "1.14.1", "oci://public.ecr.aws/karpenter"),
    "karpenter": Chart("karpenter", "1.14.1", "oci://public.ecr.aws/karpenter"),
}
# The Gateway API release whose standard CRDs gateway-crds-helm v1.9.0 installs.
GATEWAY_API_BUNDLE_VERSION = "v1.6.1"

# NVIDIA Network Operator for AKS InfiniBand pools (components/clouds/azure/fabric.py): the
# version Azure/aks-rdma-infiniband @ 700dabb tests/setup-infra/deploy-aks.sh installs, NGC's
# Helm repository (Mellanox/network-operator v26.4.0 deployment/network-operator/Chart.yaml).
CHARTS["network-operator"] = Chart("network-operator", "26.4.0", "https://helm.ngc.nvidia.com/nvidia")

# EKS managed add-ons. None means "resolved per cluster version at preview/up": the EKS
# backend asks aws.eks.get_addon_version(kubernetes_version=..., most_recent=True), as
# terraform-aws-modules/eks does, so a Kubernetes upgrade moves every add-on with it. EKS
# publishes build-suffixed versions per minor, so a literal pin here would go stale. Set
# aws.addonVersions to pin one.
EKS_ADDONS: dict[str, str | None] = {
    "vpc-cni": None,
    "kube-proxy": None,
    "coredns": None,
    "eks-pod-identity-agent": None,
    "aws-ebs-csi-driver": None,
    "aws-efs-csi-driver": None,
    "metrics-server": None,
    # The EKS node monitoring agent (aws/eks-node-monitoring-agent v1.7.0): it reads the node's
    # kernel log and DCGM and sets NodeConditions (AcceleratedHardwareReady for NVIDIA XIDs)
    # that managed node groups' node auto repair acts on. Pinned: the add-on version is the
    # image tag its chart names (charts/eks-node-monitoring-agent/values.yaml @ v1.7.0).
    "eks-node-monitoring-agent": "v1.7.0-eksbuild.1",
    # CSI VolumeSnapshot CRDs and controller: Velero's CSI data mover snapshots EBS volumes with it.
    "snapshot-controller": None,
}
