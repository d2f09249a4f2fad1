"""The disaster-recovery plan of a stack, resolved from its `dr` config: which region is the
primary and which the recovery region, who owns the stores (always the primary's
cluster), their names (derived, so a standby finds them without the primary stack), and
what a standby runs before and after failover. Cloud-agnostic; the stores and the
platform read it."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import yaml

from . import catalog
from .config import DisasterRecovery, StackConfig, default_cluster_name, duration_hours

DR_SUFFIX = "-dr"
STACKS_DIR = Path(__file__).resolve().parent.parent / "stacks"
# Velero's release name; the chart names each Schedule `<release>-<key>`.
VELERO_RELEASE = "velero"
BACKUP_SCHEDULE_KEY = "cluster"
BACKUP_SCHEDULE_NAME = f"{VELERO_RELEASE}-{BACKUP_SCHEDULE_KEY}"


@dataclass(frozen=True)
class DrPlan:
    role: str  # primary | standby
    stack: str
    region: str  # this stack's region ("" on cloud existing)
    primary_region: str
    recovery_region: str
    primary_stack: str
    standby_stack: str
    # The cluster that owns the stores (this one on a primary, the primary's on a standby) and
    # the prefix of the stores' names (store_owner(primary_cluster)).
    primary_cluster: str
    store_owner: str
    rpo_minutes: int
    backup_schedule: str
    retention_hours: int
    failover: bool
    # What a standby must share with its primary (pools, layers, team roles), as JSON; on a
    # standby also the primary's, read from its stack file beside this one when it is there.
    parity: str = ""
    primary_parity: Optional[str] = None

    @property
    def standby(self) -> bool:
        return self.role == "standby"

    @property
    def standby_idle(self) -> bool:
        """A standby that has not failed over: GPU pools at 0, backups read-only, no restore."""
        return self.standby and not self.failover

    @property
    def restore_requested(self) -> bool:
        return self.standby and self.failover

    @property
    def store_region(self) -> str:
        """Where the stores a workload of this stack reads live: the primary region, or the
        recovery region's replicas on a standby."""
        return self.recovery_region if self.standby else self.primary_region


@dataclass(frozen=True)
class StoresArgs:
    """What every cloud's stores (components/clouds/<cloud>/stores.py) are built from."""

    config: StackConfig
    stack: str
    cluster: Any  # the cloud's cluster component
    dr: Optional[DrPlan]


def store_owner(cluster_name: str) -> str:
    """The prefix of every store's physical name: the cluster's stores component's name, the
    same with and without `dr` (and so the names stacks without dr have always had). Turning
    dr on or off never renames a store; a standby names its primary's stores from the
    primary's cluster name."""
    return f"{cluster_name}-stores"


def plan_for(cfg: StackConfig, stack: str) -> Optional[DrPlan]:
    dr: Optional[DisasterRecovery] = cfg.dr
    if dr is None:
        return None
    region = cfg.region or ""
    pair = catalog.cloud(cfg.cloud).regions[region].pair if cfg.cloud != "existing" else None
    if dr.role == "standby":
        primary_stack = dr.primary_stack or (stack[: -len(DR_SUFFIX)] if stack.endswith(DR_SUFFIX) else stack)
        primary_region = dr.primary_region or pair or ""
        recovery_region = region
        standby_stack = stack
        primary_cluster = dr.primary_cluster_name or default_cluster_name(primary_stack)
    else:
        primary_stack = stack
        primary_region = region
        recovery_region = (dr.recovery_region or pair or "") if cfg.cloud != "existing" else ""
        standby_stack = dr.standby_stack or f"{stack}{DR_SUFFIX}"
        primary_cluster = cfg.name_for(stack)
    return DrPlan(
        role=dr.role,
        stack=stack,
        region=region,
        primary_region=primary_region,
        recovery_region=recovery_region,
        primary_stack=primary_stack,
        standby_stack=standby_stack if cfg.cloud != "existing" else "",
        primary_cluster=primary_cluster,
        store_owner=store_owner(primary_cluster),
        rpo_minutes=dr.rpo_minutes,
        backup_schedule=dr.backup_schedule,
        retention_hours=duration_hours(dr.backup_retention),
        failover=dr.failover,
        parity=parity(cfg),
        primary_parity=primary_parity(primary_stack) if dr.role == "standby" else None,
    )


def parity(cfg: StackConfig) -> str:
    """The parts of a stack a standby must carry as its primary declares them: GPU pools (as
    declared but for where their capacity comes from; the standby builds them at 0 nodes until
    failover), CPU pools, the platform layers and the team namespaces with their roles."""
    def dump(models, exclude: Optional[set[str]] = None) -> list:
        return sorted((m.model_dump(mode="json", by_alias=True, exclude_none=True, exclude=exclude) for m in models),
                      key=lambda d: d["name"])

    platform = cfg.platform
    body = {
        # Where a pool's nodes come from is the region's own: a reservation holds capacity in
        # one region, so the standby states its own chain and provisioner.
        # Warm nodes (gpuPools[].warmNodes) are a region's own cost choice too: an idle standby
        # keeps none, and a team adds them on failover if it wants them there.
        "gpuPools": dump(cfg.gpu_pools, exclude={"capacity", "provisioner", "spot", "warm_nodes"}),
        "cpuPools": dump(cfg.cpu_pools),
        "layers": {
            "sharedFileSystem": platform.shared_file_system,
            "gpuFeatureDiscovery": platform.gpu_feature_discovery,
            "workloads": platform.workloads.model_dump(mode="json", by_alias=True, exclude_none=True),
        },
        "roles": dump(cfg.namespaces),
    }
    if cfg.tpu_pools:
        body["tpuPools"] = dump(cfg.tpu_pools)
    return json.dumps(body, sort_keys=True)


def primary_parity(primary_stack: str) -> Optional[str]:
    """The primary's parity from stacks/Pulumi.<primary>.yaml when this checkout has it (the
    offline preview and `pulumi` run from the project root); None otherwise. Never needs the
    primary's region or state."""
    from .config.read import load

    path = STACKS_DIR / f"Pulumi.{primary_stack}.yaml"
    if not path.is_file():
        return None
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        prefix = "ml-clusters:"
        # Secrets stay unread: a placeholder stands in for each (parity never looks at them).
        raw = {k[len(prefix):]: ("[secret]" if isinstance(v, dict) and "secure" in v else v)
               for k, v in (doc.get("config") or {}).items() if k.startswith(prefix)}
        return parity(load(raw))
    except Exception:  # a broken primary file is the primary's preview's to report
        return None


def effective_config(cfg: StackConfig, plan: Optional[DrPlan]) -> StackConfig:
    """What the backend builds. An idle standby keeps its GPU pools at 0 nodes (the stack file
    states the primary's sizes, so failover needs nothing from the primary); failover
    restores those sizes by simply using the file as written."""
    if plan is None or not plan.standby_idle:
        return cfg
    pools = [p.model_copy(update={"min_nodes": 0, "warm_nodes": 0}) for p in cfg.gpu_pools]
    # TPU slices likewise: none kept up on an idle standby.
    tpu_pools = [p.model_copy(update={"min_slices": 0}) for p in cfg.tpu_pools]
    return cfg.model_copy(update={"gpu_pools": pools, "tpu_pools": tpu_pools})


def noncurrent_version_days(cfg: StackConfig) -> int:
    """How long a store keeps an object version after it stops being current (overwritten,
    or deleted by Velero's TTL, kopia maintenance or a user): the backup retention
    (`dr.backupRetention`, or its default without `dr`) in whole days, rounded up. Lifecycle
    rules act on noncurrent versions only, so no live backup or model is ever expired by them;
    a deleted backup stays recoverable for one more retention period."""
    retention = cfg.dr.backup_retention if cfg.dr is not None else DisasterRecovery.model_fields["backup_retention"].default
    return -(-duration_hours(retention) // 24)


def short_hash(text: str, n: int = 6) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def bucket_name(owner: str, kind: str, region: str) -> str:
    """An S3-style bucket name, the same whichever stack computes it: `<cluster>-<kind>-<region>`."""
    return f"{owner}-{kind}-{region}"[:63].rstrip("-")


def compact_name(owner: str, salt: str, max_len: int) -> str:
    """A lowercase alphanumeric name (Azure storage accounts, ACR), unique per owner and salt."""
    base = re.sub(r"[^a-z0-9]", "", owner)
    suffix = short_hash(f"{owner}/{salt}", 8)
    return f"{base[: max_len - len(suffix)]}{suffix}"
