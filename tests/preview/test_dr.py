"""The preview's DR table and the JSON plan's `dr` key."""

from __future__ import annotations

import json

import pytest

from components.catalog.cron import max_interval_minutes
from components.catalog.dr import BACKUP_DURATION_ESTIMATE_MINUTES, FILE_SYSTEM_REPLICATION, STORE_REPLICATION

from preview.__main__ import main


def run(stack: str, tmp_path, capsys) -> tuple[dict, str]:
    path = tmp_path / "plan.json"
    assert main([stack, "--json", str(path)]) == 0
    doc = json.loads(path.read_text())
    run.pools = {p["name"]: p for p in doc["gpu_pools"]}  # type: ignore[attr-defined]
    return doc["dr"], capsys.readouterr().out


def test_azure_primary_says_its_rpo_has_no_sla(tmp_path, capsys):
    dr, out = run("prod-azure", tmp_path, capsys)
    assert dr["role"] == "primary" and dr["standbyStack"] == "prod-azure-dr"
    assert (dr["primaryRegion"], dr["recoveryRegion"]) == ("eastus", "westus3")
    store = next(r for r in dr["stores"] if r["store"] == "model store")
    assert store["rpo"] == STORE_REPLICATION["azure"].rpo_text and "(westus3" in store["replica"]
    # H5: object replication without priority replication states no latency at all.
    assert "no stated figure" in store["rpo"] and "15 min (typical" not in out
    assert "disaster recovery (primary)" in out
    assert "0 * * * * (UTC), kept 30d" in out


def test_aws_rows_name_each_store_its_replica_mechanism_and_sla(tmp_path, capsys):
    dr, _ = run("prod-aws", tmp_path, capsys)
    stores = {r["store"]: r for r in dr["stores"]}
    assert set(stores) == {"model store", "cluster backups", "container registry", "shared file system (ml-shared)"}
    assert stores["model store"]["lives"] == "s3://ml-prod-aws-stores-models-us-east-1 (us-east-1)"
    assert stores["model store"]["replica"] == "s3://ml-prod-aws-stores-models-us-west-2 (us-west-2)"
    assert stores["model store"]["rpo"] == STORE_REPLICATION["aws"].rpo_text and "Replication Time Control" in stores["model store"]["mechanism"]
    # M7: EFS's own figure is an objective, stated as such (no SLA), and names its exceptions.
    assert stores["shared file system (ml-shared)"]["rpo"].startswith("15 min for most file systems")
    assert "no SLA" in stores["shared file system (ml-shared)"]["rpo"]


@pytest.mark.parametrize("stack", ["prod-aws", "prod-gcp", "prod-azure"])
def test_cluster_backup_rpo_is_interval_plus_duration_plus_lag_never_the_replication_sla(stack, tmp_path, capsys):
    """H4: the newest usable backup can be a whole interval old, plus its own upload time,
    plus the time the bucket takes to replicate it."""
    dr, _ = run(stack, tmp_path, capsys)
    stores = {r["store"]: r for r in dr["stores"]}
    rpo = stores["cluster backups"]["rpo"]
    cloud = stack.split("-")[1]
    rep = STORE_REPLICATION[cloud]
    assert rpo != stores["model store"]["rpo"]
    gap = max_interval_minutes("0 * * * *")
    assert f"interval {gap:g} min" in rpo and f"backup ~{BACKUP_DURATION_ESTIMATE_MINUTES} min (estimate)" in rpo
    if rep.sla:
        assert rpo.endswith(f"= {gap + BACKUP_DURATION_ESTIMATE_MINUTES + rep.rpo_minutes:g} min")
    else:
        assert "no upper bound stated" in rpo
    # M7: EFS has its own replica with the figure AWS states; Filestore and Azure Files have
    # none, and the table says their data crosses regions only inside the cluster backups.
    shared = stores["shared file system (ml-shared)"]
    fs_rep = FILE_SYSTEM_REPLICATION.get(cloud)
    if fs_rep is not None:
        assert (shared["mechanism"], shared["rpo"]) == (fs_rep.mechanism, fs_rep.rpo_text)
        assert dr["recoveryRegion"] in shared["replica"]
    else:
        assert shared["mechanism"].startswith("no native cross-region replication configured")
        assert "only inside the cluster backups" in shared["replica"]


@pytest.mark.parametrize("stack", ["prod-aws-dr", "prod-gcp-dr", "prod-azure-dr"])
def test_standby_shows_read_only_backups_and_idle_gpu_pools(stack, tmp_path, capsys):
    dr, out = run(stack, tmp_path, capsys)
    assert dr["role"] == "standby" and dr["failover"] is False and dr["restore"] is None
    assert dr["gpuPools"] == "at 0 nodes until failover"
    assert "read-only" in dr["backupSchedule"]
    # The cost table prices what is built: no GPU node runs on an idle standby.
    assert {name: p["minNodes"] for name, p in run.pools.items()} == dict.fromkeys(run.pools, 0) and run.pools


def test_stack_without_dr_says_so(tmp_path, capsys):
    dr, out = run("local", tmp_path, capsys)
    assert dr is None and "disaster recovery: none" in out


@pytest.mark.parametrize("stack", ["prod-aws", "prod-gcp", "prod-azure"])
def test_the_stated_rpo_says_when_the_cluster_backups_do_not_meet_it(stack, tmp_path, capsys):
    # dr.rpoMinutes bounds only the schedule's gap; the delivered age adds the backup's own
    # duration and the replication lag, so an hourly schedule under a 60-minute RPO misses it.
    dr, out = run(stack, tmp_path, capsys)
    cloud = stack.split("-")[1]
    rep = STORE_REPLICATION[cloud]
    floor = max_interval_minutes("0 * * * *") + BACKUP_DURATION_ESTIMATE_MINUTES
    delivered = floor + (rep.rpo_minutes if rep.sla else 0)
    assert (dr["backupRpoMinutes"], dr["backupRpoBounded"]) == (delivered, bool(rep.sla))
    line = next(line for line in out.splitlines() if "stated RPO:" in line)
    assert line.strip() == (f"stated RPO: {dr['rpoMinutes']} min (not met by the cluster backups: "
                            f"{'up to' if rep.sla else 'at least'} {delivered:g} min, see above)")


def test_a_stated_rpo_the_backups_meet_says_nothing_more():
    from preview.dr import rpo_shortfall

    assert rpo_shortfall({"rpoMinutes": 90, "backupRpoMinutes": 90, "backupRpoBounded": True}) == ""
    assert rpo_shortfall({"rpoMinutes": 89, "backupRpoMinutes": 90, "backupRpoBounded": True}).startswith(" (not met")
