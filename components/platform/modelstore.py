"""How a team namespace finds the model store: a ConfigMap `model-store` in each namespace
with the store's URL, the registry, the namespace's access and the pod labels its workloads
need for their identity. The identity itself is the cloud's (components/clouds/<cloud>/
stores.py) and is bound to the namespace's `workload` ServiceAccount through the
annotations the handle carries (set on that ServiceAccount by serving.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from ..catalog.model_streaming import STREAM_URL_KEY
from ..config import ServingNamespace
from ..handle import ClusterHandle, ModelStore
from .common import TEAM_LABEL, Scope, metadata

CONFIG_MAP = "model-store"
# Where a namespace with payloadLogging has its InferenceServices' request/response events
# written, under the store it writes to. KServe v0.20.0's agent picks its blob store from the
# logger URL's scheme (pkg/logger/store.go GetStorageStrategy: s3, gs, abfs; http otherwise)
# and writes each event to <url path>/<namespace>/<inferenceservice>/<component>/<storage.path>/
# <event id>-<request|response>.json (store.go getObjectKey).
PAYLOAD_PREFIX = "payloads"


def payload_log_url(write_url: pulumi.Input[str]) -> pulumi.Output[str]:
    """The logger URL a namespace's InferenceServices name: the store's `payloads/` prefix."""
    return pulumi.Output.concat(write_url, "/", PAYLOAD_PREFIX)


@dataclass(frozen=True)
class ModelStoreAccessArgs:
    handle: ClusterHandle
    store: ModelStore
    namespaces: Sequence[ServingNamespace]
    # The Namespace resources by name (serving.py), so each ConfigMap waits for its namespace.
    namespace_resources: Mapping[str, pulumi.Resource]


def workload_annotations(handle: ClusterHandle) -> dict[str, Mapping[str, pulumi.Input[str]]]:
    """What serving.py puts on each namespace's `workload` ServiceAccount."""
    return dict(handle.model_store.workload_annotations) if handle.model_store else {}


class ModelStoreAccess(pulumi.ComponentResource):
    def __init__(self, name: str, args: ModelStoreAccessArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlclusters:platform:ModelStoreAccess", name, None, opts)
        scope = Scope(args.handle, self, tuple(args.handle.ready))
        store = args.store
        for ns in args.namespaces:
            if ns.model_store == "none":
                continue
            k8s.core.v1.ConfigMap(
                f"{name}-{ns.name}",
                metadata=metadata(CONFIG_MAP, ns.name, "model-store", "storage", {TEAM_LABEL: ns.team}),
                data={
                    "MODEL_STORE_URL": store.url,
                    "MODEL_STORE_ACCESS": ns.model_store,
                    "MODEL_STORE_REGION": store.region,
                    "REGISTRY": store.registry,
                    "SERVICE_ACCOUNT": "workload",
                    "POD_LABELS": json.dumps(dict(store.workload_pod_labels), sort_keys=True),
                    # Where a readwrite namespace writes: the store itself, except on a failed-over
                    # Azure standby, whose replicated containers refuse writes.
                    **({"MODEL_STORE_WRITE_URL": store.write_url or store.url} if ns.model_store == "readwrite" else {}),
                    # payloadLogging (readwrite only, checked in config): the `logger.url` to name.
                    **({"PAYLOAD_LOG_URL": payload_log_url(store.write_url or store.url)} if ns.payload_logging else {}),
                    # The store as vLLM's model streamer reads it, and what it needs beside the
                    # identity (the kserve-vllm-streamer runtime takes this ConfigMap as its env).
                    **({STREAM_URL_KEY: store.stream_url, **store.stream_env} if store.stream_url is not None else {}),
                },
                opts=scope.opts(args.namespace_resources.get(ns.name)),
            )
        self.register_outputs({})
