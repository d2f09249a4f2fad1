"""preview/compare.py and `python -m preview STACK --compare`; the portable example stack
previewing on every cloud with only `cloud` changed."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

from components import catalog
from preview import compare, cost, engine
from preview.__main__ import main

PORTABLE = engine.stack_file("portable")
CLOUD_LINE = "  ml-clusters:cloud: aws\n"


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


def portable_on(cloud: str, tmp_path: Path) -> Path:
    text = PORTABLE.read_text(encoding="utf-8")
    assert text.count(CLOUD_LINE) == 1
    path = tmp_path / f"Pulumi.portable-{cloud}.yaml"
    path.write_text(text.replace(CLOUD_LINE, f"  ml-clusters:cloud: {cloud}\n"), encoding="utf-8")
    return path


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_the_portable_stack_previews_on_every_cloud_with_only_cloud_changed(cloud, capsys, tmp_path):
    path = portable_on(cloud, tmp_path)
    changed = [
        line for line in difflib.unified_diff(PORTABLE.read_text().splitlines(), path.read_text().splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]
    assert changed == ([] if cloud == "aws" else ["-  ml-clusters:cloud: aws", f"+  ml-clusters:cloud: {cloud}"])
    code, out = run(capsys, str(path), "--json", str(tmp_path / "plan.json"))
    assert code == 0, out
    assert out.rstrip().endswith(f"stack portable-{cloud} is valid")
    plan = json.loads((tmp_path / "plan.json").read_text())
    chosen = {c["key"]: c["chosen"] for c in plan["choices"]}
    # places.py: us-east; the train pool's only 8 x H100 row per cloud; the infer pool's
    # cheapest x86 type with a >= 16 GB GPU that offers one per node there.
    assert chosen == {
        "aws": {"region": "us-east-1", "systemPool": "m6i.xlarge", "gpuPools[0]": "g4dn.xlarge", "gpuPools[1]": "p5.48xlarge", "cpuPools[0]": "m6i.xlarge"},
        "gcp": {"region": "us-east4", "systemPool": "e2-standard-4", "gpuPools[0]": "g2-standard-4", "gpuPools[1]": "a3-highgpu-8g", "cpuPools[0]": "e2-standard-4"},
        "azure": {"region": "eastus", "systemPool": "Standard_D4ds_v5", "gpuPools[0]": "Standard_NC4as_T4_v3",
                  "gpuPools[1]": "Standard_ND96isr_H100_v5", "cpuPools[0]": "Standard_D4ds_v5"},
    }[cloud]
    assert "chosen by the catalog" in out
    assert [p["instanceType"] for p in plan["gpu_pools"]] == [chosen["gpuPools[0]"], chosen["gpuPools[1]"]]


def test_comparing_the_portable_stack_changes_nothing_but_cloud():
    values, _ = engine.read_stack_config("portable")
    for cloud in compare.CLOUDS:
        changed, notes = compare.values_for(values, cloud)
        assert {k for k in values if changed.get(k) != values[k]} == ({"ml-clusters:cloud"} if cloud != "aws" else set())
        assert notes == []


def _hourly(cloud: str, pools: list[tuple[str, int]]) -> float:
    cat = catalog.cloud(cloud)
    return round(sum(cat.instance_types[t].usd_per_hour * n for t, n in pools), 4)


def test_compare_prints_types_gpus_and_cost_per_cloud_and_writes_the_same_as_json(capsys, tmp_path):
    # What the plain preview reports for the same file with only `cloud` changed.
    previews = {}
    for cloud in compare.CLOUDS:
        assert main([str(portable_on(cloud, tmp_path)), "--quiet", "--json", str(tmp_path / f"{cloud}.json")]) == 0
        previews[cloud] = json.loads((tmp_path / f"{cloud}.json").read_text())
    capsys.readouterr()
    code, out = run(capsys, "portable", "--compare", "--json", str(tmp_path / "compare.json"))
    assert code == 0, out
    assert out.rstrip().endswith("stack portable runs on: aws, gcp, azure")
    doc = json.loads((tmp_path / "compare.json").read_text())
    assert doc["stack"] == "portable" and doc["hoursPerMonth"] == 730
    by_cloud = {c["cloud"]: c for c in doc["clouds"]}
    assert list(by_cloud) == ["aws", "gcp", "azure"]
    expected = {
        "aws": ("us-east-1", "g4dn.xlarge", "p5.48xlarge"),
        "gcp": ("us-east4", "g2-standard-4", "a3-highgpu-8g"),
        "azure": ("eastus", "Standard_NC4as_T4_v3", "Standard_ND96isr_H100_v5"),
    }
    for cloud, (region, infer, train) in expected.items():
        result = by_cloud[cloud]
        assert result["available"] and result["problems"] == [] and result["region"] == region
        gpu_rows = [p for p in result["pools"] if p["key"].startswith("gpuPools")]
        assert [(p["name"], p["instanceType"], p["gpusPerNode"], p["minNodes"], p["maxNodes"]) for p in gpu_rows] == [
            ("infer", infer, 1, 0, 4), ("train", train, 8, 0, 2),
        ]
        assert (result["gpusMin"], result["gpusMax"]) == (0, 4 * 1 + 2 * 8)
        # Each GPU pool's fabric on that cloud, from the catalog, as the plain preview reports it.
        fabric = catalog.cloud(cloud).fabric(train)
        shown = cost.fabric_text(fabric.name, fabric.nics, fabric.line_rate_gbps, fabric.expected_busbw_gbs)
        assert [p["fabric"] for p in gpu_rows] == ["no fabric", shown]
        assert shown.split(",")[0] in out
        plain = {p["name"]: p for p in previews[cloud]["gpu_pools"]}
        assert (plain["train"]["fabric"], plain["train"]["fabricNics"], plain["train"]["lineRateGbps"], plain["train"]["expectedBusbwGbs"]) == (
            fabric.name, fabric.nics, fabric.line_rate_gbps, fabric.expected_busbw_gbs)
        assert plain["infer"]["fabric"] == "" and plain["infer"]["expectedBusbwGbs"] is None
        # The cost and time to ready are the preview's own for that cloud.
        total = previews[cloud]["cost"]["total"]
        assert (result["usdPerHourMin"], result["usdPerHourMax"]) == (total["usdPerHourMin"], total["usdPerHourMax"])
        assert (result["usdPerMonthMin"], result["usdPerMonthMax"]) == (total["usdPerMonthMin"], total["usdPerMonthMax"])
        assert result["timeToReadySeconds"] == previews[cloud]["timeToReady"]["seconds"]
        # Both GPU pools scale to zero, so at most 4 infer and 2 train nodes add their list price.
        assert result["usdPerHourMax"] - result["usdPerHourMin"] >= _hourly(cloud, [(infer, 4), (train, 2)])
        assert f"${total['usdPerHourMax']:,.2f}" in out and f"${total['usdPerMonthMax']:,.2f}" in out


def test_compare_says_what_is_not_available_where_and_what_it_substituted(capsys, tmp_path):
    code, out = run(capsys, "prod-aws", "--compare", "--json", str(tmp_path / "c.json"))
    assert code == 0, out
    by_cloud = {c["cloud"]: c for c in json.loads((tmp_path / "c.json").read_text())["clouds"]}
    # azure.py has no L4 size; prod-aws's l4infer pool (g6.2xlarge, 1 x L4) has nowhere to go.
    assert by_cloud["azure"]["available"] is False
    assert by_cloud["azure"]["problems"] == [
        "gpuPools[1].gpu: no azure type has l4; azure GPU models: a100-80gb (80 GB), h100 (80 GB), h100-nvl (94 GB), t4 (16 GB)"
    ]
    # On GKE the H100 pool is a3-highgpu-8g, which gets its GPUDirect-TCPX (clouds/gcp/fabric.py).
    assert by_cloud["gcp"]["available"] is True and by_cloud["gcp"]["region"] == "us-east4"
    assert not by_cloud["gcp"]["problems"]
    assert by_cloud["gcp"]["substitutions"] == [
        "aws: block left out",
        "gcp.project: none set, 'ml-compare-placeholder' used",
        "region: us-east-1 is not a region of gcp; compared at its place us-east",
        # prod-aws's h100 pool takes an EC2 capacity reservation first; it exists only on aws.
        "gpuPools[0].capacity: a reservation is one cloud's; on gcp compared without it (onDemand)",
        "gpuPools[0]: p5.48xlarge is not a type of gcp; compared as 8 x h100",
        "gpuPools[1]: g6.2xlarge is not a type of gcp; compared as 1 x l4",
        # prod-aws's CPU pool (cpuPools, built on EKS by the AWS backend).
        "cpuPools[0]: m7i.2xlarge is not a type of gcp; compared as >= 8 vCPUs, >= 32 GB (x86_64)",
        "systemPool: m7i.xlarge is not a type of gcp; compared as >= 4 vCPUs, >= 16 GB (x86_64)",
        # prod-aws's training namespace logs payloads to S3, which KServe's logger reaches on aws only.
        "namespaces[1].payloadLogging: KServe's logger writes to the model store on aws only; on gcp compared without it",
    ]
    assert "payloadLogging" not in " ".join(by_cloud["aws"]["substitutions"])
    assert "gcp: gpuPools[1]: g6.2xlarge is not a type of gcp; compared as 1 x l4" in out
    assert f"azure: not available: {by_cloud['azure']['problems'][0]}" in out
    assert "stack prod-aws runs on: aws, gcp" in out


def test_compare_exits_1_when_no_cloud_can_run_the_stack(capsys, tmp_path):
    path = tmp_path / "Pulumi.b200.yaml"
    # aws.py: p6-b200.48xlarge only in us-east-1, us-east-2 and us-west-2; gcp.py and azure.py have no B200.
    path.write_text(
        "config:\n  ml-clusters:cloud: aws\n  ml-clusters:region: europe-west\n"
        "  ml-clusters:gpuPools:\n    - name: big\n      gpu: b200\n      gpusPerNode: 8\n",
        encoding="utf-8",
    )
    code, out = run(capsys, str(path), "--compare")
    assert code == 1
    assert "aws: not available: gpuPools[0]: no aws type offers 8 x b200 in eu-west-1; nearby: 8 x b200 in us-east-1 (us-east), us-east-2 (us-central), us-west-2 (us-west)" in out
    assert "gcp: not available: gpuPools[0].gpu: no gcp type has b200; gcp GPU models: " in out
    assert out.rstrip().endswith("stack b200 runs on: none")
    assert "Traceback" not in out


def test_a_pinned_pool_that_also_states_its_needs_is_compared_by_them():
    values = engine.project_defaults()
    values.update({
        "ml-clusters:cloud": "aws", "ml-clusters:region": "us-east-1", "ml-clusters:network": json.dumps({"privateApi": True}),
        # Pinned to an AWS type at home; elsewhere the pool asks for 1 x L4 with >= 8 vCPUs.
        "ml-clusters:gpuPools": json.dumps([{"name": "infer", "instanceType": "g6.2xlarge", "gpu": "l4", "minVcpus": 8}]),
    })
    changed, notes = compare.values_for(values, "gcp")
    assert json.loads(changed["ml-clusters:gpuPools"]) == [{"name": "infer", "gpu": "l4", "minVcpus": 8}]
    assert "gpuPools[0]: g6.2xlarge is not a type of gcp; compared by its own gpu" in notes
    result = compare.evaluate_on("t", values, [], "gcp", policies=False)
    # gcp.py: g2-standard-8 is the cheapest 1 x L4 machine with at least 8 vCPUs.
    assert [p.instance_type for p in result.pools if p.key == "gpuPools[0]"] == ["g2-standard-8"]


def test_a_dr_region_of_the_stacks_cloud_is_compared_at_its_place():
    values, _ = engine.read_stack_config("prod-azure-dr")
    changed, notes = compare.values_for(values, "aws")
    # places.py: eastus is us-east; on aws that is us-east-1.
    assert json.loads(changed["ml-clusters:dr"])["primaryRegion"] == "us-east"
    assert "dr.primaryRegion: eastus is not a region of aws; compared at its place us-east" in notes
