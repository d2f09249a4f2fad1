"""Checkov's Kubernetes checks on the rendered manifests (what `python -m preview <stack>
--manifests DIR` writes) of every stack in stacks/ and of a MIG pool on EKS (where the
platform adds NVIDIA's mig-manager). Nothing may fail; each check an object skips carries its
reason as a `checkov.io/skip<N>: <CKV id>=<reason>` annotation on that object (the form
Checkov's kubernetes runner reads: checkov/kubernetes/kubernetes_utils.py get_skipped_checks).

Checkov runs from its own venv (requirements-checkov.txt; the Makefile builds .venv-checkov),
or from $CHECKOV. Without it the tests skip loudly on a developer machine and fail in CI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from preview import engine, report
from tests.conftest import plan_for_stack
from tests.platform import harness

ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def checkov_binary() -> str | None:
    for candidate in (os.environ.get("CHECKOV"), str(ROOT / ".venv-checkov" / "bin" / "checkov"), shutil.which("checkov")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


CHECKOV = checkov_binary()
if CHECKOV is None:
    if IN_CI:
        raise RuntimeError("checkov is missing in CI: `make test` must build .venv-checkov from requirements-checkov.txt")
    pytestmark = pytest.mark.skip(
        reason="CHECKOV MISSING: run `make checkov-venv` (or set CHECKOV=/path/to/checkov) to run the Checkov tests; CI does"
    )


@pytest.fixture(scope="module")
def scan(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("manifests")
    for stack in engine.available_stacks():
        report.write_manifests(plan_for_stack(stack), root / stack)
    mig = harness.eks_shape([
        harness.pool("h100", "p5.48xlarge", sharing={"mig": {"strategy": "mixed", "profile": "1g.10gb"}}),
        harness.pool("l4", "g6.xlarge", sharing={"timeSlicing": {"replicas": 4}}),
    ])
    serving = harness.namespaces({"name": "team-a", "team": "a", "group": "team-a", "gpus": 2})
    report.write_manifests(harness.run_platform(mig, {"gpuFeatureDiscovery": True}, serving).plan, root / "eks-mig")
    done = subprocess.run(
        [CHECKOV, "--directory", str(root), "--framework", "kubernetes", "--output", "json", "--skip-download"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "LOG_LEVEL": "ERROR"},
    )
    assert done.stdout.strip(), done.stderr[-2000:]
    results = json.loads(done.stdout)
    results = results if isinstance(results, list) else [results]
    failed = [c for r in results for c in r["results"].get("failed_checks", [])]
    skipped = [c for r in results for c in r["results"].get("skipped_checks", [])]
    passed = [c for r in results for c in r["results"].get("passed_checks", [])]
    return {"failed": failed, "skipped": skipped, "passed": passed, "root": root}


def test_checkov_finds_nothing_on_any_stack(scan):
    problems = [f"{c['check_id']} {c['check_name']}: {c['resource']} ({Path(c['file_path']).parent.name})" for c in scan["failed"]]
    assert not problems, "\n".join(sorted(set(problems)))
    assert len(scan["passed"]) > 100  # it did check something


def test_every_skip_carries_a_reason(scan):
    assert scan["skipped"]  # the GPU agents do skip some checks
    for check in scan["skipped"]:
        comment = check.get("check_result", {}).get("suppress_comment", "")
        assert comment and comment != "No comment provided", check["check_id"] + " " + check["resource"]


def test_only_the_gpu_agents_skip_checks(scan):
    owners = {c["resource"].rsplit(".", 1)[-1] for c in scan["skipped"]}
    assert owners <= {"nvidia-device-plugin", "gpu-feature-discovery", "dcgm-exporter", "nvidia-mig-manager"}, owners
    # Every GPU agent's image is pinned by digest, so none skips the digest check (CKV_K8S_43)
    # or the pull-policy check (CKV_K8S_15, which IfNotPresent passes only with a digest).
    assert not [c["resource"] for c in scan["skipped"] if c["check_id"] in ("CKV_K8S_43", "CKV_K8S_15")]
