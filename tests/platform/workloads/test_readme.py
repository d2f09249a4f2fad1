"""docs/workloads.md, the workload layer's page, states what the code does: the system-pool requests, the
control-plane ports, and examples that exist."""

from __future__ import annotations

import re
from pathlib import Path

from components.config import Workloads
from components.platform.workloads import control_plane_ports, metadata_db, notebooks, pipelines, queueing, serving, training, tuning
from tests.platform.workloads.helpers import quantity

ROOT = Path(__file__).resolve().parents[3]


def section() -> str:
    text = (ROOT / "docs" / "workloads.md").read_text(encoding="utf-8")
    return text[text.index("<!-- section:workloads -->"):text.index("<!-- /section:workloads -->")]


def requests_table() -> dict[str, tuple[str, str]]:
    rows = re.findall(r"^\| `(\w+)` \| [^|]+ \| (\w+) \| (\w+) \|$", section(), flags=re.M)
    return {part: (cpu, memory) for part, cpu, memory in rows}


def total(*requests: dict[str, str]) -> tuple[str, str]:
    cpu = sum(quantity(r["cpu"]) for r in requests)
    memory = sum(quantity(r["memory"]) for r in requests)
    return f"{int(cpu * 1000)}m", f"{int(memory / 2**20)}Mi"


def test_system_pool_requests_match_what_the_releases_ask_for():
    assert requests_table() == {
        "queueing": total(*[queueing.REQUESTS] * queueing.REPLICAS),
        "training": total(training.REQUESTS, training.JOBSET_REQUESTS),
        "serving": total(*serving.REQUESTS.values(), *serving.CERT_MANAGER_REQUESTS.values()),
        "notebooks": total(*notebooks.REQUESTS.values()),
        # Each with its PostgreSQL (metadata_db.REQUESTS).
        "pipelines": total(*pipelines.REQUESTS.values(), metadata_db.REQUESTS),
        "tuning": total(*tuning.REQUESTS.values(), metadata_db.REQUESTS),
    }
    everything = total(*[queueing.REQUESTS] * queueing.REPLICAS, training.REQUESTS, training.JOBSET_REQUESTS, *serving.REQUESTS.values(),
                       *serving.CERT_MANAGER_REQUESTS.values(), *notebooks.REQUESTS.values())
    assert f"The first four together: {everything[0]} CPU and {everything[1]} memory" in section()
    extra = total(*pipelines.REQUESTS.values(), *tuning.REQUESTS.values(), metadata_db.REQUESTS, metadata_db.REQUESTS)
    assert f"pipelines and tuning add {extra[0]} and {extra[1]}" in " ".join(section().split())


def test_every_control_plane_port_is_documented():
    settings = Workloads.model_validate({p: {"enabled": True} for p in ("queueing", "training", "serving", "notebooks", "pipelines", "tuning")})
    text = section()
    for port in control_plane_ports(settings):
        assert str(port.port) in text, port


def test_walkthrough_names_existing_examples_and_how_to_turn_parts_off():
    text = section()
    for path in set(re.findall(r"examples/[\w/.-]+\.(?:yaml|py)", text)):
        assert (ROOT / path).is_file(), path
    for part in ("queueing", "training", "serving", "notebooks", "pipelines", "tuning"):
        assert f"`{part}`" in text
    assert "enabled: false" in text


# --- Claims about behaviour (review of the workload layer, D5, D7, D8) -------------------

def _prose() -> str:
    return " ".join(section().split())


def test_the_docs_name_the_predictor_service_and_address_kserve_uses():
    """KServe v0.20.0: a named predictor's Service is <isvc>-<predictor name>-predictor
    (constants.PredictorServiceName) and status.address points at it; status.url is built
    from the ingress domain, example.com unless configured (charts/kserve-resources values)."""
    from tests.examples.test_examples import load
    isvc = load("serving/inferenceservice.yaml")
    service = f"{isvc['metadata']['name']}-{isvc['spec']['predictor']['name']}-predictor"
    text = _prose()
    assert f"`status.address.url` (the Service `{service}`" in text
    assert "`<name>-predictor`" not in text and "with a URL" not in text
    assert "`example.com`" in text


def test_the_docs_state_the_canarys_gpus_as_kserve_sizes_it():
    """predictor.go @ v0.20.0: the stable minimum is reduced but clamped at 1, the canary
    gets ceil(minReplicas x trafficPercent / 100): with minReplicas 1 the canary adds a pod."""
    import math
    from tests.examples.test_examples import load
    canary = load("serving/inferenceservice-canary.yaml")
    predictor, entry = canary["spec"]["predictor"], canary["spec"]["canary"][0]
    moved = math.ceil(predictor["minReplicas"] * entry["trafficPercent"] / 100)
    gpus = (max(1, predictor["minReplicas"] - moved) + moved) * predictor["model"]["resources"]["requests"]["nvidia.com/gpu"]
    text = _prose()
    assert f"({gpus} GPUs in all)" in text and f"the example needs {gpus} GPUs during a canary" in text
    assert "taken from the stable ones" not in text
    assert "taken from the stable ones" not in (ROOT / "examples/serving/inferenceservice-canary.yaml").read_text()


def test_the_docs_say_kueue_reclaims_for_queued_jobs_not_for_model_servers():
    """Kueue reclaims lent quota only for pending Kueue workloads (ClusterQueue
    preemption.reclaimWithinCohort); InferenceServices are not Kueue workloads."""
    text = _prose()
    assert "Kueue preempts the borrowing trials" not in text
    assert "When the serving team submits queued jobs of its own, Kueue reclaims" in text
    sweep_doc = (ROOT / "examples/sweep/make_sweep.py").read_text()
    assert "serving preempts them" not in sweep_doc


def test_the_docs_describe_the_gang_restart_the_runtimes_configure():
    """JobSet v0.12.0 acts on failurePolicy only when a child Job fails; the runtimes make a
    child Job fail on its first failed pod (backoffLimit 0) and ignore disruptions."""
    rendered = training.torch_runtime(True)["spec"]["template"]["spec"]
    job = rendered["replicatedJobs"][0]["template"]["spec"]
    text = _prose()
    assert job["backoffLimit"] == 0 and f"`backoffLimit: {job['backoffLimit']}`" in text
    assert f"`failurePolicy.maxRestarts: {rendered['failurePolicy']['maxRestarts']}`" in text
    assert "DisruptionTarget" in text and "JobSet restarts the job" not in text
