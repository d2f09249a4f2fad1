"""The mock engine answers with the stack's own region, GCP project and Azure subscription
(preview/mocks.py Where): ids, ARNs, endpoints and agent addresses in a plan name only the
places the stack uses, so a plan never reads as if it deployed elsewhere."""

from __future__ import annotations

import json
import re

import pytest

from components import config as config_module
from components.dr import plan_for as dr_plan_for
from preview import engine, mocks
from tests.conftest import inputs, plan_for_stack

STACKS = engine.available_stacks()
AWS_REGION = re.compile(r"\b(?:us|eu|ap|sa|ca|me|af|il)-(?:east|west|north|south|central|northeast|southeast|northwest|southwest)-\d\b")
GCP_REGION = re.compile(r"/(?:regions|locations)/([a-z]+-[a-z]+\d)\b")
AZURE_REGION = re.compile(r"[./]([a-z]+\d?)\.(?:oic\.prod-aks\.azure\.com|hcp\.[a-z0-9]+\.azmk8s\.io|azmk8s\.io)")
AZURE_SUBSCRIPTION = re.compile(r"/subscriptions/([0-9a-f-]{36})/")
GCP_PROJECT = re.compile(r"\bprojects/([a-z][a-z0-9-]{4,28}[a-z0-9])/")


def stack_config(stack):
    values, _ = engine.read_stack_config(stack)
    raw, _ = config_module.raw_from_pulumi(values)
    return values, config_module.load(raw)


def places(stack):
    """The regions a stack may name: its own, and its recovery region when it owns replicas."""
    _, cfg = stack_config(stack)
    allowed = {cfg.region} if cfg.region else set()
    dr = dr_plan_for(cfg, stack)
    if dr is not None and not dr.standby:
        allowed.add(dr.recovery_region)
    return cfg, allowed


def plan_text(plan) -> str:
    return json.dumps([inputs(r) for r in plan.resources] + [engine.redact(engine.unwrap_secrets(plan.outputs))], sort_keys=True)


@pytest.fixture(scope="module")
def texts():
    return {stack: plan_text(plan_for_stack(stack)) for stack in STACKS}


@pytest.mark.parametrize("stack", STACKS)
def test_a_plan_names_only_the_stacks_own_regions(texts, stack):
    cfg, allowed = places(stack)
    text = texts[stack]
    if cfg.cloud == "aws":
        found = set(AWS_REGION.findall(text))
    elif cfg.cloud == "gcp":
        found = set(GCP_REGION.findall(text))
    elif cfg.cloud == "azure":
        found = set(AZURE_REGION.findall(text))
    else:
        found = set()
    assert found <= allowed, f"{stack}: {sorted(found - allowed)} in a plan for {sorted(allowed)}"
    if cfg.cloud in ("aws", "gcp", "azure"):
        assert cfg.region in found, f"{stack}: the stack's region never appears"


@pytest.mark.parametrize("stack", [s for s in STACKS if stack_config(s)[1].cloud == "gcp"])
def test_gcp_ids_name_the_stacks_project(texts, stack):
    _, cfg = stack_config(stack)
    assert set(GCP_PROJECT.findall(texts[stack])) == {cfg.gcp.project}


@pytest.mark.parametrize("stack", [s for s in STACKS if stack_config(s)[1].cloud == "azure"])
def test_azure_ids_name_the_stacks_subscription(texts, stack):
    values, _ = stack_config(stack)
    expected = values.get("azure-native:subscriptionId") or mocks.AZURE_SUBSCRIPTION_ID
    # Besides the stack's own: the subscriptions of the capacity reservation groups its pools
    # consume, which the capacity owner may keep elsewhere (components/clouds/azure/capacity.py).
    cfg = stack_config(stack)[1]
    groups = {t.reserved.id for p in cfg.gpu_pools for t in p.capacity_chain() if t.reserved is not None and t.reserved.id}
    owned = {AZURE_SUBSCRIPTION.findall(g)[0] for g in groups}
    assert set(AZURE_SUBSCRIPTION.findall(texts[stack])) == {expected} | owned


def test_a_provider_in_another_region_answers_for_its_own_region():
    """The primary's replica resources use a provider in the recovery region: their ids are
    built there, not in the stack's region (both sides of the boundary)."""
    where = mocks.PlanMocks({"ml-clusters:region": "us-east-1"})
    where.providers["replica-id"] = mocks.Where(region="us-west-2")
    assert where._where_for("urn:pulumi:s::p::pulumi:providers:aws::replica::replica-id").region == "us-west-2"
    assert where._where_for("urn:pulumi:s::p::pulumi:providers:aws::main::unknown-id").region == "us-east-1"
    assert where._where_for(None).region == "us-east-1"


AWS_ARN_ACCOUNT = re.compile(r"arn:aws:[a-z0-9-]+:[a-z0-9-]*:(\d{12}|aws)?:")


@pytest.mark.parametrize("stack", [s for s in STACKS if stack_config(s)[1].cloud == "aws"])
def test_aws_arns_name_the_deploying_account(texts, stack):
    """Every ARN the mocks build names the account getCallerIdentity answers (the one `pulumi
    up` runs in), or AWS's own ("aws", managed policies), or one the stack file names itself."""
    values, _ = stack_config(stack)
    named = set(re.findall(r"\d{12}", " ".join(v for k, v in values.items() if k.startswith("ml-clusters:"))))
    accounts = set(AWS_ARN_ACCOUNT.findall(texts[stack])) - {""}
    assert mocks.ACCOUNT_ID in accounts
    assert accounts <= {mocks.ACCOUNT_ID, "aws"} | named
