"""The offline preview end to end: what a new user runs first, and CI's smoke test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components.catalog import spot
from preview import engine
from preview.__main__ import main
from tests.conftest import fresh_plans

ROOT = Path(__file__).resolve().parents[2]
STACKS = engine.available_stacks()


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_previews_cleanly(stack, capsys, tmp_path):
    code, out = run(capsys, stack, "--json", str(tmp_path / "plan.json"), "--manifests", str(tmp_path / "manifests"))
    assert code == 0, out
    assert out.rstrip().endswith(f"stack {stack} is valid")
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert plan["stack"] == stack and plan["project"] == "ml-clusters"
    assert set(plan) == {"stack", "project", "resources", "outputs", "gpu_pools", "tpu_pools", "policy", "dr", "cost", "timeToReady", "choices", "capacity"}
    assert not [v for v in plan["policy"]["violations"] if v["level"] == "mandatory"]
    assert "[secret]" in json.dumps(plan["outputs"]["kubeconfig"])
    urns = {r["urn"] for r in plan["resources"]}
    for resource in plan["resources"]:
        assert set(resource) == {"urn", "type", "name", "parent", "inputs", "protect", "dependsOn"}
        assert set(resource["dependsOn"]) <= urns
    # On a cluster this stack creates, every Kubernetes object waits for something (the cluster
    # at least); on an existing cluster the provider's kubeconfig is static and need not.
    k8s = [r for r in plan["resources"] if r["type"].startswith("kubernetes:")]
    assert k8s and (stack == "local" or all(r["dependsOn"] for r in k8s))


def test_aws_stacks_show_tree_pools_and_outputs(capsys):
    code, out = run(capsys, "prod-aws", "--full")
    assert code == 0, out
    assert "mlclusters:index:MlCluster  ml-prod-aws" in out
    assert "mlclusters:clouds:EksCluster  ml-prod-aws" in out
    assert "aws:eks/nodeGroup:NodeGroup  ml-prod-aws-l4infer" in out
    assert "kubernetes:karpenter.sh/v1:NodePool  ml-prod-aws-h100-nodepool" in out  # h100 is Karpenter's
    # GPU pool table: on-demand H100 pool 0-4 at $55.04/h per node; L4 pool 1-6 at $0.9776/h.
    assert "p5.48xlarge" in out and "NVIDIA H100 80GB" in out and "0-4" in out and "$220.16" in out
    assert "g6.2xlarge" in out and "1-6" in out and "$0.98" in out and "$5.87" in out
    assert "kubeconfig" in out and "[secret]" in out


def test_dev_pool_is_spot_at_the_catalogs_spot_reading(capsys, tmp_path):
    code, out = run(capsys, "dev-aws", "--json", str(tmp_path / "p.json"))
    assert code == 0, out
    pools = json.loads((tmp_path / "p.json").read_text())["gpu_pools"]
    reading = spot.spot_price("aws", "g6.xlarge")  # components/catalog/spot.py
    assert pools == [
        {
            "name": "l4", "cloud": "aws", "instanceType": "g6.xlarge", "gpuModel": "NVIDIA L4", "gpusPerNode": 1,
            "minNodes": 0, "maxNodes": 2, "spot": True, "usdPerHourMin": 0.0, "usdPerHourMax": round(reading.high * 2, 4),
            "priceBasis": reading.basis, "priceRegion": "us-east-1", "priceDate": reading.read, "sharing": "",
            # g6.xlarge has no fabric (catalog).
            "fabric": "", "fabricNics": 0, "lineRateGbps": 0, "expectedBusbwGbs": None,
        }
    ]


@pytest.mark.parametrize("stack", ["dev-aws", "prod-aws"])
def test_same_stack_twice_gives_byte_identical_json(stack, capsys, tmp_path):
    # The first run takes the run's shared plan (evaluated earlier, perhaps by the other test
    # process), the second evaluates the program afresh.
    assert main([stack, "--json", str(tmp_path / "a.json")]) == 0
    with fresh_plans():
        assert main([stack, "--json", str(tmp_path / "b.json")]) == 0
    capsys.readouterr()
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_manifests_are_one_yaml_file_per_kubernetes_object(capsys, tmp_path):
    code, out = run(capsys, "dev-aws", "--json", str(tmp_path / "p.json"), "--manifests", str(tmp_path / "m"))
    assert code == 0, out
    plan = json.loads((tmp_path / "p.json").read_text())
    objects = [
        r for r in plan["resources"]
        if r["type"].startswith("kubernetes:") and not r["type"].startswith(("kubernetes:helm.sh/", "pulumi:"))
    ]
    files = sorted((tmp_path / "m").glob("*.yaml"))
    assert len(files) == len(objects)
    for f in files:
        doc = yaml.safe_load(f.read_text())
        assert {"apiVersion", "kind", "metadata"} <= set(doc)


def test_unknown_stack_is_a_usage_error(capsys):
    code, out = run(capsys, "nope")
    assert code == 2
    assert out.strip() == f"stack 'nope': no file {ROOT / 'stacks' / 'Pulumi.nope.yaml'}; stacks: {', '.join(STACKS)}"


def test_bad_stack_file_gives_one_line_per_problem_and_exit_1(capsys, tmp_path):
    bad = tmp_path / "Pulumi.broken.yaml"
    bad.write_text(
        yaml.safe_dump(
            {
                "config": {
                    "ml-clusters:cloud": "aws",
                    "ml-clusters:region": "us-east-1",
                    "ml-clusters:network": {"privateApi": True},
                    "ml-clusters:gpuPools": [{"name": "l4", "instanceType": "g6.xlarge", "minNodes": 3, "maxNodes": 1, "spto": True}],
                }
            }
        )
    )
    code, out = run(capsys, str(bad), "--json", str(tmp_path / "p.json"))
    assert code == 1
    assert out.splitlines() == [
        "gpuPools[0].spto: unknown key (did you mean spot?); allowed keys: arch, capacity, diskGb, gpu, gpusPerNode, instanceType, interconnect, interconnectSpotReason, interconnectWaiver, maxNodes, minGpuMemoryGb, minMemoryGb, minNodes, minVcpus, name, provisioner, sharing, spot, warmNodes",
        "gpuPools[0].maxNodes: 1 is less than minNodes 3",
        "preview failed: 2 problems in Pulumi.broken.yaml; nothing was created",
    ]
    # --json on invalid config: the problems, as JSON.
    assert json.loads((tmp_path / "p.json").read_text()) == {
        "stack": "broken", "file": str(bad), "valid": False, "problems": out.splitlines()[:-1],
    }


def test_unquoted_version_keeps_its_text(tmp_path):
    # YAML reads 1.30 as the float 1.3; Pulumi keeps the text, and so does the preview.
    f = tmp_path / "Pulumi.v.yaml"
    f.write_text("config:\n  ml-clusters:cloud: aws\n  ml-clusters:region: us-east-1\n  ml-clusters:kubernetesVersion: 1.30\n")
    values, _ = engine.read_stack_config(str(f))
    assert values["ml-clusters:kubernetesVersion"] == "1.30"


def test_command_line_exit_codes_and_no_traceback(tmp_path):
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text("config:\n  ml-clusters:cloud: gcpp\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "preview", str(bad)], cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.splitlines()[0] == "cloud: 'gcpp' is not allowed; allowed: aws, gcp, azure, existing"
    # A valid stack exits 0; its file's name alone is found in stacks/ from any directory.
    ok = subprocess.run([sys.executable, "-m", "preview", "Pulumi.dev-aws.yaml", "--quiet"], cwd=tmp_path, capture_output=True, text=True,
                        env={**env, "COLUMNS": "160"}, timeout=180)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.rstrip().endswith("stack dev-aws is valid")


def test_yaml_syntax_error_names_the_file_line_and_column(capsys, tmp_path):
    bad = tmp_path / "Pulumi.c.yaml"
    bad.write_text("config:\n  ml-clusters:cloud: aws\n  ml-clusters:region: [us\n")
    code, out = run(capsys, str(bad))
    assert code == 1  # a config problem like any other
    assert out.splitlines() == [
        f"{bad}:4:1: not valid YAML: expected ',' or ']', but got '<stream end>'",
        "preview failed: 1 problem in Pulumi.c.yaml; nothing was created",
    ]


def test_long_problem_lines_are_not_wrapped_and_all_are_reported(capsys, tmp_path):
    bad = tmp_path / "Pulumi.b.yaml"
    bad.write_text(
        "config:\n  ml-clusters:cloud: existing\n  ml-clusters:existing: {kubeconfig: /nope/kubeconfig}\n"
        "  ml-clusters:namespaces: [{name: Bad_NS, team: x, group: g}]\n"
    )
    code, out = run(capsys, str(bad))
    assert code == 1
    assert out.splitlines() == [
        "existing.kubeconfig: '/nope/kubeconfig' does not exist (looked at /nope/kubeconfig); "
        "allowed: a path to a kubeconfig file, absolute or relative to the project root",
        "namespaces[0].name: 'Bad_NS' is not a valid namespace name; allowed: lowercase letters, digits and '-', at most 63",
        "preview failed: 2 problems in Pulumi.b.yaml; nothing was created",
    ]
