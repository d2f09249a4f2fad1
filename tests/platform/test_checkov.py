"""Checkov's Kubernetes checks on the rendered manifests (what `python -m preview <stack>
--manifests DIR` writes) of every stack in stacks/ and of a MIG pool on EKS (where the
platform adds NVIDIA's mig-manager). Nothing may fail; each check an object skips carries its
reason as a `checkov.io/skip<N>: <CKV id>=<reason>` annotation on that object (the form
Checkov's kubernetes runner reads: checkov/kubernetes/kubernetes_utils.py get_skipped_checks).

Checkov runs from its own venv (requirements-checkov.txt; the Makefile builds .venv-checkov),
or from $CHECKOV. Without it the tests skip loudly on a developer machine and fail in CI.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from components import catalog
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
    rendered = tmp_path_factory.mktemp("manifests")
    for stack in engine.available_stacks():
        report.write_manifests(plan_for_stack(stack), rendered / stack)
    mig = harness.eks_shape([
        harness.pool("h100", "p5.48xlarge", sharing={"mig": {"strategy": "mixed", "profile": "1g.10gb"}}),
        harness.pool("l4", "g6.xlarge", sharing={"timeSlicing": {"replicas": 4}}),
    ])
    serving = harness.namespaces({"name": "team-a", "team": "a", "group": "team-a", "gpus": 2})
    report.write_manifests(harness.run_platform(mig, {"gpuFeatureDiscovery": True}, serving).plan, rendered / "eks-mig")
    root, carriers = unique_manifests(rendered, tmp_path_factory.mktemp("scanned"))
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
    return {"failed": failed, "skipped": skipped, "passed": passed, "root": root, "carriers": carriers}


def unique_manifests(rendered: Path, root: Path) -> tuple[Path, dict[str, list[str]]]:
    """Copy each distinct manifest once (most objects are the same on every stack, and Checkov's
    time grows with the files it reads), and say which stacks carry each copy: file name ->
    stack directories."""
    first: dict[bytes, str] = {}
    carriers: dict[str, list[str]] = {}
    for path in sorted(rendered.rglob("*.yaml")):
        relative, digest = path.relative_to(rendered), hashlib.sha256(path.read_bytes()).digest()
        if digest not in first:
            first[digest] = relative.as_posix()
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, root / relative)
            carriers[first[digest]] = []
        carriers[first[digest]].append(relative.parts[0])
    return root, carriers


def where(scan: dict, check: dict) -> str:
    """The stacks whose manifests hold the object a check names (Checkov's file_path is
    relative to the scanned directory, with a leading slash)."""
    return ", ".join(scan["carriers"][check["file_path"].lstrip("/")])


def test_unique_manifests_keeps_one_copy_and_names_every_stack_that_has_it(tmp_path):
    rendered = tmp_path / "rendered"
    for stack, text in (("a", "same"), ("b", "same"), ("c", "other")):
        (rendered / stack).mkdir(parents=True)
        (rendered / stack / "ns.yaml").write_text(text)
    root, carriers = unique_manifests(rendered, tmp_path / "scanned")
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*.yaml")) == ["a/ns.yaml", "c/ns.yaml"]
    assert carriers == {"a/ns.yaml": ["a", "b"], "c/ns.yaml": ["c"]}


def test_checkov_finds_nothing_on_any_stack(scan):
    problems = [f"{c['check_id']} {c['check_name']}: {c['resource']} ({where(scan, c)})" for c in scan["failed"]]
    assert not problems, "\n".join(sorted(set(problems)))
    assert len(scan["passed"]) > 100  # it did check something
    assert all(where(scan, c) for c in scan["passed"])  # a finding would name its stacks
    # Every stack's manifests were read: each stack carries at least one scanned file.
    assert {s for stacks in scan["carriers"].values() for s in stacks} == set(engine.available_stacks()) | {"eks-mig"}


def test_every_skip_carries_a_reason(scan):
    assert scan["skipped"]  # the GPU agents do skip some checks
    for check in scan["skipped"]:
        comment = check.get("check_result", {}).get("suppress_comment", "")
        assert comment and comment != "No comment provided", check["check_id"] + " " + check["resource"]


GPU_AGENTS = {"nvidia-device-plugin", "gpu-feature-discovery", "dcgm-exporter", "nvidia-mig-manager"}
# Besides the GPU agents, the objects the platform renders for third-party images it does not
# build: the metadata databases (components/platform/workloads/metadata_db.py SKIPS) and
# Katib's controller, its role and database manager (tuning.py), each skip with its reason.
WORKLOAD_SKIPPERS = {"argo-postgres", "katib-postgres", "katib-controller", "katib-db-manager"}


def test_only_the_gpu_agents_and_the_named_workload_parts_skip_checks(scan):
    owners = {c["resource"].rsplit(".", 1)[-1] for c in scan["skipped"]}
    # GKE's GPU fabric agents and AKS's peermem loader change the node as their upstream
    # manifests do (components/clouds/{gcp,azure}/fabric.py).
    fabric_agents = {"device-injector", "nccl-tcpx-installer", "nccl-tcpxo-installer", "nccl-rdma-installer",
                     "nvidia-peermem-loader"}
    # And the NCCL acceptance test of each fabric pool (workloads/nccl.py: root sshd, IPC_LOCK, a tag-only image).
    nccl = {o for o in owners if o.startswith("nccl-")} - fabric_agents
    # And the warm GPU node placeholders (platform/warm.py): exactly the probes (they only sleep),
    # the digest (the serving image is tag-only) and IfNotPresent (the cached image is their point).
    warm = {o for o in owners if o.startswith("warm-")}
    assert warm and {c["check_id"] for c in scan["skipped"] if c["resource"].rsplit(".", 1)[-1] in warm} == \
        {"CKV_K8S_8", "CKV_K8S_9", "CKV_K8S_15", "CKV_K8S_43"}
    nccl |= warm
    assert owners - nccl <= GPU_AGENTS | WORKLOAD_SKIPPERS | fabric_agents | {"kured"}, owners
    # Every GPU agent's image is pinned by digest, so none skips the digest check (CKV_K8S_43)
    # or the pull-policy check (CKV_K8S_15, which IfNotPresent passes only with a digest); nor
    # does the database, pinned by digest too. Katib's images, the GPU repair agent kured, the
    # NCCL test images and Google's fabric installers are pinned by tag only (no public file
    # records their digests); the installers pull Always.
    def skippers(check_id: str) -> set[str]:
        return {c["resource"].rsplit(".", 1)[-1] for c in scan["skipped"] if c["check_id"] == check_id} - nccl
    assert skippers("CKV_K8S_15") <= {"kured"}
    assert skippers("CKV_K8S_43") <= {"katib-controller", "katib-db-manager", "kured"} | fabric_agents
    assert "@" not in catalog.IMAGES["kured"]
