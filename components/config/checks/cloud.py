"""The stack's cloud: its region (or place), Kubernetes version, and the per-cloud settings blocks."""

from __future__ import annotations

import difflib
import re
from typing import Optional

from ... import catalog
from ...catalog import resolve
from ..model import GCP_PROJECT_RE, UUID_RE, StackConfig
from .access import aws_access_problems


def region_problems(cloud: str, region: Optional[str]) -> list[str]:
    if cloud == "existing":
        return []
    regions = sorted(catalog.cloud(cloud).regions)
    if region is None:
        return [f"region: required key is missing for cloud {cloud}; allowed: {', '.join(regions)}; places: {', '.join(resolve.places_on(cloud))}"]
    if region in regions or resolve.place_region(cloud, region) is not None:
        return []
    if region in catalog.PLACES:
        try:
            resolve.region_of(catalog.cloud(cloud), region)
        except resolve.NotOffered as err:
            return [f"region: {err}"]
    places = resolve.places_on(cloud)
    hint = difflib.get_close_matches(region, regions + places, n=1)
    maybe = f" (did you mean {hint[0]}?)" if hint else ""
    return [f"region: {region!r} is not a known {cloud} region or place{maybe}; allowed: {', '.join(regions)}; places: {', '.join(places)}"]


def cloud_problems(cfg: StackConfig) -> list[str]:
    """A supported Kubernetes version, and the settings block of the stack's cloud only."""
    out: list[str] = []
    if cfg.kubernetes_version not in catalog.KUBERNETES_VERSIONS:
        out.append(
            f"kubernetesVersion: {cfg.kubernetes_version!r} is not supported; allowed: {', '.join(catalog.KUBERNETES_VERSIONS)} (quote it in YAML)"
        )
    for other in ("aws", "gcp", "azure", "existing"):
        if other != cfg.cloud and getattr(cfg, other) is not None:
            out.append(f"{other}: settings for {other} are set, but cloud is {cfg.cloud}; remove the {other} block")
    if cfg.cloud in ("gcp", "existing") and getattr(cfg, cfg.cloud) is None:
        required = {"gcp": "project", "existing": "kubeconfig"}[cfg.cloud]
        also = " (or set the provider's gcp:project)" if cfg.cloud == "gcp" else ""
        out.append(f"{cfg.cloud}: required for cloud {cfg.cloud}; it must set at least {cfg.cloud}.{required}{also}")
    return out


def cloud_settings_problems(cfg: StackConfig) -> list[str]:
    out = []
    if cfg.aws is not None:
        out += aws_access_problems(cfg)
        for name in cfg.aws.addon_versions:
            if name not in catalog.EKS_ADDONS:
                out.append(f"aws.addonVersions.{name}: unknown add-on; allowed: {', '.join(sorted(catalog.EKS_ADDONS))}")
    if cfg.gcp is not None and not GCP_PROJECT_RE.match(cfg.gcp.project):
        out.append(f"gcp.project: {cfg.gcp.project!r} is not a GCP project id; allowed: 6-30 lowercase letters, digits and hyphens, starting with a letter")
    if cfg.gcp is not None and not cfg.gcp.regional and cfg.is_prod:
        out.append("gcp.regional: false is not allowed in prod: a zonal control plane has no zone redundancy; allowed: true")
    if cfg.cloud == "gcp":
        for i, pool in enumerate(cfg.gpu_pools):
            mig = pool.sharing.mig if pool.sharing else None
            if mig is not None and mig.strategy == "mixed":
                out.append(f"gpuPools[{i}].sharing.mig.strategy: 'mixed' is not available on gcp: GKE cuts every GPU of a pool into the one profile; allowed: single")
    if cfg.azure is not None:
        for i, gid in enumerate(cfg.azure.admin_group_object_ids):
            if not UUID_RE.match(gid):
                out.append(f"azure.adminGroupObjectIds[{i}]: {gid!r} is not an Entra ID object id (a UUID)")
        if cfg.azure.tenant_id is not None and not UUID_RE.match(cfg.azure.tenant_id):
            out.append(f"azure.tenantId: {cfg.azure.tenant_id!r} is not an Entra ID tenant id (a UUID)")
        if cfg.azure.upgrade_channel == "node-image" and cfg.azure.node_os_upgrade_channel != "NodeImage":
            # AKS: the node-image upgrade channel sets the node OS channel to NodeImage itself.
            out.append(f"azure.nodeOsUpgradeChannel: {cfg.azure.node_os_upgrade_channel!r} cannot be combined with upgradeChannel 'node-image', which upgrades node images itself; allowed: NodeImage")
        if cfg.azure.deployer_principal_type == "User" and cfg.azure.kubelogin_mode not in (None, "azurecli"):
            out.append(f"azure.kubeloginMode: {cfg.azure.kubelogin_mode!r} signs in as an application, but deployerPrincipalType is 'User'; allowed: azurecli, or set deployerPrincipalType ServicePrincipal")
        if cfg.azure.private_cluster is not None:
            value = "true" if cfg.azure.private_cluster else "false"
            choice = "set network.privateApi: true" if cfg.azure.private_cluster else "list network.apiAllowedCidrs"
            out.append(f"azure.privateCluster: {value} is replaced by network.privateApi, the same choice on every cloud; allowed: remove azure.privateCluster and {choice}")
    if cfg.cloud == "azure":
        for key in cfg.tags:
            if "/" in key:
                out.append(f"tags.{key}: Azure tag names cannot contain '/'; use '-' or '.' instead")
        for i, pool in enumerate(cfg.gpu_pools):
            itype = catalog.instance_type("azure", pool.instance_type)
            mig = pool.sharing.mig if pool.sharing else None
            profiles = catalog.gpu_model(itype.gpu).mig_profiles if itype and itype.gpu else ()
            if mig is None or mig.profile not in profiles:
                continue  # no MIG, or a profile the generic check already reports
            # AKS partitions by slice count (MIG1g..MIG7g) and gives each slice the GPU's
            # standard memory share: the first profile NVIDIA lists for that slice count.
            aks_profiles: dict[str, str] = {}
            for profile in profiles:
                aks_profiles.setdefault(profile.split(".")[0], profile)
            if mig.profile not in aks_profiles.values():
                out.append(f"gpuPools[{i}].sharing.mig.profile: {mig.profile!r} is not a partition AKS can create on {pool.instance_type}; allowed: {', '.join(aks_profiles.values())}")
    return out


def tag_problems(cfg: StackConfig) -> list[str]:
    """Tags every cloud can carry."""
    out = []
    for key, value in cfg.tags.items():
        if not re.match(r"^[A-Za-z0-9_.:/=+@ -]{1,63}$", key) or len(value) > 63:
            out.append(f"tags.{key}: key or value is not portable; allowed: keys of 1-63 letters, digits and _.:/=+@- and values up to 63 characters")
    return out
