"""Streamed model load: a ClusterServingRuntime `kserve-vllm-streamer` beside KServe's own vLLM
runtime, on the same pinned image, whose vLLM reads a model's safetensors straight from the
model store into the GPU (Run:ai Model Streamer loader, many readers at once) instead of the
storage initializer copying the files to the pod first.

An InferenceService picks it by name (`runtime: kserve-vllm-streamer`), sets no storageUri
(nothing to download) and names its model as `--model=$(MODEL_STREAM_URL)/<path>`: the
runtime takes the namespace's ConfigMap `model-store` as its environment, which holds the
store as the streamer reads it (s3://, gs://, az://<container>) and, on Azure, the account. The
pod runs as the namespace's `workload` ServiceAccount, whose identity already reads the store
(components/clouds/<cloud>/stores.py); the streamer finds it through each cloud's default
credential chain (components/catalog/model_streaming.py, with the upstream files).

KServe facts (kserve/kserve v0.20.0): charts/kserve-runtime-configs files/runtimes/resources.yaml
`kserve-vllmserver` (the container, probes and /dev/shm copied here, its model format vLLM);
pkg/controller/v1beta1/inferenceservice/utils/utils.go MergeRuntimeContainers appends the
InferenceService's args to the runtime's (so the model's `--model` comes after the runtime's).
"""

from __future__ import annotations

from typing import Any

from ...catalog import model_streaming as facts
from ...handle import ClusterHandle
from ..common import metadata
from ..modelstore import CONFIG_MAP
from .releases import image_parts

API_VERSION = "serving.kserve.io/v1alpha1"
KIND = "ClusterServingRuntime"
PORT = 8080
# Where vLLM keeps the config and tokenizer files it pulls from the store before streaming the
# weights (vllm/config/model.py ObjectStorageModel under VLLM_ASSETS_CACHE): a writable path
# for a non-root container.
ASSETS_CACHE = "/tmp/vllm-assets"


def enabled(handle: ClusterHandle, setting: bool | None) -> bool:
    """On unless the stack turns it off, wherever the store can be streamed from (config
    refuses `true` where it cannot: components/config/checks/model_streaming.py)."""
    return setting is not False and handle.model_store is not None and handle.model_store.stream_url is not None


def _probe(initial_delay: int, period: int, timeout: int, failures: int) -> dict[str, Any]:
    probe = {"httpGet": {"path": "/v1/models", "port": PORT}, "periodSeconds": period, "timeoutSeconds": timeout,
             "failureThreshold": failures, "successThreshold": 1}
    return {**probe, "initialDelaySeconds": initial_delay} if initial_delay else probe


def runtime() -> dict[str, Any]:
    """CustomResource keyword arguments of the ClusterServingRuntime."""
    image, tag = image_parts("kserve-vllm")
    env = {
        "HF_HOME": "/tmp",
        "VLLM_CONFIG_ROOT": "/tmp",
        "VLLM_ASSETS_CACHE": ASSETS_CACHE,
        "VLLM_WORKER_MULTIPROC_METHOD": "spawn",
        facts.CONCURRENCY_ENV: str(facts.CONCURRENCY),
    }
    return {
        "api_version": API_VERSION,
        "kind": KIND,
        "metadata": metadata(facts.RUNTIME, app="kserve", component="serving",
                             annotations={"serving.kserve.io/server-type": "vllmserver"}),
        "spec": {
            "annotations": {"prometheus.kserve.io/path": "/metrics", "prometheus.kserve.io/port": str(PORT)},
            # Chosen by name only: KServe keeps picking its own vLLM runtime for `modelFormat: vLLM`.
            "supportedModelFormats": [{"name": "vLLM", "version": "1", "autoSelect": False}],
            "containers": [{
                "name": "kserve-container",
                "image": f"{image}:{tag}",
                "command": ["python", "-m", "vllm.entrypoints.openai.api_server"],
                "args": [f"--port={PORT}", "--served-model-name={{.Name}}", facts.LOAD_FORMAT_ARG],
                "env": [{"name": k, "value": v} for k, v in env.items()],
                "envFrom": [{"configMapRef": {"name": CONFIG_MAP}}],
                "readinessProbe": _probe(0, 10, 5, 3),
                "startupProbe": _probe(30, 30, 10, 60),
                "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "1", "memory": "2Gi"}},
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "privileged": False},
                "volumeMounts": [{"mountPath": "/dev/shm", "name": "devshm"}],
            }],
            "hostIPC": False,
            "volumes": [{"name": "devshm", "emptyDir": {"medium": "Memory"}}],
        },
    }
