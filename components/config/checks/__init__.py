"""Every check of user input across keys and against the catalog, one module per concern.

`semantic_problems` runs them all on a validated model; `partial_semantic_problems` runs
what still can when pydantic rejected part of the stack, so one typo hides nothing else.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel, ValidationError

from ..model import GpuPool, StackConfig
from ..resolve import resolve_config, resolved_region
from .access import eks_group_warnings
from .aks_capacity import aks_capacity_problems
from .alerts import alert_problems
from .capacity import capacity_problems, spot_conflicts
from .cloud import cloud_problems, cloud_settings_problems, region_problems, tag_problems
from .dr import dr_problems
from .existing import existing_problems, kubeconfig_problems
from .gateway import gateway_problems
from .fabric import fabric_problems
from .gke_capacity import gke_capacity_problems
from .namespaces import namespace_problems
from .model_streaming import model_streaming_problems
from .network import cidr_problems
from .pools import cpu_pools_problems, gpu_pools_problems, system_pool_problems
from .tpu import tpu_pools_problems, tpu_quota_problems, without_tpu_chips
from .warm import warm_problems
from .workloads import workload_warnings, workloads_problems


def semantic_problems(cfg: StackConfig) -> list[str]:
    """Every check across keys and against the catalog, in the order a user reads them."""
    out: list[str] = []
    out += region_problems(cfg.cloud, cfg.region)
    out += spot_conflicts(cfg)
    cfg = resolve_config(cfg)
    region = cfg.region if not out else None
    out += cloud_problems(cfg)
    out += cidr_problems(cfg)
    out += system_pool_problems(cfg)
    out += cpu_pools_problems(cfg, region)
    out += gpu_pools_problems(cfg.gpu_pools, cfg.cloud, region)
    out += tpu_pools_problems(cfg, region)
    out += fabric_problems(cfg)
    out += capacity_problems(cfg)
    out += cloud_settings_problems(cfg)
    out += kubeconfig_problems(cfg)
    out += alert_problems(cfg)
    out += namespace_problems(cfg)
    out += existing_problems(cfg)
    out += dr_problems(cfg, region)
    out += workloads_problems(cfg)
    out += tpu_quota_problems(cfg)
    out += gateway_problems(cfg)
    out += model_streaming_problems(cfg)
    out += gke_capacity_problems(cfg)
    out += warm_problems(cfg)
    out += aks_capacity_problems(cfg)
    out += tag_problems(cfg)
    return list(dict.fromkeys(out))


def config_warnings(cfg: StackConfig) -> list[str]:
    """Settings that are valid but almost certainly not what the user meant; the program
    logs each with pulumi.log.warn, which the preview prints and `pulumi up` shows."""
    return eks_group_warnings(cfg) + workload_warnings(cfg)


def _salvage(model: type[BaseModel], item: Any) -> Any:
    """`item` validated as `model`, or with the keys pydantic rejected dropped (so a typo in
    one key does not hide the checks of the others), or None."""
    try:
        return model.model_validate(item)
    except ValidationError as err:
        if not isinstance(item, dict):
            return None
        bad = {e["loc"][0] for e in err.errors() if e["loc"]}
        try:
            return model.model_validate({k: v for k, v in item.items() if k not in bad})
        except ValidationError:
            return None


def _validated(raw: dict[str, Any]) -> StackConfig | None:
    try:
        return StackConfig.model_validate(raw)
    except ValidationError:
        return None


def _without_values(raw: dict[str, Any], err: ValidationError) -> dict[str, Any]:
    """`raw` without each value pydantic rejected: the key that holds it is removed from its
    mapping (e.g. `network.privateApi`, `gpuPools[0].maxNodes`). A rejected list item, or a
    path that does not lead to a key as written (a union's branch), leaves out the whole
    top-level key."""
    out = copy.deepcopy(raw)
    for error in err.errors():
        loc = error["loc"]
        if not loc:
            continue
        parent: Any = out
        for part in loc[:-1]:
            if isinstance(parent, dict) and part in parent:
                parent = parent[part]
            elif isinstance(parent, list) and isinstance(part, int) and 0 <= part < len(parent):
                parent = parent[part]
            else:
                parent = None
                break
        if isinstance(parent, dict) and loc[-1] in parent:
            del parent[loc[-1]]
        else:
            out.pop(loc[0], None)
    return out


def partial_semantic_problems(raw: dict[str, Any], err: ValidationError) -> list[str]:
    """Checks that still run when pydantic rejected part of the config, so that one typo
    does not hide the catalog and range problems of everything else."""
    rejected = {e["loc"][0] for e in err.errors() if e["loc"]}
    out: list[str] = []
    cloud = raw.get("cloud") if "cloud" not in rejected else None
    region = raw.get("region") if "region" not in rejected else None
    # First only the rejected values themselves are left out (their defaults apply), so the rest
    # of the stack, its pools and what refers to them, is checked as written; a check must not
    # report what a left-out key or pool makes look wrong ("no GPU pool is named ...").
    rest = _validated(_without_values(raw, err))
    if rest is None:
        # Leaving out single values does not validate (a required key, a wrong type for a whole
        # list): leave out each rejected top-level key, and the GPU pools (checked one by one below).
        trimmed = {k: v for k, v in raw.items() if k not in rejected and k != "gpuPools"}
        if "tpuPools" in rejected:
            trimmed = without_tpu_chips(trimmed)
        rest = _validated(trimmed)
    if rest is not None:
        out += semantic_problems(rest)
        region = None if region_problems(rest.cloud, rest.region) else resolved_region(rest.cloud, rest.region)
    else:
        cloud = None
    pools: list[GpuPool | None] = []
    for item in raw.get("gpuPools") or [] if isinstance(raw.get("gpuPools"), list) else []:
        pools.append(_salvage(GpuPool, item))
    return out + gpu_pools_problems(pools, cloud, region)
