"""What the preview shows and writes, checked against what a user would lose if it were wrong:
a mandatory policy that no longer fails the run, a secret in a file, a total that adds the
wrong column, a time-to-ready that ignores a wait, a stack file Pulumi would refuse."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from components.catalog import prices, timings
from components.config import load, raw_from_pulumi
from policies import offline
from preview import engine, ready
from preview.__main__ import main
from preview.cost import stack_cost
from tests.conftest import plan_for_stack

ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


def write_stack(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def secret_leaves(value, inside: bool = False) -> set[str]:
    """Every string a plan holds inside a Pulumi secret (unwrapped)."""
    if engine.is_secret(value):
        return secret_leaves(value["value"], True)
    if isinstance(value, dict):
        return set().union(*(secret_leaves(v, inside) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(secret_leaves(v, inside) for v in value)) if value else set()
    return {value} if inside and isinstance(value, str) and len(value) >= 8 else set()


# --- Exit codes --------------------------------------------------------------------------


def test_a_mandatory_policy_violation_fails_the_preview(capsys, tmp_path):
    # staging allows 32 GPUs (policies/config/staging.json gpu-max-gpus-per-stack, mandatory):
    # five 8-GPU nodes are 40.
    stack = write_stack(tmp_path, "big", (
        "config:\n  ml-clusters:cloud: aws\n  ml-clusters:region: us-east-1\n  ml-clusters:environment: staging\n"
        "  ml-clusters:network: {apiAllowedCidrs: [203.0.113.0/24]}\n"
        "  ml-clusters:gpuPools: [{name: h100, instanceType: p5.48xlarge, minNodes: 0, maxNodes: 5}]\n"))
    code, out = run(capsys, str(stack))
    assert code == 1
    assert "[gpu-max-gpus-per-stack]" in out and "40 GPUs" in out
    assert out.splitlines()[-1] == "preview failed: 1 mandatory policy violation; see above"


# --- Secrets never leave the plan in clear -------------------------------------------------


@pytest.mark.parametrize("stack", ["prod-aws", "local"])
def test_no_secret_value_reaches_the_json_plan_or_the_manifests(stack, capsys, tmp_path):
    plan = plan_for_stack(stack)
    secrets = set().union(*(secret_leaves(r.inputs) for r in plan.resources)) | secret_leaves(plan.outputs, False)
    secrets |= {v for v in secret_leaves({"k": plan.outputs.get("kubeconfig")}) if len(v) > 20}
    assert secrets, "the stack holds secrets (Grafana's admin password at least)"
    code, out = run(capsys, stack, "--json", str(tmp_path / "plan.json"), "--manifests", str(tmp_path / "m"))
    assert code == 0, out
    written = [tmp_path / "plan.json", *(tmp_path / "m").rglob("*.yaml")]
    for path in written:
        text = path.read_text()
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"{path.name} holds a secret value"


def test_the_secret_manifest_keeps_its_shape_with_masked_values(capsys, tmp_path):
    code, out = run(capsys, "prod-aws", "--manifests", str(tmp_path))
    assert code == 0, out
    secret = yaml.safe_load((tmp_path / "secret-monitoring-grafana-admin.yaml").read_text())
    plan = plan_for_stack("prod-aws")
    [planned] = [r for r in plan.by_type("kubernetes:core/v1:Secret") if r.inputs["metadata"]["name"] == "grafana-admin"]
    keys = set(engine.unwrap_secrets(planned.inputs["stringData"]))
    # kubectl apply takes it: the same keys, every value masked.
    assert secret["kind"] == "Secret" and set(secret["stringData"]) == keys
    assert set(secret["stringData"].values()) == {"[secret]"}


def test_manifests_remove_stale_files_and_write_each_helm_releases_values(capsys, tmp_path):
    stale = tmp_path / "deployment-old-gone.yaml"
    stale.write_text("kind: Deployment\n")
    (tmp_path / "helm-values").mkdir()
    (tmp_path / "helm-values" / "removed-release.yaml").write_text("{}\n")
    code, out = run(capsys, "prod-aws", "--manifests", str(tmp_path))
    assert code == 0, out
    assert not stale.exists() and not (tmp_path / "helm-values" / "removed-release.yaml").exists()
    plan = plan_for_stack("prod-aws")
    releases = {engine.redact(r.inputs)["name"]: engine.redact(r.inputs) for r in plan.by_type("kubernetes:helm.sh/v3:Release")}
    files = {p.stem: p for p in (tmp_path / "helm-values").glob("*.yaml")}
    assert set(files) == set(releases)
    for name, release in releases.items():
        assert yaml.safe_load(files[name].read_text()) == (release.get("values") or {}), name
    assert f"and {len(releases)} Helm values files to {tmp_path}" in out


# --- Cost ----------------------------------------------------------------------------------


def test_cost_totals_add_each_column_and_month_is_730_hours(capsys, tmp_path):
    code, out = run(capsys, "prod-aws", "--json", str(tmp_path / "p.json"))
    assert code == 0, out
    cost = json.loads((tmp_path / "p.json").read_text())["cost"]
    lines = cost["lines"]
    assert cost["total"]["usdPerHourMax"] == pytest.approx(sum(line["usdPerHourMax"] for line in lines))
    assert cost["total"]["usdPerHourMin"] == pytest.approx(sum(line["usdPerHourMin"] for line in lines))
    assert cost["total"]["usdPerHourMin"] < cost["total"]["usdPerHourMax"]
    assert cost["total"]["usdPerMonthMax"] == pytest.approx(cost["total"]["usdPerHourMax"] * 730, abs=0.01)
    items = {line["item"]: line for line in lines}
    # prod-aws: H100 pool 0-4 x p5.48xlarge at $55.04/h; EKS $0.10/h; three NAT gateways (one per zone, prod).
    assert items["GPU pool h100: 0-4 x p5.48xlarge"]["usdPerHourMax"] == pytest.approx(4 * 55.04)
    assert items["GPU pool h100: 0-4 x p5.48xlarge"]["usdPerHourMin"] == 0
    assert items["EKS control plane"]["usdPerHourMin"] == 0.10
    assert items["NAT gateways (3)"]["usdPerHourMax"] == pytest.approx(3 * prices.SERVICE_PRICES["aws"]["nat-gateway"].usd)
    assert items["system pool: 3-6 x m7i.xlarge"]["usdPerHourMax"] == pytest.approx(6 * 0.2016)
    assert any("EFS" in item for item in cost["notPriced"])
    # The GPU table's total row adds the max column for max and the min column for min.
    total_row = next(line for line in out.splitlines() if line.strip().startswith("total") and "38 max" in line)
    assert "$0.98" in total_row and "$226.03" in total_row


def test_the_aks_control_plane_is_priced_by_its_tier():
    plan = plan_for_stack("prod-azure")
    values, _ = engine.read_stack_config("prod-azure")
    cfg = load(raw_from_pulumi(values)[0])
    items = {line.item: line for line in stack_cost(cfg, plan).lines}
    # components/clouds/azure/cluster.py: prod clusters use the Standard tier (uptime SLA).
    assert items["AKS control plane (Standard tier)"].usd_per_hour_max == 0.10
    assert not [i for i in items if "node disks" in i]  # ephemeral OS disks: no disk charge


def test_sharing_column_shows_time_slicing_and_mig(capsys, tmp_path):
    stack = write_stack(tmp_path, "mig", (
        "config:\n  ml-clusters:cloud: aws\n  ml-clusters:region: us-east-1\n  ml-clusters:network: {privateApi: true}\n"
        "  ml-clusters:gpuPools:\n"
        "    - {name: a100, instanceType: p4d.24xlarge, maxNodes: 1, sharing: {mig: {profile: 1g.5gb}}}\n"
        "    - {name: l4, instanceType: g6.xlarge, maxNodes: 1, sharing: {timeSlicing: {replicas: 3}}}\n"))
    code, out = run(capsys, str(stack), "--json", str(tmp_path / "p.json"))
    pools = {p["name"]: p["sharing"] for p in json.loads((tmp_path / "p.json").read_text())["gpu_pools"]}
    # NVIDIA MIG user guide: a 1g profile fits 7 times on an A100.
    assert pools == {"a100": "MIG 1g.5gb x7 (single)", "l4": "time-slicing x3"}
    assert "MIG 1g.5gb x7 (single)" in out and "time-slicing x3" in out


def test_existing_cluster_header_and_pools_have_no_cloud_words_or_node_ranges(capsys):
    code, out = run(capsys, "local")
    assert code == 0, out
    header = out.splitlines()[0]
    assert header.startswith("ml-clusters stack local: an existing cluster (context kind-ml-local), dev, Kubernetes 1.35;")
    assert "existing existing" not in out
    pools = out[out.index("GPU pools"):out.index("time to ready")]
    assert "nodes" not in pools.splitlines()[1] and "0-2" not in pools
    # local-path volumes are plain directories (existing.storageEncrypted false): advisory in dev.
    assert re.match(r"\d+ resources, 1 GPU pool, 2 policy findings \(0 mandatory\)", out.splitlines()[-1])
    assert "existing.storageEncrypted" in out


# --- Time to ready -------------------------------------------------------------------------


def _resource(name: str, type_: str, deps: tuple[str, ...] = ()) -> engine.PlannedResource:
    return engine.PlannedResource(urn=f"urn:{name}", type=type_, name=name, parent=None, custom=True, inputs={},
                                  dependencies=tuple(f"urn:{d}" for d in deps))


def test_time_to_ready_is_the_longest_dependency_path():
    cluster, pool, obj = "aws:eks/cluster:Cluster", "aws:eks/nodeGroup:NodeGroup", "kubernetes:core/v1:Namespace"
    plan = engine.Plan(stack="t", project="p", resources=[
        _resource("c-eks", cluster),
        _resource("c-system", pool, ("c-eks",)),
        _resource("c-gpu", pool, ("c-eks",)),
        _resource("c-gpu2", pool, ("c-gpu",)),  # a pool that waits for another pool
        _resource("c-ns", obj, ("c-system", "c-gpu2")),  # the platform waiting for GPU pools
    ])
    t = {k: timings.creation_seconds(v)[0] for k, v in (("c", cluster), ("p", pool), ("o", obj))}
    result = ready.estimate(plan, ["gpu", "gpu2"])
    assert result.seconds == t["c"] + 2 * t["p"] + t["o"]
    assert [s.name for s in result.path] == ["c-eks", "c-gpu", "c-gpu2", "c-ns"]
    assert [s.start for s in result.path] == [0, t["c"], t["c"] + t["p"], t["c"] + 2 * t["p"]]
    # Without its wait on the GPU pools the object is done after the system pool, and the
    # stack is ready when the slower GPU pool chain is; without the chain, both pools come up at once.
    waits = {s.what: s.saves_seconds for s in result.serializations}
    assert waits == {
        "1 Kubernetes object of the platform waits for the GPU pools, which the platform does not run on": t["o"],
        "2 node pools are created one after another": t["p"],
    }


def test_time_to_ready_of_prod_aws_walks_vpc_cluster_nodes_platform(capsys, tmp_path):
    code, out = run(capsys, "prod-aws", "--json", str(tmp_path / "p.json"))
    assert code == 0, out
    ttr = json.loads((tmp_path / "p.json").read_text())["timeToReady"]
    path = ttr["criticalPath"]
    types = [s["type"] for s in path]
    # The cluster waits for its subnets (VPC first) and for its role's grants and key (role
    # first): both branches take about as long, so either may open the path.
    assert types[0] in ("aws:ec2/vpc:Vpc", "aws:iam/role:Role") and "aws:eks/cluster:Cluster" in types and "aws:eks/nodeGroup:NodeGroup" in types
    assert types.index("aws:eks/cluster:Cluster") < types.index("aws:eks/nodeGroup:NodeGroup")
    # Each step starts when the one before it is done, and the last one ends at the total.
    for before, after in zip(path, path[1:], strict=False):
        assert after["start"] == before["start"] + before["seconds"]
    assert path[-1]["start"] + path[-1]["seconds"] == ttr["seconds"]
    assert f"time to ready: about {ready.minutes(ttr['seconds'])}" in out


# --- Stack files as strict as Pulumi --------------------------------------------------------


@pytest.mark.parametrize("text, line", [
    ("config:\n  ml-clusters:cloud: aws\n  ml-clusters:region: us-east-1\n  ml-clusters:region: us-west-2\n",
     ":4: duplicate key 'ml-clusters:region' (first at line 3)"),
    ("config:\n  ml-clusters:cloud: aws\n  region: us-east-1\n",
     ":3: key 'region' has no namespace; write it as ml-clusters:region"),
    ("config:\n  ml-clusters:cloud: aws\n  ml-cluster:region: us-east-1\n",
     ":3: key 'ml-cluster:region': unknown namespace 'ml-cluster' (did you mean ml-clusters:region?); "
     "allowed: ml-clusters, aws, gcp, azure-native, kubernetes, random, pulumi"),
    ("ml-clusters:cloud: aws\n",
     ":1: no top-level 'config:' mapping; a stack file holds its settings under config: as ml-clusters:<key>"),
    ("config:\n  ml-clusters:cloud: aws\n  ml-clusters:gpuPools:\n    - name: a\n      name: b\n",
     ":5: duplicate key 'name' (first at line 4)"),
])
def test_what_pulumi_refuses_in_a_stack_file_is_one_clear_line(text, line, capsys, tmp_path):
    stack = write_stack(tmp_path, "strict", text)
    code, out = run(capsys, str(stack), "--json", str(tmp_path / "p.json"))
    assert code == 1
    assert out.splitlines() == [f"{stack}{line}", "preview failed: 1 problem in Pulumi.strict.yaml; nothing was created"]
    assert json.loads((tmp_path / "p.json").read_text())["problems"] == [f"{stack}{line}"]


# --- policies.offline on a saved plan -------------------------------------------------------


def test_policies_offline_takes_the_environment_from_the_plan(capsys, tmp_path):
    assert main(["dev-aws", "--quiet", "--json", str(tmp_path / "p.json")]) == 0
    capsys.readouterr()
    assert offline.plan_environment(tmp_path / "p.json") == "dev"
    assert offline.main([str(tmp_path / "p.json"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["environment"] == "dev"


def test_gpu_pool_table_shows_each_pools_fabric_from_the_catalog():
    """The fabric columns: kind, NICs per node, line rate, the expected 2-node bus bandwidth
    (components/catalog FABRICS); `-` for a pool without one, and none when interconnect is none."""
    import io

    from rich.console import Console

    from components import catalog
    from preview import cost, report

    cfg = load({"cloud": "aws", "region": "us-east-1", "network": {"privateApi": True}, "gpuPools": [
        {"name": "h100", "instanceType": "p5.48xlarge"}, {"name": "tcp", "instanceType": "p5.48xlarge", "interconnect": "none"},
        {"name": "l4", "instanceType": "g6.xlarge"}]})
    costs = cost.pool_costs(cfg)
    out = io.StringIO()
    report.print_pools(Console(file=out, width=250), costs)
    text = out.getvalue().splitlines()
    lines = {line.split("│")[0].strip(): [c.strip() for c in line.split("│")] for line in text if "│" in line}
    header = [c.strip() for c in next(line for line in text if "┃" in line).split("┃")]
    at = {name: header.index(name) for name in ("fabric", "NICs", "Gbit/s", "busbw GB/s")}
    p5 = catalog.cloud("aws").fabric("p5.48xlarge")
    assert [lines["h100"][at[k]] for k in at] == [p5.name, str(p5.nics), f"{p5.line_rate_gbps:,}", f"{p5.expected_busbw_gbs:g}"]
    assert [lines["tcp"][at[k]] for k in at] == ["-"] * 4
    assert [lines["l4"][at[k]] for k in at] == ["-"] * 4
