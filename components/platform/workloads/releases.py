"""What every part of the workload layer shares: pinned Helm releases, namespaces for the
controllers, and the placement that keeps controllers on the system pool."""

from __future__ import annotations

from typing import Any, Mapping, Optional

import pulumi
import pulumi_kubernetes as k8s

from ... import catalog
from ..common import TEAM_LABEL, Scope, namespace_labels, sorted_dict


def image_parts(key: str) -> tuple[str, str]:
    """(repository, tag) of a pinned image in the catalog; a digest stays on the tag
    (`v1@sha256:...`), so `repository:tag` is the pinned reference."""
    name, at, digest = catalog.IMAGES[key].partition("@")
    repository, tag = name.rsplit(":", 1)
    return repository, tag + at + digest


def chart_source(key: str) -> dict[str, Any]:
    """Release keyword arguments naming the pinned chart: an OCI reference, or a repo."""
    chart = catalog.CHARTS[key]
    if chart.repo.startswith("oci://"):
        return {"chart": f"{chart.repo}/{chart.name}", "version": chart.version}
    return {"chart": chart.name, "version": chart.version, "repository_opts": {"repo": chart.repo}}


def controller_namespace(name: str, resource_name: str, scope: Scope, pod_security: str = "restricted") -> k8s.core.v1.Namespace:
    return k8s.core.v1.Namespace(
        resource_name,
        metadata={"name": name, "labels": namespace_labels(pod_security, scope.handle.kubernetes_version)},
        opts=scope.opts(),
    )


def release(resource_name: str, key: str, namespace: str, values: Mapping[str, Any], scope: Scope,
            depends_on: tuple[Optional[pulumi.Resource], ...] = (), timeout: int = 600) -> k8s.helm.v3.Release:
    """A Helm release of the pinned chart `key`; atomic, so a failed install rolls back."""
    return k8s.helm.v3.Release(
        resource_name,
        name=key,
        namespace=namespace,
        create_namespace=False,
        atomic=True,
        cleanup_on_fail=True,
        timeout=timeout,
        values=dict(values),
        **chart_source(key),
        opts=scope.opts(*depends_on),
    )


def shared_claim(name: str, app: str, namespace: str, team: str, size: str, storage_class: str) -> dict[str, Any]:
    """PersistentVolumeClaim keyword arguments: a team namespace's ReadWriteMany volume on the
    shared file system class."""
    return {
        "metadata": {"name": name, "namespace": namespace, "labels": sorted_dict({
            "app.kubernetes.io/name": app, "app.kubernetes.io/part-of": "ml-clusters",
            "app.kubernetes.io/managed-by": "pulumi", TEAM_LABEL: team})},
        "spec": {
            "accessModes": ["ReadWriteMany"],
            "storageClassName": storage_class,
            "resources": {"requests": {"storage": size}},
        },
    }
