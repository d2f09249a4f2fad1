"""network.privateApi / apiAllowedCidrs on every cloud: an empty list makes the API private,
so the stack must say so; documentation ranges get a warning the preview prints."""

from __future__ import annotations

import pytest

from preview.__main__ import main
from tests.conftest import config_errors, inputs, plan_for

CLOUDS = {
    "aws": {"cloud": "aws", "region": "us-east-1"},
    "gcp": {"cloud": "gcp", "region": "us-central1", "gcp": {"project": "ml-platform-dev"}},
    "azure": {"cloud": "azure", "region": "eastus"},
}


def endpoint_is_private(cloud: str, plan) -> bool:
    """Each cloud's own switch for "no public API endpoint"."""
    if cloud == "aws":
        return inputs(plan.one("aws:eks/cluster:Cluster"))["vpcConfig"]["endpointPublicAccess"] is False
    if cloud == "gcp":
        return inputs(plan.one("gcp:container/cluster:Cluster"))["privateClusterConfig"]["enablePrivateEndpoint"] is True
    access = inputs(plan.one("azure-native:containerservice:ManagedCluster"))["apiServerAccessProfile"]
    return access.get("enablePrivateCluster") is True


@pytest.mark.parametrize("cloud", CLOUDS)
def test_an_empty_cidr_list_needs_an_explicit_private_api(cloud):
    assert config_errors(CLOUDS[cloud]) == [
        "network.apiAllowedCidrs: empty makes the Kubernetes API private, so `pulumi up` would have to run inside the network; "
        "allowed: list the ranges that may reach the API, or set network.privateApi: true to choose a private API"
    ]


@pytest.mark.parametrize("cloud", CLOUDS)
def test_private_api_makes_every_cloud_private(cloud):
    assert endpoint_is_private(cloud, plan_for({**CLOUDS[cloud], "network": {"privateApi": True}}))


@pytest.mark.parametrize("cloud", CLOUDS)
def test_listed_cidrs_keep_a_public_endpoint_without_warnings(cloud):
    plan = plan_for({**CLOUDS[cloud], "network": {"apiAllowedCidrs": ["100.64.10.0/24"]}})
    assert not endpoint_is_private(cloud, plan)
    assert plan.warnings == []


def test_private_api_with_cidrs_is_refused():
    raw = {**CLOUDS["aws"], "network": {"privateApi": True, "apiAllowedCidrs": ["100.64.10.0/24"]}}
    assert config_errors(raw) == [
        "network.privateApi: true leaves no public endpoint for the 1 network.apiAllowedCidrs to open; allowed: remove apiAllowedCidrs, or set privateApi false"
    ]


@pytest.mark.parametrize("value, choice", [(True, "set network.privateApi: true"), (False, "list network.apiAllowedCidrs")])
def test_azure_private_cluster_points_at_its_replacement(value, choice):
    raw = {**CLOUDS["azure"], "network": {"apiAllowedCidrs": ["100.64.10.0/24"]}, "azure": {"privateCluster": value}}
    shown = "true" if value else "false"
    assert config_errors(raw) == [
        f"azure.privateCluster: {shown} is replaced by network.privateApi, the same choice on every cloud; allowed: remove azure.privateCluster and {choice}"
    ]


def test_existing_clusters_need_no_api_choice():
    from components.config import load

    load({"cloud": "existing", "existing": {"kubeconfig": "stacks/kubeconfigs/local-kind.yaml"}})


@pytest.mark.parametrize("cidr", ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/25", "198.51.100.7/32"])
def test_documentation_ranges_give_a_warning(cidr):
    # RFC 5737 section 3: 192.0.2.0/24, 198.51.100.0/24 and 203.0.113.0/24 are for documentation.
    plan = plan_for({**CLOUDS["aws"], "network": {"apiAllowedCidrs": ["100.64.10.0/24", cidr]}})
    assert plan.warnings == [
        f"network.apiAllowedCidrs[1]: {cidr!r} is a documentation range (RFC 5737) that no real client comes from; "
        "allowed: your office, VPN or CI egress range, or nobody reaches the API"
    ]


def test_the_preview_prints_the_warning(capsys):
    assert main(["prod-aws", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "warning: network.apiAllowedCidrs[0]: '203.0.113.0/24' is a documentation range (RFC 5737)" in out
