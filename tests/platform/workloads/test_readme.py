"""docs/workloads.md, the workload layer's page, states what the code does: the system-pool requests, the
control-plane ports, and examples that exist."""

from __future__ import annotations

import re
from pathlib import Path

from components.config import Workloads
from components.platform.workloads import control_plane_ports, notebooks, queueing, serving, training
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
        "queueing": total(queueing.REQUESTS),
        "training": total(training.REQUESTS, training.JOBSET_REQUESTS),
        "serving": total(*serving.REQUESTS.values(), *serving.CERT_MANAGER_REQUESTS.values()),
        "notebooks": total(*notebooks.REQUESTS.values()),
    }
    everything = total(queueing.REQUESTS, training.REQUESTS, training.JOBSET_REQUESTS, *serving.REQUESTS.values(),
                       *serving.CERT_MANAGER_REQUESTS.values(), *notebooks.REQUESTS.values())
    assert f"All four together: {everything[0]} CPU and {everything[1]} memory" in section()


def test_every_control_plane_port_is_documented():
    settings = Workloads.model_validate({p: {"enabled": True} for p in ("queueing", "training", "serving", "notebooks")})
    text = section()
    for port in control_plane_ports(settings):
        assert str(port.port) in text, port


def test_walkthrough_names_existing_examples_and_how_to_turn_parts_off():
    text = section()
    for path in set(re.findall(r"examples/[\w/.-]+\.(?:yaml|py)", text)):
        assert (ROOT / path).is_file(), path
    for part in ("queueing", "training", "serving", "notebooks"):
        assert f"`{part}`" in text
    assert "enabled: false" in text
