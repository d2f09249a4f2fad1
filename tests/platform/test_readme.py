"""docs/platform.md, the platform layer's page, says what the code does."""

from __future__ import annotations

import re
from pathlib import Path

import kubernetes_validate
import yaml

from components import catalog
from components.conventions import GPU_RESOURCE, GPU_TAINT, POOL_LABEL
from components.platform import alerts
from components.platform.monitoring import PROMETHEUS_RELEASE

PAGE = Path(__file__).resolve().parents[2] / "docs" / "platform.md"


def section() -> str:
    text = PAGE.read_text(encoding="utf-8")
    start, end = text.index("<!-- section:platform -->"), text.index("<!-- /section:platform -->")
    return text[start:end]


def example_pod() -> dict:
    blocks = re.findall(r"```yaml\n(.*?)```", section(), flags=re.S)
    pods = [doc for doc in (yaml.safe_load(b) for b in blocks) if isinstance(doc, dict) and doc.get("kind") == "Pod"]
    assert len(pods) == 1
    return pods[0]


def test_example_pod_is_valid_for_every_supported_version():
    for version in catalog.KUBERNETES_VERSIONS:
        kubernetes_validate.validate(example_pod(), version, strict=True)


def test_example_pod_asks_for_one_gpu_on_a_pool_and_tolerates_the_taint():
    spec = example_pod()["spec"]
    assert POOL_LABEL in spec["nodeSelector"]
    assert {"key": GPU_TAINT.key, "operator": "Exists", "effect": GPU_TAINT.effect} in spec["tolerations"]
    (container,) = spec["containers"]
    assert container["resources"]["requests"][GPU_RESOURCE] == 1
    assert container["resources"]["limits"][GPU_RESOURCE] == 1
    assert spec["priorityClassName"] == "ml-serving-high"


def test_example_pod_meets_the_restricted_pod_security_level():
    spec = example_pod()["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in spec["containers"]:
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
        assert container["resources"]["limits"]["memory"]  # a limit of its own: the LimitRange sets none


def test_every_alert_is_documented():
    names = {r["alert"] for g in alerts.gpu_rule_groups({"ml-clusters.io/gpu": "true"}) for r in g["rules"]}
    text = section()
    assert all(f"`{name}`" in text for name in names), [n for n in names if f"`{n}`" not in text]


def test_the_monitor_label_users_must_set_is_documented():
    assert f"release: {PROMETHEUS_RELEASE}" in section()
