"""The preview's disaster-recovery posture: each store, where it lives, its replica, the
mechanism and the RPO the cloud states ("SLA" or "typical"), the backup schedule and the
standby stack. The same data goes into the JSON plan under `dr`."""

from __future__ import annotations

import importlib
from typing import Any, Optional

from rich.console import Console
from rich.markup import escape

from components.config import StackConfig
from components.dr import BACKUP_SCHEDULE_NAME, effective_config, plan_for

from .fold import Col, print_line, print_table


def built_config(cfg: StackConfig, stack: str) -> StackConfig:
    """The config the backend builds from (an idle standby's GPU pools at 0 nodes)."""
    return effective_config(cfg, plan_for(cfg, stack))


def summary(cfg: StackConfig, stack: str) -> Optional[dict[str, Any]]:
    """The DR posture of a stack, JSON-ready; None when the stack has no `dr`."""
    plan = plan_for(cfg, stack)
    if plan is None:
        return None
    stores = importlib.import_module(f"components.clouds.{cfg.cloud}.stores")
    rows = stores.describe(cfg, plan)
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
        "backupSchedule": backups,
        "restore": (f"requested: latest backup of schedule {BACKUP_SCHEDULE_NAME}" if plan.restore_requested else None),
        "gpuPools": "at 0 nodes until failover" if plan.standby_idle else "as configured",
        "stores": rows,
    }


def print_dr(con: Console, info: Optional[dict[str, Any]]) -> None:
    if info is None:
        con.print("disaster recovery: none (no `dr` in this stack)")
        return
    title = f"disaster recovery ({info['role']}{', FAILED OVER' if info['failover'] else ''})"
    columns = [Col(h, wrap=True) for h in ("store", "lives", "replica", "mechanism", "RPO")]
    rows = [[escape(row[k]) for k in ("store", "lives", "replica", "mechanism", "rpo")] for row in info["stores"]]
    print_table(con, title, columns, rows)
    print_line(con, f"  stated RPO: {info['rpoMinutes']} min; backups: {info['backupSchedule']}", markup=False)
    standby = info["standbyStack"] or "-"
    print_line(con, f"  standby stack: {standby}; GPU pools: {info['gpuPools']}", markup=False)
    if info["restore"]:
        print_line(con, f"  restore: {info['restore']}", markup=False)
