"""gpuPools[].interconnect and its reasons: the fabric a pool asks for must be the one its
type has; EFA-only interfaces need a VPC CNI that knows them."""

from __future__ import annotations

import ipaddress
import re

from ... import catalog
from ..model import StackConfig

# EFA-only network interfaces (no IP address) are supported from VPC CNI v1.18.5 (EKS user
# guide node-efa / device-management-efa: "EFA-only interfaces need VPC CNI 1.18.5 or later").
EFA_ONLY_MIN_VPC_CNI = (1, 18, 5)
_VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)")


def _allowed(kind: str | None) -> str:
    return ", ".join(["auto", "none", *([kind] if kind else [])])


def fabric_problems(cfg: StackConfig) -> list[str]:
    """Per GPU pool (after the catalog picked its type): a named fabric kind matches the
    type's, the waiver and spot reason are set only where they mean something."""
    out: list[str] = []
    for i, pool in enumerate(cfg.gpu_pools):
        where = f"gpuPools[{i}]"
        if pool.instance_type is None:
            continue  # unresolved: gpu_pools_problems says why
        if cfg.cloud == "existing":
            if pool.interconnect not in ("auto", "none"):
                out.append(f"{where}.interconnect: {pool.interconnect!r} cannot be wired on cloud existing, whose nodes and networks are not this stack's; allowed: auto, none")
            continue
        itype = catalog.cloud(cfg.cloud).instance_types.get(pool.instance_type)
        if itype is None or itype.gpu is None:
            continue  # an unknown type: gpu_pools_problems says so
        fabric = catalog.cloud(cfg.cloud).fabric(pool.instance_type)
        kind = fabric.kind if fabric else None
        has = f"it has {fabric.name}" if fabric else "it has no GPU fabric"
        if pool.interconnect not in ("auto", "none") and pool.interconnect != kind:
            out.append(f"{where}.interconnect: {pool.interconnect!r} is not the fabric of {pool.instance_type} ({has}); allowed: {_allowed(kind)}")
            continue
        uses = pool.fabric(cfg.cloud) is not None
        if pool.interconnect_waiver is not None and (fabric is None or uses):
            why = "its type has no fabric to go without" if fabric is None else f"the pool uses its fabric (interconnect: {pool.interconnect})"
            out.append(f"{where}.interconnectWaiver: set, but {why}; allowed: leave it out, or set interconnect: none on a type with a fabric")
        # On spot: `spot: true`, or a spot tier anywhere in the capacity chain (Karpenter may
        # start any of the pool's nodes on spot then).
        on_spot = any(t.kind == "spot" for t in pool.capacity_chain())
        if pool.interconnect_spot_reason is not None and not (uses and on_spot):
            why = "the pool is not on spot" if not on_spot else "the pool has no fabric"
            out.append(f"{where}.interconnectSpotReason: set, but {why}; allowed: leave it out (it explains a spot pool with a fabric)")
    return out + _vpc_cni_problems(cfg) + _gke_fabric_range_problems(cfg)


def _gke_fabric_range_problems(cfg: StackConfig) -> list[str]:
    """GKE fabric pools' nodes have an interface in each fabric VPC (catalog gcp
    FABRIC_ADDRESS_RANGE): the stack's node, pod and service ranges must stay out of it."""
    if cfg.cloud != "gcp" or not any(p.instance_type and p.fabric("gcp") is not None for p in cfg.gpu_pools):
        return []
    from ...catalog import gcp as gcp_catalog

    fabric = ipaddress.ip_network(gcp_catalog.FABRIC_ADDRESS_RANGE)
    out = []
    for key, value in (("vpcCidr", cfg.network.vpc_cidr), ("podCidr", cfg.network.pod_cidr), ("serviceCidr", cfg.network.service_cidr)):
        try:
            overlaps = ipaddress.ip_network(value, strict=False).overlaps(fabric)
        except ValueError:
            continue  # a malformed CIDR: the network checks say so
        if overlaps:
            out.append(f"network.{key}: {value!r} overlaps {fabric}, which the GKE GPU fabric's VPCs use; "
                       f"allowed: a range outside {fabric}, or interconnect: none on the fabric pools")
    return out


def _vpc_cni_problems(cfg: StackConfig) -> list[str]:
    """A pinned VPC CNI older than 1.18.5 cannot run the EFA-only interfaces EFA pools use."""
    if cfg.cloud != "aws" or cfg.aws is None:
        return []
    pinned = cfg.aws.addon_versions.get("vpc-cni")
    efa = [p.name for p in cfg.gpu_pools if p.instance_type and (f := p.fabric("aws")) is not None and f.kind == "efa"]
    if not pinned or not efa:
        return []
    match = _VERSION_RE.match(pinned)
    if match and tuple(int(g) for g in match.groups()) >= EFA_ONLY_MIN_VPC_CNI:
        return []
    need = ".".join(str(n) for n in EFA_ONLY_MIN_VPC_CNI)
    return [f"aws.addonVersions.vpc-cni: {pinned!r} is older than v{need}, which the EFA-only interfaces of pool(s) {', '.join(efa)} need; allowed: v{need}-eksbuild.1 or later, or leave it unset (the newest for the cluster version)"]
