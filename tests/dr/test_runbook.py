"""docs/disaster-recovery.md's runbook is a numbered procedure, and what it says the preview
and the standby's ConfigMap print after failover is what they print."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from preview.__main__ import main

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "disaster-recovery.md"


def procedure(title: str) -> list[str]:
    """The numbered steps under `### <title>` of the runbook, each as its text."""
    text = PAGE.read_text(encoding="utf-8")
    runbook = text[text.index("## Runbook\n"):]
    body = runbook[runbook.index(f"### {title}\n"):]
    body = body.split("\n### ", 1)[0].split("<!-- /section:dr -->", 1)[0]
    return re.split(r"(?m)^(?=\d+\. )", body)[1:]


def test_each_procedure_is_numbered_and_every_step_says_what_to_expect():
    for title, count in (("Failover", 8), ("Failback", 5), ("Drill", 5)):
        steps = procedure(title)
        assert [int(s.split(".", 1)[0]) for s in steps] == list(range(1, count + 1)), title
        for step in steps:
            assert "`" in step, step[:60]  # a command (or the value to set) of its own
            assert re.search(r"\b(print|prints|show|shows|list|lists)\b", step, flags=re.I), step[:60]


def test_the_failover_output_quoted_is_what_the_preview_prints(tmp_path, capsys):
    stack = yaml.safe_load((ROOT / "stacks" / "Pulumi.prod-aws-dr.yaml").read_text(encoding="utf-8"))
    assert stack["config"]["ml-clusters:dr"]["failover"] is False
    stack["config"]["ml-clusters:dr"]["failover"] = True
    path = tmp_path / "Pulumi.prod-aws-dr.yaml"
    path.write_text(yaml.safe_dump(stack), encoding="utf-8")
    assert main([str(path), "--manifests", str(tmp_path / "manifests")]) == 0
    out = capsys.readouterr().out

    (quoted,) = re.findall(r"```text\n(.*?)```", procedure("Failover")[1], flags=re.S)
    for line in quoted.splitlines():
        assert line.strip() in out, line
    assert "stack prod-aws-dr is valid" in out

    configmap = yaml.safe_load((tmp_path / "manifests" / "configmap-training-model-store.yaml").read_text())["data"]
    step = " ".join(procedure("Failover")[5].split())
    assert f"`MODEL_STORE_URL: {configmap['MODEL_STORE_URL']}`" in step
    assert f"`MODEL_STORE_REGION: {configmap['MODEL_STORE_REGION']}`" in step
    account, _, rest = configmap["REGISTRY"].partition(".")
    assert f"`REGISTRY: <account>.{rest}`" in step


def test_the_idle_standby_output_quoted_is_what_the_preview_prints(capsys):
    assert main(["prod-aws-dr"]) == 0
    out = capsys.readouterr().out
    step = procedure("Failback")[4]
    for quoted in ("disaster recovery (standby)", "GPU pools: at 0 nodes until failover"):
        assert f"`{quoted}`" in step and quoted in out
