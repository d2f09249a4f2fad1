"""dr: a recovery region apart from the primary, an RPO the cloud's replication can back, and a
backup schedule (Velero's cron) that runs within it."""

from __future__ import annotations

import difflib
from typing import Optional

from ... import catalog
from ...catalog import dr as dr_catalog
from ...catalog.cron import CronError, max_interval_minutes
from ..model import StackConfig, to_snake


def dr_problems(cfg: StackConfig, region: Optional[str]) -> list[str]:
    """The `dr` block: a recovery region that is not the primary's, an RPO the cloud's store
    replication can back, and a backup schedule that runs within the RPO."""
    dr = cfg.dr
    if dr is None:
        return []
    out: list[str] = []
    if not cfg.velero_repository_password:
        out.append(
            "veleroRepositoryPassword: required with dr: the password of Velero's kopia repositories, the same on the primary "
            "and its standby; allowed: `pulumi config set --secret veleroRepositoryPassword \"$(openssl rand -base64 32)\"` "
            "on the primary, then the same value on the standby"
        )
    if cfg.cloud == "existing":
        if dr.backup_store is None:
            out.append("dr.backupStore: required on cloud existing: the S3-compatible store Velero writes backups to (url, bucket, credentialsSecret)")
        for key in ("recoveryRegion", "primaryRegion"):
            if getattr(dr, to_snake(key)) is not None:
                out.append(f"dr.{key}: set on cloud existing, which gets backups only (no replicated stores); allowed: leave it out")
        if dr.role != "primary":
            out.append(f"dr.role: {dr.role!r} is not available on cloud existing (backups only, no standby stack); allowed: primary")
    else:
        if dr.backup_store is not None:
            out.append(f"dr.backupStore: set on cloud {cfg.cloud}, whose backups go to the stack's own replicated bucket; allowed: leave it out (cloud existing only)")
        cat = catalog.cloud(cfg.cloud)
        regions = sorted(cat.regions)
        own, other = ("recoveryRegion", "primaryRegion") if dr.role == "primary" else ("primaryRegion", "recoveryRegion")
        if getattr(dr, to_snake(other)) is not None:
            out.append(f"dr.{other}: set on a {dr.role} stack; allowed: set dr.{own} instead (the other region of the pair)")
        pair = getattr(dr, to_snake(own))
        if region is not None:
            pair = pair or cat.regions[region].pair
            if pair is None:
                out.append(f"dr.{own}: not set and the catalog has no DR pair for {region}; allowed: one of {', '.join(r for r in regions if r != region)}")
            elif pair == region:
                out.append(f"dr.{own}: {pair!r} is the stack's own region; a replica there does not survive a region outage; allowed: another {cfg.cloud} region, e.g. {cat.regions[region].pair}")
            elif pair not in cat.regions:
                hint = difflib.get_close_matches(pair, regions, n=1)
                maybe = f" (did you mean {hint[0]}?)" if hint else ""
                out.append(f"dr.{own}: {pair!r} is not a known {cfg.cloud} region{maybe}; allowed: {', '.join(r for r in regions if r != region)}")
            elif cfg.cloud == "gcp" and dr_catalog.gcp_multi_region(pair) != dr_catalog.gcp_multi_region(region):
                same = [r for r in regions if r != region and dr_catalog.gcp_multi_region(r) == dr_catalog.gcp_multi_region(region)]
                out.append(f"dr.{own}: {pair!r} is on another continent than {region}; a dual-region bucket pairs two regions of one multi-region; allowed: {', '.join(same) or 'none in the catalog'}")
        replication = dr_catalog.STORE_REPLICATION[cfg.cloud]
        if dr.rpo_minutes < replication.rpo_minutes:
            out.append(
                f"dr.rpoMinutes: {dr.rpo_minutes} is shorter than {cfg.cloud} can back: {replication.mechanism} "
                f"replicates within {replication.rpo_text}; allowed: {replication.rpo_minutes} or more"
                if replication.sla else
                f"dr.rpoMinutes: {dr.rpo_minutes} is shorter than {cfg.cloud} can back: {replication.mechanism} "
                f"has {replication.rpo_text}; allowed: {replication.rpo_minutes} or more"
            )
    if dr.role == "primary" and dr.failover:
        out.append("dr.failover: true is only meaningful on a standby stack (dr.role standby); allowed: false")
    if dr.role == "standby" and dr.standby_stack is not None:
        out.append("dr.standbyStack: set on a standby stack; allowed: leave it out (set it on the primary)")
    if dr.role == "primary":
        for key in ("primaryStack", "primaryClusterName"):
            if getattr(dr, to_snake(key)) is not None:
                out.append(f"dr.{key}: set on a primary stack; allowed: leave it out (set it on the standby)")
    try:
        gap = max_interval_minutes(dr.backup_schedule)
    except CronError as err:
        out.append(f"dr.backupSchedule: {dr.backup_schedule!r} is not a schedule Velero accepts ({err}); allowed: five cron fields in UTC, e.g. '0 * * * *', or @hourly, @every 30m")
    else:
        if gap > dr.rpo_minutes:
            out.append(
                f"dr.backupSchedule: {dr.backup_schedule!r} leaves up to {gap:g} minutes between backups, longer than dr.rpoMinutes "
                f"{dr.rpo_minutes}; allowed: a schedule that runs at least every {dr.rpo_minutes} minutes, e.g. '{_example_cron(dr.rpo_minutes)}'"
            )
    return out


def _example_cron(rpo_minutes: int) -> str:
    if rpo_minutes >= 60:
        hours = min(rpo_minutes // 60, 24)
        return "0 * * * *" if hours == 1 else f"0 */{hours} * * *" if 24 % hours == 0 else "0 * * * *"
    step = max(d for d in (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30) if d <= rpo_minutes)
    return f"*/{step} * * * *"
