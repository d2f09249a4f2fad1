"""Documentation placeholders (components/config/checks/placeholders.py): a warning naming the
key outside prod; in prod a config error for a real deployment, and in the offline preview a
warning that says so. Both sides of each reserved range or name are checked."""

from __future__ import annotations

import pytest

from components.config import ConfigError, load
from components.config.checks.placeholders import AWS_DOCUMENTATION_ACCOUNTS, placeholder_lines, why_placeholder
from preview.__main__ import main
from tests.conftest import plan_for

RANGE = "is a documentation range"
DOMAIN = "names a reserved example domain"
ACCOUNT = "holds an AWS account id from AWS's documentation"


@pytest.mark.parametrize(("value", "why"), [
    # RFC 5737 section 3 (IPv4), RFC 3849 (IPv6): inside and just outside each range.
    ("192.0.2.0/24", RANGE), ("192.0.3.0/24", ""),
    ("198.51.100.7/32", RANGE), ("198.51.101.0/24", ""),
    ("203.0.113.128/25", RANGE), ("203.0.112.0/24", ""),
    ("203.0.0.0/16", RANGE),  # a wider range that holds a documentation range
    ("2001:db8::/48", RANGE), ("2001:db9::/32", ""),
    ("100.64.10.0/24", ""),
    # RFC 2606 / RFC 6761 names, in a URL, an e-mail address and a bare host.
    ("https://login.example.com/oauth2/default", DOMAIN), ("ml-serving@example.org", DOMAIN),
    ("hub.example.net", DOMAIN), ("https://idp.corp.test/", DOMAIN), ("https://sso.acme.example", DOMAIN),
    ("https://login.example.company.com/", ""), ("https://example.com.evil.io/", ""), ("ml-serving@acme.com", ""),
    # AWS's documentation accounts, in an ARN and alone; another 12-digit account is not one.
    ("arn:aws:iam::123456789012:role/platform-admins", ACCOUNT), ("arn:aws:iam::210987654321:role/x", ""),
    ("111122223333", ACCOUNT), ("210987654321", ""),
    ("00000000-0000-0000-0000-000000000000", "is the all-zero UUID"), ("6c3e1b2a-0000-4000-8000-000000000001", ""),
    # The all-zero EC2 capacity reservation id a stack marks an unbought reservation with.
    ("cr-00000000000000000", "is the all-zero capacity reservation id"), ("cr-00000000000000001", ""),
])
def test_what_counts_as_a_placeholder(value, why):
    found = why_placeholder(value)
    assert found.startswith(why) if why else found == ""


def test_every_documentation_account_is_caught():
    for account in AWS_DOCUMENTATION_ACCOUNTS:
        assert why_placeholder(f"arn:aws:iam::{account}:role/r").startswith(ACCOUNT)


def test_a_secret_is_named_but_never_shown():
    lines = placeholder_lines({"alertWebhookUrl": "https://hooks.example.com/T000"}, {"alertWebhookUrl"})
    assert lines == ["alertWebhookUrl: (secret) names a reserved example domain (RFC 2606) that no real service answers for; allowed: a value of your own"]


DEV = {
    "cloud": "aws", "region": "us-east-1", "environment": "dev",
    "network": {"apiAllowedCidrs": ["100.64.10.0/24"]},
    "aws": {"identityProvider": {"issuerUrl": "https://login.example.com/oauth2/default", "clientId": "k8s"}},
}


def test_outside_prod_each_placeholder_is_a_warning_naming_its_key():
    plan = plan_for(DEV)
    assert plan.warnings == [
        "aws.identityProvider.issuerUrl: 'https://login.example.com/oauth2/default' names a reserved example domain (RFC 2606) "
        "that no real service answers for; allowed: a value of your own"
    ]
    assert plan_for({**DEV, "aws": {"identityProvider": {"issuerUrl": "https://login.acme.com/oauth2/default", "clientId": "k8s"}}}).warnings == []


PROD = {**DEV, "environment": "prod", "network": {"apiAllowedCidrs": ["203.0.113.0/24"]}}


def test_a_real_deployment_of_a_prod_stack_refuses_placeholders_one_line_each():
    with pytest.raises(ConfigError) as err:
        load(PROD, secret_keys=set(), real_deployment=True)
    assert err.value.problems == [
        "aws.identityProvider.issuerUrl: 'https://login.example.com/oauth2/default' names a reserved example domain (RFC 2606) "
        "that no real service answers for; allowed: a value of your own",
        "network.apiAllowedCidrs[0]: '203.0.113.0/24' is a documentation range (RFC 5737) that no real client comes from; "
        "allowed: your office, VPN or CI egress range, or nobody reaches the API",
    ]
    load({**PROD, "environment": "staging"}, secret_keys=set(), real_deployment=True)  # staging: warnings only


def test_the_offline_preview_shows_a_prod_stack_and_says_a_real_deployment_refuses_it():
    plan = plan_for(PROD)
    assert plan.resources and len(plan.warnings) == 2
    assert all(w.endswith("; a real deployment of this prod stack refuses it") for w in plan.warnings)


def test_the_preview_of_the_reference_prod_stack_names_every_placeholder(capsys):
    assert main(["prod-aws", "--quiet"]) == 0
    warned = [line for line in capsys.readouterr().out.splitlines() if line.startswith("warning: ")]
    keys = sorted(line.split()[1].rstrip(":") for line in warned if line.endswith("a real deployment of this prod stack refuses it"))
    assert keys == ["aws.adminPrincipalArns[0]", "aws.identityProvider.issuerUrl", "gpuPools[0].capacity[0].reserved.id",
                    "network.apiAllowedCidrs[0]", "network.apiAllowedCidrs[1]"]
