"""components/config/ (checks/): every check of user input, with the exact line a user sees."""

from __future__ import annotations

import pytest

from components import catalog
from components.config import ConfigError, StackConfig, load, raw_from_pulumi
from preview import engine
from tests.conftest import flat_config

BASE = {
    "cloud": "aws",
    "region": "us-east-1",
    "gpuPools": [{"name": "l4", "instanceType": "g6.xlarge", "minNodes": 0, "maxNodes": 2}],
    "network": {"privateApi": True},
}


def problems(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load(raw)
    return err.value.problems


def with_pool(**changes) -> dict:
    pool = {**BASE["gpuPools"][0], **changes}
    return {**BASE, "gpuPools": [pool]}


BAD_CONFIGS = [
    # (id, config, the exact line expected among the problems)
    ("unknown-cloud", {**BASE, "cloud": "awz"}, "cloud: 'awz' is not allowed; allowed: aws, gcp, azure, existing"),
    ("missing-cloud", {"region": "us-east-1"}, "cloud: required key is missing"),
    ("unknown-top-key", {**BASE, "gpuPool": []},
     "gpuPool: unknown key (did you mean gpuPools?); allowed keys: alertPagerdutyRoutingKey, alertSlackWebhookUrl, alertWebhookUrl, "
     "aws, azure, cloud, clusterName, cpuPools, dr, environment, existing, gcp, "
     "gpuPools, kubernetesVersion, namespaces, network, platform, provisioner, region, systemPool, tags, tpuPools, veleroRepositoryPassword"),
    ("unknown-pool-key", with_pool(minNode=1),
     "gpuPools[0].minNode: unknown key (did you mean minNodes?); allowed keys: arch, capacity, diskGb, gpu, gpusPerNode, instanceType, interconnect, interconnectSpotReason, interconnectWaiver, maxNodes, minGpuMemoryGb, minMemoryGb, minNodes, minVcpus, name, provisioner, sharing, spot, warmNodes"),
    ("wrong-type", with_pool(maxNodes="four"),
     "gpuPools[0].maxNodes: 'four' is not valid; input should be a valid integer, unable to parse string as an integer"),
    ("negative-min", with_pool(minNodes=-1), "gpuPools[0].minNodes: -1 is less than the allowed minimum 0"),
    ("min-over-max", {**BASE, "gpuPools": [BASE["gpuPools"][0], {"name": "h100", "instanceType": "p5.48xlarge", "minNodes": 2, "maxNodes": 0}]},
     "gpuPools[1].maxNodes: 0 is less than minNodes 2"),
    ("zero-max", with_pool(maxNodes=0), "gpuPools[0].maxNodes: 0 leaves the pool without nodes; allowed: 1 to 1000 (remove the pool to drop it)"),
    ("unknown-instance", with_pool(instanceType="g6.xlarg"),
     "gpuPools[0].instanceType: 'g6.xlarg' is not a known aws GPU type (did you mean g6.xlarge?); allowed: "
     + ", ".join(sorted(n for n, t in catalog.cloud("aws").instance_types.items() if t.gpu))),
    ("cpu-instance", with_pool(instanceType="m7i.xlarge"),
     "gpuPools[0].instanceType: 'm7i.xlarge' has no GPU; allowed: "
     + ", ".join(sorted(n for n, t in catalog.cloud("aws").instance_types.items() if t.gpu))),
    ("not-in-region", {**with_pool(instanceType="p6-b200.48xlarge"), "region": "eu-west-1"},
     "gpuPools[0].instanceType: 'p6-b200.48xlarge' (NVIDIA B200 180GB) is not offered in eu-west-1; regions with it: us-east-1, us-east-2, us-west-2"),
    ("bad-pool-name", with_pool(name="L4_pool"),
     "gpuPools[0].name: 'L4_pool' is not a valid pool name; allowed: 1-12 lowercase letters or digits, starting with a letter"),
    ("long-pool-name", with_pool(name="inferencepool1"),
     "gpuPools[0].name: 'inferencepool1' is not a valid pool name; allowed: 1-12 lowercase letters or digits, starting with a letter"),
    ("reserved-pool-name", with_pool(name="system"), "gpuPools[0].name: 'system' is reserved for the system pool; choose another name"),
    ("duplicate-pool", {**BASE, "gpuPools": [BASE["gpuPools"][0], BASE["gpuPools"][0]]},
     "gpuPools[1].name: 'l4' is already used by gpuPools[0]; pool names must be unique"),
    ("cpu-pool-gpu-type", {**BASE, "cpuPools": [{"name": "web", "instanceType": "g6.xlarge"}]},
     "cpuPools[0].instanceType: 'g6.xlarge' has GPUs (use gpuPools); allowed: "
     + ", ".join(sorted(n for n, t in catalog.cloud("aws").instance_types.items() if not t.gpu))),
    ("cpu-pool-typo", {**BASE, "cpuPools": [{"name": "web", "instanceType": "m7i.xlarg"}]},
     "cpuPools[0].instanceType: 'm7i.xlarg' is not a known aws CPU type (did you mean 'm7i.xlarge'?); allowed: "
     + ", ".join(sorted(n for n, t in catalog.cloud("aws").instance_types.items() if not t.gpu))),
    ("cpu-pool-name-clash", {**BASE, "cpuPools": [{"name": "l4", "instanceType": "m7i.xlarge"}]},
     "cpuPools[0].name: 'l4' is already used by gpuPools[0]; pool names must be unique"),
    ("cpu-pool-min-over-max", {**BASE, "cpuPools": [{"name": "web", "instanceType": "m7i.xlarge", "minNodes": 4, "maxNodes": 3}]},
     "cpuPools[0].maxNodes: 3 is less than minNodes 4"),
    ("cpu-pool-bad-name", {**BASE, "cpuPools": [{"name": "Web_Pool", "instanceType": "m7i.xlarge"}]},
     "cpuPools[0].name: 'Web_Pool' is not a valid pool name; allowed: 1-12 lowercase letters or digits, starting with a letter"),
    ("cpu-pool-system-name", {**BASE, "cpuPools": [{"name": "system", "instanceType": "m7i.xlarge"}]},
     "cpuPools[0].name: 'system' is reserved; allowed: any other name"),
    ("bad-cidr", {**BASE, "network": {"vpcCidr": "10.0.0.0/33"}},
     "network.vpcCidr: '10.0.0.0/33' is not an IPv4 CIDR with no host bits set, e.g. 10.0.0.0/16"),
    ("host-bits", {**BASE, "network": {"apiAllowedCidrs": ["203.0.113.7/24"]}},
     "network.apiAllowedCidrs[0]: '203.0.113.7/24' is not an IPv4 CIDR with no host bits set, e.g. 203.0.113.0/24"),
    ("overlap", {**BASE, "network": {"vpcCidr": "10.64.0.0/16"}},
     "network.podCidr: '10.64.0.0/14' overlaps network.vpcCidr '10.64.0.0/16'; the ranges must be disjoint"),
    ("vpc-too-small", {**BASE, "network": {"vpcCidr": "10.0.0.0/24"}}, "network.vpcCidr: '10.0.0.0/24' has prefix /24; allowed: /16 to /20"),
    ("open-api-prod", {**BASE, "environment": "prod", "network": {"apiAllowedCidrs": ["0.0.0.0/0"]}},
     "network.apiAllowedCidrs[0]: '0.0.0.0/0' opens the Kubernetes API to the whole internet, which prod does not allow; list your office or VPN ranges"),
    ("k8s-version", {**BASE, "kubernetesVersion": "1.29"}, "kubernetesVersion: '1.29' is not supported; allowed: 1.34, 1.35 (quote it in YAML)"),
    ("unknown-region", {**BASE, "region": "us-east-9"},
     "region: 'us-east-9' is not a known aws region or place (did you mean us-east-2?); allowed: "
     + ", ".join(sorted(catalog.cloud("aws").regions)) + "; places: us-east, us-central, us-west, europe-west, asia-northeast"),
    ("missing-region", {"cloud": "aws"}, "region: required key is missing for cloud aws; allowed: " + ", ".join(sorted(catalog.cloud("aws").regions))
     + "; places: us-east, us-central, us-west, europe-west, asia-northeast"),
    ("bad-environment", {**BASE, "environment": "production"}, "environment: 'production' is not allowed; allowed: dev, staging, prod"),
    ("mig-on-l4", with_pool(sharing={"mig": {"profile": "1g.5gb"}}),
     "gpuPools[0].sharing.mig: NVIDIA L4 (g6.xlarge) does not support MIG; MIG GPUs: a100, a100-80gb, b200, h100, h100-nvl, h200"),
    ("mig-bad-profile", with_pool(instanceType="p5.48xlarge", sharing={"mig": {"profile": "1g.5gb"}}),
     "gpuPools[0].sharing.mig.profile: '1g.5gb' is not a MIG profile of NVIDIA H100 80GB; allowed: 1g.10gb, 1g.20gb, 2g.20gb, 3g.40gb, 4g.40gb, 7g.80gb"),
    ("both-sharing", with_pool(instanceType="p5.48xlarge", sharing={"mig": {"profile": "1g.10gb"}, "timeSlicing": {"replicas": 2}}),
     "gpuPools[0].sharing: sets both timeSlicing and mig; choose one"),
    ("replicas-too-low", with_pool(sharing={"timeSlicing": {"replicas": 1}}),
     "gpuPools[0].sharing.timeSlicing.replicas: 1 is less than the allowed minimum 2"),
    ("disk-too-small", with_pool(diskGb=20), "gpuPools[0].diskGb: 20 is less than the allowed minimum 50"),
    ("gpu-system-pool", {**BASE, "systemPool": {"instanceType": "g6.xlarge"}},
     "systemPool.instanceType: 'g6.xlarge' has GPUs; allowed: "
     + ", ".join(sorted(n for n, t in catalog.cloud("aws").instance_types.items() if not t.gpu))),
    ("system-min-zero", {**BASE, "systemPool": {"minNodes": 0}}, "systemPool.minNodes: 0 is less than the allowed minimum 1"),
    ("other-cloud-block", {**BASE, "gcp": {"project": "my-project-1"}}, "gcp: settings for gcp are set, but cloud is aws; remove the gcp block"),
    ("bad-arn", {**BASE, "aws": {"adminPrincipalArns": ["admins"]}},
     "aws.adminPrincipalArns[0]: 'admins' is not an IAM role or user ARN, e.g. arn:aws:iam::123456789012:role/platform-admins"),
    ("unknown-addon", {**BASE, "aws": {"addonVersions": {"cni": "v1"}}},
     "aws.addonVersions.cni: unknown add-on; allowed: " + ", ".join(sorted(catalog.EKS_ADDONS))),
    ("cluster-name", {**BASE, "clusterName": "ML_Cluster"},
     "clusterName: 'ML_Cluster' is not valid; it must match ^[a-z][a-z0-9-]{1,30}[a-z0-9]$"),
    ("not-a-list", {**BASE, "gpuPools": {"name": "l4"}},
     "gpuPools: {\"name\": \"l4\"} is not valid; input should be a valid list"),
]


@pytest.mark.parametrize("raw,expected", [(c, e) for _, c, e in BAD_CONFIGS], ids=[i for i, _, _ in BAD_CONFIGS])
def test_bad_config_reports_the_exact_line(raw, expected):
    assert expected in problems(raw)


def test_all_problems_are_reported_at_once_even_with_a_typo():
    raw = {
        "cloud": "aws",
        "region": "us-east-1",
        "kubernetesVersion": "1.3",
        "environment": "prod",
        "network": {"apiAllowedCidrs": ["0.0.0.0/0"]},
        "gpuPools": [
            {"name": "l4", "instanceType": "g6.xlarge", "minNodes": 3, "maxNodes": 1},
            {"name": "h100", "instanceType": "p5.48xlarge", "minNode": 1},
        ],
    }
    found = problems(raw)
    assert found == [
        "gpuPools[1].minNode: unknown key (did you mean minNodes?); allowed keys: arch, capacity, diskGb, gpu, gpusPerNode, instanceType, interconnect, interconnectSpotReason, interconnectWaiver, maxNodes, minGpuMemoryGb, minMemoryGb, minNodes, minVcpus, name, provisioner, sharing, spot, warmNodes",
        "kubernetesVersion: '1.3' is not supported; allowed: 1.34, 1.35 (quote it in YAML)",
        "network.apiAllowedCidrs[0]: '0.0.0.0/0' opens the Kubernetes API to the whole internet, which prod does not allow; list your office or VPN ranges",
        "gpuPools[0].maxNodes: 1 is less than minNodes 3",
    ]


def test_every_problem_is_one_line_naming_a_key():
    for _, raw, _ in BAD_CONFIGS:
        for line in problems(raw):
            assert "\n" not in line
            assert ": " in line and not line.startswith(" ")


def test_open_api_is_allowed_outside_prod():
    cfg = load({**BASE, "network": {"apiAllowedCidrs": ["0.0.0.0/0"]}})
    assert cfg.network.api_allowed_cidrs == ["0.0.0.0/0"]


def test_defaults():
    cfg = load({"cloud": "aws", "region": "us-west-2", "network": {"privateApi": True}})
    assert cfg.environment == "dev"
    assert cfg.kubernetes_version == catalog.DEFAULT_KUBERNETES_VERSION
    assert cfg.system_pool.min_nodes == 2 and cfg.system_instance_type() == "m7i.xlarge"
    assert cfg.gpu_pools == [] and cfg.network.vpc_cidr == "10.0.0.0/16"
    assert cfg.name_for("Dev_AWS") == "ml-dev-aws"


def test_pulumi_strings_are_parsed_by_the_field_type():
    values = {
        "ml-clusters:cloud": "aws",
        "ml-clusters:region": "us-east-1",
        "ml-clusters:kubernetesVersion": "1.34",
        "ml-clusters:clusterName": "",
        "ml-clusters:gpuPools": '[{"name": "l4", "instanceType": "g6.xlarge", "spot": true}]',
        "ml-clusters:network": '{"privateApi": true}',
        "aws:region": "eu-west-1",
    }
    raw, found = raw_from_pulumi(values)
    assert found == []
    assert raw == {
        "cloud": "aws",
        "region": "us-east-1",
        "kubernetesVersion": "1.34",
        "gpuPools": [{"name": "l4", "instanceType": "g6.xlarge", "spot": True}],
        "network": {"privateApi": True},
    }
    cfg = load(raw)
    assert isinstance(cfg, StackConfig) and cfg.gpu_pools[0].spot is True


def test_structured_key_given_as_plain_text():
    raw, found = raw_from_pulumi({"ml-clusters:cloud": "aws", "ml-clusters:gpuPools": "l4"})
    assert found == ["gpuPools: 'l4' is not a structured value; write it as a YAML mapping or list"]


def test_the_program_registers_nothing_for_bad_config():
    plan = engine.Plan(stack="bad", project=engine.PROJECT)
    with pytest.raises(ConfigError) as err:
        engine.run_program("bad", flat_config(with_pool(minNodes=5, maxNodes=1)), plan=plan)
    assert err.value.problems == ["gpuPools[0].maxNodes: 1 is less than minNodes 5"]
    assert plan.resources == []


def test_config_error_is_a_pulumi_run_error():
    # pulumi up prints a RunError's message without a traceback and exits non-zero.
    import pulumi

    assert issubclass(ConfigError, pulumi.RunError)


# --- Boundaries a user relies on (each of these survived a mutation run) --------------------


def test_min_nodes_one_over_max_nodes_is_refused():
    # The boundary: minNodes == maxNodes + 1 is the smallest invalid pair.
    assert problems(with_pool(minNodes=3, maxNodes=2)) == ["gpuPools[0].maxNodes: 2 is less than minNodes 3"]
    load(with_pool(minNodes=2, maxNodes=2))  # equal is fine: a fixed-size pool


def test_pool_names_are_at_most_twelve_characters():
    # Node pool names end up in cloud names with their own limits (AKS agent pools: 12).
    load(with_pool(name="abcdefghijkl"))
    assert problems(with_pool(name="abcdefghijklm")) == [
        "gpuPools[0].name: 'abcdefghijklm' is not a valid pool name; allowed: 1-12 lowercase letters or digits, starting with a letter"
    ]


def test_an_unquoted_number_where_a_string_is_expected_gets_a_quote_it_hint():
    raw = {**BASE, "namespaces": [{"name": "team", "team": "t", "group": "g", "cpu": 16, "memory": 1.5}]}
    assert problems(raw) == [
        'namespaces[0].cpu: 16 is a number, a string is expected; quote it: "16"',
        'namespaces[0].memory: 1.5 is a number, a string is expected; quote it: "1.5"',
    ]


def test_every_problem_of_one_list_item_is_reported():
    raw = with_pool(name="L4-Pool", instanceType="nope", minNodes=5, maxNodes=2, spto=True)
    found = problems(raw)
    assert len(found) == 4, found
    assert all(line.startswith("gpuPools[0].") for line in found)
    assert {line.split(":", 1)[0] for line in found} == {
        "gpuPools[0].name", "gpuPools[0].instanceType", "gpuPools[0].maxNodes", "gpuPools[0].spto"}


@pytest.mark.parametrize("where,value,expected", [
    (("network", "privateApi"), "maybe",
     "network.privateApi: 'maybe' is not valid; input should be a valid boolean, unable to interpret input"),
    (("gpuPools", 0, "warmNodes"), -1, "gpuPools[0].warmNodes: -1 is less than the allowed minimum 0"),
])
def test_one_bad_value_in_a_whole_stack_is_one_line(where, value, expected):
    """prod-aws with one bad value: only that value's line. Its queues name its GPU pools and its
    network holds the API ranges; checking the rest without the whole `network` or `gpuPools`
    key used to add lines such as "no GPU pool is named 'h100'" and "apiAllowedCidrs: empty"."""
    raw = raw_from_pulumi(engine.read_stack_config("prod-aws")[0])[0]
    target = raw
    for part in where[:-1]:
        target = target[part]
    target[where[-1]] = value
    assert problems(raw) == [expected]
