"""StorageClasses, rendered from the specs the cloud backend put in the handle:

- `ml-block` (the default): the cloud's encrypted block storage, created when the first
  pod is scheduled (WaitForFirstConsumer, so the volume lands in the pod's zone), deleted
  with its claim, expandable;
- `ml-block-retain`: the same, but the volume outlives its claim (Retain);
- any extra block classes the backend names (`handle.extra_block_storage`, e.g. a Hyperdisk
  class for GKE machine types that attach nothing else): Delete, WaitForFirstConsumer;
- `ml-shared`: a ReadWriteMany file system for datasets and checkpoints, where the backend
  offers one; Retain, because a deleted claim must not take a dataset with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from ..conventions import LABEL_PREFIX
from ..handle import ClusterHandle, StorageClassSpec
from .common import ENCRYPTED_ANNOTATION, Scope, labels, sorted_dict

BLOCK_CLASS = "ml-block"
BLOCK_RETAIN_CLASS = "ml-block-retain"
SHARED_CLASS = "ml-shared"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
# The access mode a claim on this class should ask for (ReadWriteOnce or ReadWriteMany).
ACCESS_MODE_ANNOTATION = f"{LABEL_PREFIX}/access-mode"


@dataclass(frozen=True)
class StorageArgs:
    handle: ClusterHandle
    shared_file_system: bool = True
    retain_shared_volumes: bool = True


def storage_class_body(name: str, spec: StorageClassSpec, reclaim: str, default: bool, binding: str) -> dict:
    """The StorageClass fields, as keyword arguments of k8s.storage.v1.StorageClass."""
    annotations = {
        DEFAULT_CLASS_ANNOTATION: "true" if default else "false",
        ENCRYPTED_ANNOTATION: "true" if spec.encrypted else "false",
        ACCESS_MODE_ANNOTATION: spec.access_mode,
    }
    body = {
        "metadata": {"name": name, "labels": labels("storage", name), "annotations": sorted_dict(annotations)},
        "provisioner": spec.provisioner,
        "reclaim_policy": reclaim,
        "volume_binding_mode": binding,
        "allow_volume_expansion": True,
    }
    if spec.parameters:
        body["parameters"] = sorted_dict(dict(spec.parameters))
    if spec.mount_options:
        body["mount_options"] = list(spec.mount_options)
    return body


class Storage(pulumi.ComponentResource):
    """`.block_class` is the default class's name (Prometheus keeps its data there);
    `.shared_class` the ReadWriteMany class's name, or None."""

    def __init__(self, name: str, args: StorageArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlclusters:platform:Storage", name, None, opts)
        handle = args.handle
        scope = Scope(handle, self, tuple(handle.ready))
        if handle.block_storage.access_mode != "ReadWriteOnce":
            raise ValueError(f"{handle.cloud} backend: block_storage.access_mode is {handle.block_storage.access_mode}; expected ReadWriteOnce")

        self.block = k8s.storage.v1.StorageClass(
            f"{name}-block",
            **storage_class_body(BLOCK_CLASS, handle.block_storage, "Delete", True, "WaitForFirstConsumer"),
            opts=scope.opts(),
        )
        self.block_retain = k8s.storage.v1.StorageClass(
            f"{name}-block-retain",
            **storage_class_body(BLOCK_RETAIN_CLASS, handle.block_storage, "Retain", False, "WaitForFirstConsumer"),
            opts=scope.opts(),
        )
        self.block_class = BLOCK_CLASS
        self.extra_block = {
            class_name: k8s.storage.v1.StorageClass(
                f"{name}-{class_name}",
                **storage_class_body(class_name, spec, "Delete", False, "WaitForFirstConsumer"),
                opts=scope.opts(),
            )
            for class_name, spec in sorted(handle.extra_block_storage.items())
        }
        self.shared_class: Optional[str] = None
        self.shared = None
        if args.shared_file_system and handle.file_storage is not None:
            if handle.file_storage.access_mode != "ReadWriteMany":
                raise ValueError(f"{handle.cloud} backend: file_storage.access_mode is {handle.file_storage.access_mode}; expected ReadWriteMany")
            # A network file system is reachable from every zone: bind at once.
            self.shared = k8s.storage.v1.StorageClass(
                f"{name}-shared",
                **storage_class_body(SHARED_CLASS, handle.file_storage, "Retain" if args.retain_shared_volumes else "Delete", False, "Immediate"),
                opts=scope.opts(),
            )
            self.shared_class = SHARED_CLASS
        self.register_outputs({"blockClass": self.block_class, "sharedClass": self.shared_class})
