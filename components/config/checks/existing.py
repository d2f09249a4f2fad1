"""cloud existing: a kubeconfig that has the context, and the storage facts of the cluster."""

from __future__ import annotations

import re

from ..errors import ConfigError
from ..kubeconfig import read_kubeconfig
from ..model import StackConfig, to_snake


def kubeconfig_problems(cfg: StackConfig) -> list[str]:
    """The kubeconfig is read now, so a missing file or context fails before any resource."""
    out: list[str] = []
    if cfg.existing is not None and cfg.cloud == "existing":
        try:
            read_kubeconfig(cfg.existing)
        except ConfigError as err:
            out += err.problems
    return out


def existing_problems(cfg: StackConfig) -> list[str]:
    """The storage provisioners and their parameters."""
    out: list[str] = []
    existing = cfg.existing
    provisioner_re = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?(/[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?)?$")
    if existing is not None:
        if not existing.kubeconfig.strip():
            out.append(f"existing.kubeconfig: {existing.kubeconfig!r} is empty; allowed: a path to a kubeconfig file, absolute or relative to the project root")
        for key in ("blockStorageProvisioner", "fileStorageProvisioner"):
            value = getattr(existing, to_snake(key))
            if value is not None and not provisioner_re.match(value):
                out.append(f"existing.{key}: {value!r} is not a provisioner name; allowed: a CSI driver or provisioner name such as rancher.io/local-path or nfs.csi.k8s.io")
        if existing.file_storage_parameters and existing.file_storage_provisioner is None:
            out.append("existing.fileStorageParameters: set without fileStorageProvisioner; allowed: set fileStorageProvisioner too, or remove the parameters")
    return out
