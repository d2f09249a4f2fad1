"""components/config/ for portable stacks: pools by what they need, regions by place, the
GCP project from the provider's config. Resolution happens while config loads, so every
backend sees a concrete instance type and a cloud region."""

from __future__ import annotations

import pytest

from components import catalog
from components.config import ConfigError, load, raw_from_pulumi
from preview import engine
from tests.conftest import config_errors, flat_config, inputs, plan_for

# Every cluster stack states how its API is reached (network.privateApi here).
AWS = {"network": {"privateApi": True}, "cloud": "aws", "region": "us-east-1"}


def problems(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load(raw)
    return err.value.problems


def test_a_gpu_pool_by_model_gets_the_cheapest_type_and_says_why():
    cfg = load({**AWS, "gpuPools": [{"name": "infer", "gpu": "l4", "gpusPerNode": 1}]})
    assert cfg.gpu_pools[0].instance_type == "g6.xlarge"
    [choice] = cfg.choices
    assert (choice.key, choice.asked, choice.chosen) == ("gpuPools[0]", "1 x l4", "g6.xlarge")
    assert choice.why.startswith("cheapest of 3 aws types with 1 x l4 in us-east-1")


def test_an_explicit_instance_type_wins_over_the_needs():
    cfg = load({**AWS, "gpuPools": [{"name": "infer", "instanceType": "g6.2xlarge", "gpu": "l4"}]})
    assert cfg.gpu_pools[0].instance_type == "g6.2xlarge"
    assert [(c.asked, c.chosen, c.why) for c in cfg.choices] == [("1 x l4", "g6.2xlarge", "instanceType is set, and wins over the needs")]
    # Without needs there is nothing to explain.
    assert load({**AWS, "gpuPools": [{"name": "infer", "instanceType": "g6.2xlarge"}]}).choices == ()


def test_system_and_cpu_pools_by_size():
    cfg = load({**AWS, "systemPool": {"minVcpus": 8}, "cpuPools": [{"name": "web", "minVcpus": 4, "minMemoryGb": 16, "arch": "arm64"}]})
    # aws.py: the only 8-vCPU type is m7i.2xlarge; the cheapest Arm 4 vCPU/16 GB is m7g.xlarge.
    assert cfg.system_instance_type() == "m7i.2xlarge"
    assert cfg.cpu_pools[0].instance_type == "m7g.xlarge"
    assert load(AWS).system_instance_type() == "m7i.xlarge"  # no size: the cloud's default


@pytest.mark.parametrize("cloud,region", [("aws", "us-east-1"), ("gcp", "us-east4"), ("azure", "eastus")])
def test_a_place_becomes_the_clouds_region(cloud, region):
    raw = {"network": {"privateApi": True}, "cloud": cloud, "region": "us-east", **({"gcp": {"project": "ml-portable-1"}} if cloud == "gcp" else {})}
    cfg = load(raw)
    assert cfg.region == region
    assert cfg.choices[0].key == "region" and cfg.choices[0].chosen == region
    assert cfg.choices[0].why.endswith(f"its DR pair is {catalog.cloud(cloud).regions[region].pair}")


def test_the_gcp_project_comes_from_the_providers_config_when_the_stack_has_no_block():
    values = {**flat_config({"network": {"privateApi": True}, "cloud": "gcp", "region": "us-east"}), "gcp:project": "ml-from-provider"}
    raw, found = raw_from_pulumi(values)
    assert not found and load(raw).gcp.project == "ml-from-provider"
    # An explicit gcp.project wins; on another cloud the provider key is not ours and adds no block.
    values["ml-clusters:gcp"] = '{"project": "ml-explicit-1"}'
    assert load(raw_from_pulumi(values)[0]).gcp.project == "ml-explicit-1"
    aws = {**flat_config({"network": {"privateApi": True}, "cloud": "aws", "region": "us-east"}), "gcp:project": "ml-from-provider"}
    assert load(raw_from_pulumi(aws)[0]).gcp is None


def test_the_gke_cluster_lands_in_the_providers_project():
    values = {**flat_config({"network": {"privateApi": True}, "cloud": "gcp", "region": "us-east", "gpuPools": [{"name": "train", "gpu": "h100", "gpusPerNode": 8}]}),
              "gcp:project": "ml-from-provider"}
    plan = engine.run_program("test", values)
    pool = inputs(plan.one("gcp:container/nodePool:NodePool", "ml-test-train"))
    # gcp.py: a3-highgpu-8g carries 8 x nvidia-h100-80gb, in us-east4-a/b/c; with its
    # GPUDirect-TCPX fabric the pool sits in the first of them (clouds/gcp/fabric.py).
    assert pool["project"] == "ml-from-provider" and pool["nodeConfig"]["machineType"] == "a3-highgpu-8g"
    assert pool["nodeConfig"]["guestAccelerators"][0]["type"] == "nvidia-h100-80gb"
    assert pool["nodeConfig"]["guestAccelerators"][0]["count"] == 8
    assert pool["nodeLocations"] == ["us-east4-a"]


AZURE_GPU_MODELS = "a100-80gb (80 GB), h100 (80 GB), h100-nvl (94 GB), t4 (16 GB)"

BAD = [
    ("count-not-offered", {**AWS, "gpuPools": [{"name": "a", "gpu": "l4", "gpusPerNode": 2}]},
     "gpuPools[0]: no aws type offers 2 x l4 in us-east-1; nearby: 1 x l4 (g6.xlarge), 4 x l4 (g6.12xlarge), 8 x l4 (g6.48xlarge) "
     "in us-east-1; no aws region has 2 x l4"),
    ("region-not-offered", {"network": {"privateApi": True}, "cloud": "aws", "region": "eu-west-1", "gpuPools": [{"name": "a", "gpu": "b200", "gpusPerNode": 8}]},
     "gpuPools[0]: no aws type offers 8 x b200 in eu-west-1; nearby: 8 x b200 in us-east-1 (us-east), us-east-2 (us-central), us-west-2 (us-west)"),
    ("model-not-on-cloud", {"network": {"privateApi": True}, "cloud": "azure", "region": "eastus", "gpuPools": [{"name": "a", "gpu": "l4"}]},
     f"gpuPools[0].gpu: no azure type has l4; azure GPU models: {AZURE_GPU_MODELS}"),
    ("unknown-model", {**AWS, "gpuPools": [{"name": "a", "gpu": "h1000"}]},
     "gpuPools[0].gpu: 'h1000' is not a GPU model in the catalog; allowed: " + ", ".join(catalog.GPU_MODELS)),
    ("too-big", {**AWS, "gpuPools": [{"name": "a", "gpu": "l4", "minVcpus": 32}]},
     "gpuPools[0]: no aws type offers 1 x l4, >= 32 vCPUs in us-east-1; the 1 x l4 types there: "
     "g6.xlarge: 4 vCPUs; g6.2xlarge: 8 vCPUs; g6.4xlarge: 16 vCPUs"),
    # gpus.py: 1g.5gb is an A100 40GB profile only (NVIDIA MIG user guide).
    ("mig-profile", {**AWS, "gpuPools": [{"name": "a", "minGpuMemoryGb": 80, "gpusPerNode": 8, "sharing": {"mig": {"profile": "1g.5gb"}}}]},
     "gpuPools[0]: no aws type offers 8 x GPU with >= 80 GB, MIG 1g.5gb in us-east-1; the 8 x GPU with >= 80 GB types there: "
     "p5.48xlarge: h100 has no MIG profile 1g.5gb; p5en.48xlarge: h200 has no MIG profile 1g.5gb; "
     "p6-b200.48xlarge: b200 has no MIG profile 1g.5gb"),
    ("neither", {**AWS, "gpuPools": [{"name": "a"}]},
     "gpuPools[0]: sets neither instanceType nor gpu; allowed: instanceType (a GPU type of aws), or gpu (a GPU model) with gpusPerNode"),
    ("cpu-neither", {**AWS, "cpuPools": [{"name": "web"}]},
     "cpuPools[0]: sets neither instanceType nor minVcpus/minMemoryGb; allowed: instanceType (a CPU type of aws), or minVcpus and/or minMemoryGb"),
    ("system-too-big", {**AWS, "systemPool": {"minMemoryGb": 512}},
     "systemPool: no aws CPU type has >= 512 GB memory (x86_64); the largest is m7i.2xlarge (8 vCPUs, 32 GB, x86_64): 32 GB memory"),
    ("cpu-arm-on-azure-disk", {"network": {"privateApi": True}, "cloud": "azure", "region": "eastus", "cpuPools": [{"name": "web", "minVcpus": 4, "arch": "arm64", "diskGb": 200}]},
     "cpuPools[0]: no azure CPU type has >= 4 vCPUs (arm64); the largest is Standard_D4pds_v5 (4 vCPUs, 16 GB, arm64): "
     "its 150 GB ephemeral OS disk cannot hold diskGb 200"),
    ("place-missing-on-cloud", {"network": {"privateApi": True}, "cloud": "azure", "region": "asia-southeast"},
     "region: 'asia-southeast' is a place with no azure region in the catalog (it maps to gcp asia-southeast1); "
     "places on azure: us-east, us-central, us-west, europe-west"),
    ("unknown-place", {"network": {"privateApi": True}, "cloud": "gcp", "region": "europe-wst", "gcp": {"project": "ml-portable-1"}},
     "region: 'europe-wst' is not a known gcp region or place (did you mean europe-west?); allowed: "
     + ", ".join(sorted(catalog.cloud("gcp").regions)) + "; places: us-east, us-central, us-west, europe-west, asia-northeast, asia-southeast"),
    ("other-cloud-block-stays-an-error", {"network": {"privateApi": True}, "cloud": "aws", "region": "us-east", "gcp": {"project": "ml-portable-1"}},
     "gcp: settings for gcp are set, but cloud is aws; remove the gcp block"),
]


@pytest.mark.parametrize("raw,expected", [(c, e) for _, c, e in BAD], ids=[i for i, _, _ in BAD])
def test_a_need_no_type_meets_is_one_clear_line(raw, expected):
    assert expected in problems(raw)


def test_a_bad_need_stops_the_program_before_any_resource():
    assert config_errors({**AWS, "gpuPools": [{"name": "a", "gpu": "l4", "gpusPerNode": 3}]}) == [
        "gpuPools[0]: no aws type offers 3 x l4 in us-east-1; nearby: 1 x l4 (g6.xlarge), 4 x l4 (g6.12xlarge), 8 x l4 (g6.48xlarge) "
        "in us-east-1; no aws region has 3 x l4"
    ]


def test_a_typo_elsewhere_does_not_hide_a_pool_need_problem():
    found = problems({"network": {"privateApi": True}, "cloud": "aws", "region": "us-east", "clusterNam": "x", "gpuPools": [{"name": "a", "gpu": "l4", "gpusPerNode": 3}]})
    assert any(p.startswith("clusterNam: unknown key") for p in found)
    assert any(p.startswith("gpuPools[0]: no aws type offers 3 x l4 in us-east-1") for p in found)


def test_backends_see_concrete_types_on_every_cloud():
    for cloud, resource, field_of in (
        ("aws", "aws:eks/nodeGroup:NodeGroup", lambda i: i["instanceTypes"][0]),
        ("azure", "azure-native:containerservice:AgentPool", lambda i: i["vmSize"]),
    ):
        plan = plan_for({"network": {"privateApi": True}, "cloud": cloud, "region": "us-east", "gpuPools": [{"name": "train", "gpu": "h100", "gpusPerNode": 8, "diskGb": 500}]})
        chosen = field_of(inputs(plan.one(resource, "ml-test-train")))
        # aws.py p5.48xlarge and azure.py Standard_ND96isr_H100_v5: the only 8 x H100 rows.
        assert chosen == {"aws": "p5.48xlarge", "azure": "Standard_ND96isr_H100_v5"}[cloud]


def test_an_explicit_type_that_disagrees_with_the_needs_still_wins_and_says_so():
    cfg = load({**AWS, "gpuPools": [{"name": "a", "instanceType": "g6.xlarge", "gpu": "h100", "gpusPerNode": 8}]})
    assert cfg.gpu_pools[0].instance_type == "g6.xlarge"
    assert cfg.choices[0].why == "instanceType is set, and wins over the needs (it has 1 x l4)"


@pytest.mark.parametrize("cloud,resource,field_of,system,web", [
    # The catalog's only 8-vCPU x86 types, and its cheapest x86 4-vCPU/16 GB type, per cloud.
    ("aws", "aws:eks/nodeGroup:NodeGroup", lambda i: i["instanceTypes"][0], "m7i.2xlarge", None),
    ("gcp", "gcp:container/nodePool:NodePool", lambda i: i["nodeConfig"]["machineType"], "n2-standard-8", "e2-standard-4"),
    ("azure", "azure-native:containerservice:AgentPool", lambda i: i["vmSize"], "Standard_D8ds_v5", "Standard_D4ds_v5"),
])
def test_system_and_cpu_pools_by_size_reach_the_backends(cloud, resource, field_of, system, web):
    raw = {"network": {"privateApi": True}, "cloud": cloud, "region": "us-east", "systemPool": {"minVcpus": 8}}
    if web is not None:  # EKS builds no CPU pools yet
        raw["cpuPools"] = [{"name": "web", "minVcpus": 4, "minMemoryGb": 16}]
    values = flat_config(raw)
    if cloud == "gcp":
        values["gcp:project"] = "ml-portable-1"
    plan = engine.run_program("test", values)
    assert field_of(inputs(plan.one(resource, "ml-test-system"))) == system
    if web is not None:
        assert field_of(inputs(plan.one(resource, "ml-test-web"))) == web


def test_the_dr_pair_follows_the_place_map():
    from components import dr as dr_plan

    # aws.py: us-east-1's pair is us-west-2; places.py: us-west is us-west-2 on aws, westus3 on azure.
    cfg = load({"network": {"privateApi": True}, "veleroRepositoryPassword": "test-repository-password", "cloud": "aws", "region": "us-east", "dr": {}})
    assert dr_plan.plan_for(cfg, "prod").recovery_region == "us-west-2"
    cfg = load({"network": {"privateApi": True}, "veleroRepositoryPassword": "test-repository-password", "cloud": "azure", "region": "us-east", "dr": {"recoveryRegion": "us-west"}})
    assert cfg.dr.recovery_region == "westus3"
    assert dr_plan.plan_for(cfg, "prod").recovery_region == "westus3"
    assert ("dr.recoveryRegion", "us-west", "westus3") in [(c.key, c.asked, c.chosen) for c in cfg.choices]
    standby = load({"network": {"privateApi": True}, "veleroRepositoryPassword": "test-repository-password", "cloud": "gcp", "region": "us-central", "gcp": {"project": "ml-portable-1"}, "dr": {"role": "standby", "primaryRegion": "us-east"}})
    assert dr_plan.plan_for(standby, "prod-dr").primary_region == "us-east4"
