"""The preview's DR table and the JSON plan's `dr` key."""

from __future__ import annotations

import json

import pytest

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
    assert store["rpo"] == "15 min (typical, no SLA)" and "(westus3" in store["replica"]
    assert "no SLA" in out and "disaster recovery (primary)" in out
    assert "0 * * * * (UTC), kept 30d" in out


def test_aws_rows_name_each_store_its_replica_mechanism_and_sla(tmp_path, capsys):
    dr, _ = run("prod-aws", tmp_path, capsys)
    stores = {r["store"]: r for r in dr["stores"]}
    assert set(stores) == {"model store", "cluster backups", "container registry"}
    assert stores["model store"]["lives"] == "s3://ml-prod-aws-models-us-east-1 (us-east-1)"
    assert stores["model store"]["replica"] == "s3://ml-prod-aws-models-us-west-2 (us-west-2)"
    assert stores["model store"]["rpo"] == "15 min (SLA)" and "Replication Time Control" in stores["model store"]["mechanism"]


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
