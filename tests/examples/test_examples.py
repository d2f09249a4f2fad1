"""The examples a team submits: valid against the Kubernetes schema (built-in kinds) or
their CRD's fields at the pinned version (tests/platform/workloads/crds.py), submitted through the team's
LocalQueue, and clean under the policy pack offline."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from components import config as config_module
from components.platform import serving as platform_serving
from components.platform.workloads import queueing, serving, training
from examples.sweep.make_sweep import main as sweep_main
from examples.sweep.make_sweep import sweep
from policies import offline
from policies.rules import workloads as workload_rules
from preview import engine
from tests.conftest import plan_for, plan_for_stack
from tests.platform.workloads import crds
from tests.platform.workloads.helpers import objects, values
from tests.policies.helpers import FakeResource

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TEAM_NAMESPACE = "training"  # a team namespace of stacks/Pulumi.prod-aws.yaml


def load(relative: str) -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / relative).read_text(encoding="utf-8"))


def submitted() -> list[dict[str, Any]]:
    """Every object the examples submit (the sweep as 50 Jobs)."""
    return [load("training/trainjob-resume.yaml"), load("serving/inferenceservice.yaml"), load("serving/inferenceservice-canary.yaml"), *sweep(50)]


def validate(obj: dict[str, Any]) -> None:
    if crds.known(obj["apiVersion"], obj["kind"]):
        assert crds.errors(obj) == [], obj["metadata"]["name"]
    else:
        kubernetes_validate.validate(obj, "1.35", strict=True)


@pytest.mark.parametrize("obj", submitted()[:4], ids=lambda o: f"{o['kind']}-{o['metadata']['name']}")
def test_examples_are_valid_against_their_schemas(obj):
    validate(obj)


def test_all_50_sweep_trials_are_valid_unique_and_queued(capsys):
    jobs = sweep(50)
    for job in jobs:
        kubernetes_validate.validate(job, "1.35", strict=True)
    assert len({j["metadata"]["name"] for j in jobs}) == 50
    assert all(j["metadata"]["labels"][queueing.QUEUE_LABEL] == queueing.LOCAL_QUEUE and j["spec"]["suspend"] for j in jobs)
    # The command line prints the same 50 Jobs as a YAML stream for kubectl apply -f -.
    assert sweep_main(["--trials", "50"]) == 0
    assert list(yaml.safe_load_all(capsys.readouterr().out)) == jobs


def test_the_validator_catches_a_misspelt_custom_resource_field():
    bad = copy.deepcopy(load("training/trainjob-resume.yaml"))
    bad["spec"]["trainer"]["numNode"] = 2
    assert crds.errors(bad) == ["spec.trainer: unknown field 'numNode'"]
    # ... a misspelt field inside an embedded Kubernetes type (the predictor's container) ...
    isvc = copy.deepcopy(load("serving/inferenceservice.yaml"))
    isvc["spec"]["predictor"]["model"]["resource"] = {}
    assert len(crds.errors(isvc)) == 1 and "resource" in crds.errors(isvc)[0]
    # ... and a required field left out.
    del bad["spec"]["trainer"]["numNode"], bad["spec"]["runtimeRef"]
    assert crds.errors(bad) == ["spec: required field 'runtimeRef' is missing"]


def test_the_trainjob_runs_on_two_gpu_nodes_through_the_queue_and_checkpoints():
    job = load("training/trainjob-resume.yaml")
    assert job["metadata"]["labels"] == {queueing.QUEUE_LABEL: queueing.LOCAL_QUEUE}
    trainer = job["spec"]["trainer"]
    assert trainer["numNodes"] == 2
    assert trainer["resourcesPerNode"]["requests"]["nvidia.com/gpu"] == trainer["resourcesPerNode"]["limits"]["nvidia.com/gpu"] == 1
    # The runtime it names is one the platform installs, and it mounts the checkpoint claim
    # where the job writes.
    runtimes = objects(plan_for_stack("prod-aws"), "ClusterTrainingRuntime")
    assert job["spec"]["runtimeRef"]["name"] in runtimes
    env = {e["name"]: e["value"] for e in trainer["env"]}
    assert env["CHECKPOINT_DIR"].startswith(training.CHECKPOINT_PATH + "/")
    script = trainer["command"][-1]
    assert "os.replace(path + \".tmp\", path)" in script and "torch.load(path" in script


def test_the_inferenceservice_scales_on_load_and_the_canary_only_adds_a_canary():
    stable = load("serving/inferenceservice.yaml")
    canary = load("serving/inferenceservice-canary.yaml")
    # KServe v0.20.0 validates spec.canary only with this annotation (inference_service_validation.go).
    assert stable["metadata"]["annotations"] == {serving.DEPLOYMENT_MODE_ANNOTATION: "Standard"}
    predictor = stable["spec"]["predictor"]
    assert (predictor["minReplicas"], predictor["maxReplicas"], predictor["scaleMetric"]) == (1, 4, "cpu")
    resources = predictor["model"]["resources"]
    assert resources["requests"]["nvidia.com/gpu"] == resources["limits"]["nvidia.com/gpu"] == 1
    assert {k: v for k, v in canary["spec"].items() if k != "canary"} == stable["spec"]
    (entry,) = canary["spec"]["canary"]
    assert 0 < entry["trafficPercent"] < 100
    assert entry["predictor"]["name"] != predictor["name"]
    # A canary uses fixed replicas: KServe refuses maxReplicas, scaleTarget, scaleMetric or
    # autoScaling on it.
    assert {"maxReplicas", "scaleTarget", "scaleMetric", "autoScaling"}.isdisjoint(entry["predictor"])
    assert "kubectl patch isvc sentiment --type=json -p '[{\"op\":\"remove\",\"path\":\"/spec/canary\"}]'" in (EXAMPLES / "serving/inferenceservice-canary.yaml").read_text()


def _resource(obj: dict[str, Any], index: int) -> FakeResource:
    group_version = obj["apiVersion"] if "/" in obj["apiVersion"] else f"core/{obj['apiVersion']}"
    body = copy.deepcopy(obj)
    body["metadata"]["namespace"] = TEAM_NAMESPACE
    name = f"example-{index}"
    urn = f"urn:pulumi:prod-aws::ml-clusters::team$kubernetes:{group_version}:{obj['kind']}::{name}"
    return FakeResource(urn=urn, type=f"kubernetes:{group_version}:{obj['kind']}", name=name, inputs=body)


@cache
def _team_namespaces() -> list[engine.PlannedResource]:
    return [r for r in plan_for_stack("prod-aws").resources if r.type == "kubernetes:core/v1:Namespace"]


def test_examples_pass_the_policy_pack_in_a_team_namespace():
    examples = [_resource(obj, i) for i, obj in enumerate(submitted())]
    violations = offline.evaluate([*_team_namespaces(), *examples], "prod")
    assert [v for v in violations if v.urn.startswith("urn:pulumi:prod-aws::ml-clusters::team$")] == []


def test_the_pack_would_flag_an_unqueued_gpu_job_in_a_team_namespace():
    job = sweep(1)[0]
    del job["metadata"]["labels"][queueing.QUEUE_LABEL]
    violations = offline.evaluate([*_team_namespaces(), _resource(job, 0)], "prod")
    assert [(v.policy, v.level) for v in violations if "example-0" in v.urn] == [("workloads-gpu-jobs-queued", "advisory")]


def test_the_notebook_profile_fragment_configures_the_local_stack():
    fragment = load("notebooks/profile.yaml")
    values_, _ = engine.read_stack_config("local")
    raw, problems = config_module.raw_from_pulumi(values_)
    assert not problems
    workloads = raw["platform"].get("workloads", {})
    workloads = {**workloads, "notebooks": {**workloads.get("notebooks", {}), **fragment["workloads"]["notebooks"]}}
    raw["platform"] = {**raw["platform"], "workloads": workloads}
    plan = plan_for(raw, stack="local")
    profiles = {p["slug"]: p for p in values(plan, "jupyterhub")["singleuser"]["profileList"]}
    # One CPU and one GPU profile per team namespace (the local stack has `demo`).
    assert list(profiles) == ["demo-cpu", "demo-l4-single"]
    assert profiles["demo-l4-single"]["kubespawner_override"]["node_selector"] == {"ml-clusters.io/pool": "l4"}


def test_examples_carry_no_namespace_so_a_team_applies_them_in_its_own():
    for obj in submitted():
        assert "namespace" not in obj["metadata"], obj["metadata"]["name"]


def test_a_disrupted_sweep_trial_is_retried_without_using_its_backoff_limit():
    """batch/v1: a pod failure matching a podFailurePolicy rule with action Ignore does not
    count towards backoffLimit; the API requires restartPolicy Never for podFailurePolicy.
    Eviction, preemption and node drain mark the pod with condition DisruptionTarget."""
    for job in sweep(3):
        spec = job["spec"]
        assert spec["template"]["spec"]["restartPolicy"] == "Never"
        assert {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]} in spec["podFailurePolicy"]["rules"]


GPU_ACCOUNT_RULE = "workloads-gpu-pods-accounted"


@pytest.mark.parametrize("stack", ["prod-aws", "staging-gcp", "prod-azure", "local"])
def test_nothing_a_stack_renders_goes_around_the_gpu_account(stack):
    """The pack's reserved priority classes are the ones the rendered `outside-queue` quotas
    are scoped to, and no object the platform renders trips the rule, at any level."""
    plan = plan_for_stack(stack)
    scopes = {tuple(e["values"]) for r in plan.resources if r.type == "kubernetes:core/v1:ResourceQuota"
              and r.inputs["metadata"]["name"] == platform_serving.OUTSIDE_QUEUE_QUOTA
              for e in r.inputs["spec"]["scopeSelector"]["matchExpressions"] if e["scopeName"] == "PriorityClass"}
    assert scopes == {workload_rules.RESERVED_PRIORITY_CLASSES}
    violations = offline.evaluate(plan.resources, "prod")
    assert [v for v in violations if v.policy == GPU_ACCOUNT_RULE] == []


def test_the_pack_would_flag_the_served_model_without_its_reserved_priority_class():
    examples = [_resource(obj, i) for i, obj in enumerate(submitted())]
    assert not [v for v in offline.evaluate([*_team_namespaces(), *examples], "prod") if v.policy == GPU_ACCOUNT_RULE]
    isvc = load("serving/inferenceservice.yaml")
    assert isvc["spec"]["predictor"]["priorityClassName"] in workload_rules.RESERVED_PRIORITY_CLASSES
    del isvc["spec"]["predictor"]["priorityClassName"]
    violations = offline.evaluate([*_team_namespaces(), _resource(isvc, 0)], "prod")
    assert [(v.policy, v.level) for v in violations if "example-0" in v.urn] == [(GPU_ACCOUNT_RULE, "advisory")]
    # So would its canary, were the stable predictor's class gone (the canary inherits it).
    canary = load("serving/inferenceservice-canary.yaml")
    del canary["spec"]["predictor"]["priorityClassName"]
    violations = offline.evaluate([*_team_namespaces(), _resource(canary, 0)], "prod")
    assert len([v for v in violations if v.policy == GPU_ACCOUNT_RULE]) == 2
