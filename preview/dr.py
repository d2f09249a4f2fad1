"""The preview's disaster-recovery posture: each store, where it lives, its replica, the
mechanism and the RPO each delivers (cluster backups: interval + backup duration + replication
lag, each named), the backup schedule and the
standby stack. The same data goes into the JSON plan under `dr`."""

from __future__ import annotations

import importlib
from typing import Any, Optional

from rich.console import Console
from rich.markup import escape

from components.catalog import dr as dr_catalog
from components.catalog.cron import max_interval_minutes
from components.config import StackConfig
from components.dr import BACKUP_SCHEDULE_NAME, effective_config, plan_for

from .fold import Col, print_line, print_table


def built_config(cfg: StackConfig, stack: str) -> StackConfig:
    """The config the backend builds from (an idle standby's GPU pools at 0 nodes)."""
    return effective_config(cfg, plan_for(cfg, stack))


SHARED_FILE_SYSTEMS = {"aws": "EFS", "gcp": "Filestore", "azure": "Azure Files NFS"}


def delivered_backup_minutes(cloud: str, schedule: str) -> tuple[float, bool]:
    """(minutes, bounded): the worst-case age of the newest usable cluster backup in the
    recovery region; not bounded where the replication lag has no stated figure (the minutes
    are then a lower bound)."""
    rep = dr_catalog.STORE_REPLICATION[cloud]
    floor = max_interval_minutes(schedule) + dr_catalog.BACKUP_DURATION_ESTIMATE_MINUTES
    if rep.stated and not rep.sla:
        return floor, False
    return floor + rep.rpo_minutes, True


def delivered_backup_rpo(cloud: str, schedule: str) -> str:
    """That age with each part named: the schedule's longest gap, the backup's own duration
    (an estimate until a drill measures it) and the bucket's replication lag. Never the
    replication SLA alone (H4)."""
    rep = dr_catalog.STORE_REPLICATION[cloud]
    gap = max_interval_minutes(schedule)
    duration = dr_catalog.BACKUP_DURATION_ESTIMATE_MINUTES
    parts = f"interval {gap:g} min + backup ~{duration} min (estimate) + replication "
    total, bounded = delivered_backup_minutes(cloud, schedule)
    if not bounded:
        return parts + f"lag ({rep.rpo_text}) = at least {total:g} min, no upper bound stated"
    return parts + f"lag {rep.rpo_minutes} min = {total:g} min"


def shared_file_system_row(cloud: str, primary_region: str, recovery_region: str) -> dict[str, str]:
    """M7: EFS replicates natively to the recovery region; Filestore and Azure Files get no
    native cross-region copy here, and their data crosses only inside the cluster backups."""
    fs = SHARED_FILE_SYSTEMS[cloud]
    row = {"store": "shared file system (ml-shared)", "lives": f"{fs} ({primary_region})"}
    rep = dr_catalog.FILE_SYSTEM_REPLICATION.get(cloud)
    if rep is not None:
        return {**row, "replica": f"a read-only {fs} in {recovery_region}; also inside the cluster backups",
                "mechanism": rep.mechanism, "rpo": rep.rpo_text}
    return {**row, "replica": "none of its own: only inside the cluster backups (Velero fs-backup)",
            "mechanism": f"no native cross-region replication configured ({fs})",
            "rpo": "as cluster backups, for volumes mounted by a running pod at backup time"}


def summary(cfg: StackConfig, stack: str) -> Optional[dict[str, Any]]:
    """The DR posture of a stack, JSON-ready; None when the stack has no `dr`."""
    plan = plan_for(cfg, stack)
    if plan is None:
        return None
    stores = importlib.import_module(f"components.clouds.{cfg.cloud}.stores")
    rows = stores.describe(cfg, plan)
    for row in rows:
        if row["store"] == "cluster backups":
            row["rpo"] = delivered_backup_rpo(cfg.cloud, plan.backup_schedule)
    if cfg.platform.shared_file_system and cfg.cloud in SHARED_FILE_SYSTEMS:
        rows.append(shared_file_system_row(cfg.cloud, plan.primary_region, plan.recovery_region))
    dr = cfg.dr
    assert dr is not None
    if plan.standby:
        backups = f"none here (reads {plan.primary_stack}'s replicated backups, read-only)"
    else:
        backups = f"{plan.backup_schedule} (UTC), kept {dr.backup_retention}"
    return {
        "role": plan.role,
        "failover": plan.failover,
        "primaryStack": plan.primary_stack,
        "primaryRegion": plan.primary_region,
        "recoveryRegion": plan.recovery_region,
        "standbyStack": plan.standby_stack or None,
        "rpoMinutes": plan.rpo_minutes,
        # What the cluster backups deliver against it (minutes; a lower bound when not bounded).
        "backupRpoMinutes": delivered_backup_minutes(cfg.cloud, plan.backup_schedule)[0],
        "backupRpoBounded": delivered_backup_minutes(cfg.cloud, plan.backup_schedule)[1],
        "backupSchedule": backups,
        "restore": (f"requested: latest backup of schedule {BACKUP_SCHEDULE_NAME}" if plan.restore_requested else None),
        "gpuPools": "at 0 nodes until failover" if plan.standby_idle else "as configured",
        "stores": rows,
    }


def rpo_shortfall(info: dict[str, Any]) -> str:
    """Said next to the stated RPO when the cluster backups deliver more than it: `dr.rpoMinutes`
    bounds only the schedule's gap (the config check), not the backup's duration or the lag."""
    delivered, bounded = info["backupRpoMinutes"], info["backupRpoBounded"]
    if delivered <= info["rpoMinutes"]:
        return ""
    return f" (not met by the cluster backups: {'at least ' if not bounded else 'up to '}{delivered:g} min, see above)"


def print_dr(con: Console, info: Optional[dict[str, Any]]) -> None:
    if info is None:
        con.print("disaster recovery: none (no `dr` in this stack)")
        return
    title = f"disaster recovery ({info['role']}{', FAILED OVER' if info['failover'] else ''})"
    columns = [Col(h, wrap=True) for h in ("store", "lives", "replica", "mechanism", "RPO")]
    rows = [[escape(row[k]) for k in ("store", "lives", "replica", "mechanism", "rpo")] for row in info["stores"]]
    print_table(con, title, columns, rows)
    print_line(con, f"  stated RPO: {info['rpoMinutes']} min{rpo_shortfall(info)}", markup=False)
    print_line(con, f"  backups: {info['backupSchedule']}", markup=False)
    standby = info["standbyStack"] or "-"
    print_line(con, f"  standby stack: {standby}; GPU pools: {info['gpuPools']}", markup=False)
    if info["restore"]:
        print_line(con, f"  restore: {info['restore']}", markup=False)
