"""The pipeline, tuning and TensorFlow examples: valid against their kinds' fields at the pins
(tests/platform/workloads/crds.py: Argo Workflows v4.0.6, Katib v0.19.0, Trainer v2.3.0,
KServe v0.20.0), with every object a `resource` template creates validated too; GPU work
only in queued kinds; clean under the policy pack in a team namespace."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.platform.workloads import queueing, training, tuning
from policies import offline
from tests.examples.test_examples import TEAM_NAMESPACE, _resource, _team_namespaces, load
from tests.platform.workloads import crds

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
WORKFLOWS = ("pipelines/train-evaluate-deploy.yaml", "tuning/tune-and-register.yaml")


# A workflow parameter that Argo substitutes as YAML (not inside a string), and a value it
# takes: the `model-store` ConfigMap's POD_LABELS is JSON, `{}` off AKS.
SUBSTITUTED = {"{{workflow.parameters.pod-labels}}": '{"azure.workload.identity/use": "true"}'}


def created(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What each `resource` template creates, by template name (Argo's other {{...}} left as text)."""
    out = {}
    for t in workflow["spec"]["templates"]:
        if "resource" in t:
            manifest = t["resource"]["manifest"]
            for token, value in SUBSTITUTED.items():
                manifest = manifest.replace(token, value)
            out[t["name"]] = yaml.safe_load(manifest)
    return out


def every_object() -> list[dict[str, Any]]:
    out = [load("training/trainjob-tensorflow.yaml")]
    for path in WORKFLOWS:
        wf = load(path)
        out += [wf, *created(wf).values()]
    return out


@pytest.mark.parametrize("obj", every_object(), ids=lambda o: f"{o['kind']}-{o['metadata'].get('name') or o['metadata']['generateName']}")
def test_every_object_is_valid_against_its_kind_at_the_pin(obj):
    assert crds.known(obj["apiVersion"], obj["kind"])
    assert crds.errors(obj) == []


def test_the_validator_catches_a_misspelt_workflow_or_experiment_field():
    wf = copy.deepcopy(load(WORKFLOWS[0]))
    wf["spec"]["templates"][0]["steps"][0][0]["templat"] = "prepare"
    assert crds.errors(wf) == ["spec.templates[0].steps[0][0]: unknown field 'templat'"]
    exp = created(load(WORKFLOWS[1]))["tune"]
    exp["spec"]["trialTemplate"]["trialSpec"]["spec"]["backoffLimits"] = 1
    assert len(crds.errors(exp)) == 1 and "backoffLimits" in crds.errors(exp)[0]


def test_the_pipeline_prepares_trains_evaluates_registers_and_deploys():
    wf = load(WORKFLOWS[0])
    steps = [group[0]["name"] for group in wf["spec"]["templates"][0]["steps"]]
    assert steps == ["prepare", "train", "evaluate", "register", "deploy"]
    made = created(wf)
    train, deploy = made["train"], made["deploy"]
    # The GPU step is a TrainJob on the platform's runtime, through the namespace's queue.
    assert train["kind"] == "TrainJob" and train["metadata"]["labels"] == {queueing.QUEUE_LABEL: queueing.LOCAL_QUEUE}
    assert train["spec"]["runtimeRef"]["name"] == training.torch_runtime(True)["metadata"]["name"]
    assert deploy["kind"] == "InferenceService"
    assert deploy["spec"]["predictor"]["model"]["storageUri"] == "{{inputs.parameters.storage-uri}}"
    # The model server reads the store as `workload`, with the identity's pod labels (the
    # model-store ConfigMap's SERVICE_ACCOUNT and POD_LABELS, components/platform/modelstore.py).
    assert deploy["spec"]["predictor"]["serviceAccountName"] == "workload"
    assert deploy["spec"]["predictor"]["labels"] == {"azure.workload.identity/use": "true"}
    params = {p["name"]: p for p in wf["spec"]["arguments"]["parameters"]}
    assert params["pod-labels"]["valueFrom"]["configMapKeyRef"] == {"name": "model-store", "key": "POD_LABELS"}
    # The registered model is an output artifact (the model store) and its URL a parameter.
    register = next(t for t in wf["spec"]["templates"] if t["name"] == "register")
    assert register["outputs"]["artifacts"] == [{"name": "model", "path": "/tmp/model", "archive": {"none": {}}}]
    store = params["model-store"]["valueFrom"]["configMapKeyRef"]
    assert store == {"name": "model-store", "key": "MODEL_STORE_WRITE_URL"}


def test_no_workflow_pod_asks_for_a_gpu_outside_a_queued_kind():
    for path in WORKFLOWS:
        for template in load(path)["spec"]["templates"]:
            for part in ("script", "container"):
                requests = template.get(part, {}).get("resources", {}).get("requests", {})
                assert not any(k.startswith("nvidia.com/") for k in requests), (path, template["name"])


def test_tuning_trials_are_queued_jobs_with_early_stopping_and_the_collector_label():
    exp = created(load(WORKFLOWS[1]))["tune"]
    assert exp["spec"]["earlyStopping"]["algorithmName"] == "medianstop"
    assert exp["spec"]["algorithm"]["algorithmName"] in {"random", "tpe"}
    trial = exp["spec"]["trialTemplate"]["trialSpec"]
    assert f"{trial['kind']}.{trial['apiVersion'].split('/')[1]}.{trial['apiVersion'].split('/')[0]}" in tuning.TRIAL_RESOURCES
    assert trial["metadata"]["labels"] == {queueing.QUEUE_LABEL: queueing.LOCAL_QUEUE}
    key, value = tuning.TRIAL_POD_LABEL
    assert trial["spec"]["template"]["metadata"]["labels"] == {key: value}
    primary = trial["spec"]["template"]["spec"]["containers"][0]
    assert exp["spec"]["trialTemplate"]["primaryContainerName"] == primary["name"]
    # Katib v0.19.0 (webhook/v1beta1/pod/utils.go wrapWorkerContainer) keeps a leading
    # `sh -c` and joins the rest with its stdout redirection and early-stop check by spaces:
    # the trial is one shell command line, its program in an env var.
    assert primary["command"][:2] == ["sh", "-c"] and len(primary["command"]) == 3 and "\n" not in primary["command"][2]
    assert "loss=" in next(e["value"] for e in primary["env"] if e["name"] == "TRIAL_PY")


def test_the_tensorflow_job_builds_tf_config_from_the_runtime_env_on_two_nodes():
    job = load("training/trainjob-tensorflow.yaml")
    runtime = training.tensorflow_runtime(True)
    assert job["spec"]["runtimeRef"]["name"] == runtime["metadata"]["name"]
    env = {e["name"]: e["value"] for e in job["spec"]["trainer"]["env"]}
    assert env["NUM_WORKERS"] == str(job["spec"]["trainer"]["numNodes"]) == "2"
    script = job["spec"]["trainer"]["command"][-1]
    runtime_env = {e["name"] for e in runtime["spec"]["template"]["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert {"JOBSET_NAME", "TF_WORKER_PORT"} <= runtime_env
    assert all(name in script for name in ("JOBSET_NAME", "TF_WORKER_PORT", "JOB_COMPLETION_INDEX", "MultiWorkerMirroredStrategy"))


def test_the_examples_pass_the_policy_pack_in_a_team_namespace():
    examples = [_resource(obj, 100 + i) for i, obj in enumerate(every_object()) if obj["metadata"].get("name")]
    violations = offline.evaluate([*_team_namespaces(), *examples], "prod")
    assert [v for v in violations if v.urn.startswith("urn:pulumi:prod-aws::ml-clusters::team$")] == []
    assert TEAM_NAMESPACE == "training"
