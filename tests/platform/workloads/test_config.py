"""Bad workload-layer input: one clear line per problem, before anything is created."""

from __future__ import annotations

import copy

import pytest

from tests.conftest import config_errors

BASE = {
    "cloud": "aws",
    "region": "us-east-1",
    # EKS: the API choice is explicit and the namespaces' groups come from an OIDC provider.
    "network": {"privateApi": True},
    "aws": {"identityProvider": {"issuerUrl": "https://login.example.com", "clientId": "eks"}},
    # Room for the even split of the teams' GPUs over both pools (the capacity check).
    "gpuPools": [{"name": "h100", "instanceType": "p5.48xlarge"}, {"name": "l4", "instanceType": "g6.xlarge", "maxNodes": 8}],
    "namespaces": [
        {"name": "training", "team": "research", "group": "r", "gpus": 8},
        {"name": "inference", "team": "serving", "group": "s", "gpus": 2},
    ],
    "platform": {"workloads": {"queueing": {"enabled": True}, "training": {"enabled": True}, "serving": {"enabled": True}}},
}


# A complete OIDC sign-in for the hub (the issuer, claims come from aws.identityProvider).
SIGN_IN = {
    "clientId": "jupyterhub", "adminGroup": "platform-admins", "url": "https://hub.example.com",
    "authorizeUrl": "https://login.example.com/authorize", "tokenUrl": "https://login.example.com/token",
    "userdataUrl": "https://login.example.com/userinfo",
}


def with_workloads(**parts):
    raw = copy.deepcopy(BASE)
    for key, value in parts.items():
        raw["platform"]["workloads"].setdefault(key, {}).update(value)
    return raw


@pytest.mark.parametrize("raw, line", [
    (
        with_workloads(queueing={"queues": [{"team": "research", "gpus": {"a100": 8}}]}),
        "platform.workloads.queueing.queues[0].gpus.a100: no GPU pool is named 'a100'; allowed: h100, l4",
    ),
    (
        with_workloads(queueing={"queues": [{"team": "research", "gpus": {"h100": 6}}]}),
        "platform.workloads.queueing.queues[0].gpus: adds up to 6 GPUs, but team 'research''s namespaces have a quota of 8; the per-pool GPUs must add up to namespaces[].gpus",
    ),
    (
        with_workloads(queueing={"queues": [{"team": "nobody"}]}),
        "platform.workloads.queueing.queues[0].team: 'nobody' owns no namespace; allowed: research, serving",
    ),
    (
        with_workloads(queueing={"queues": [{"team": "serving", "borrowingLimit": 9}]}),
        "platform.workloads.queueing.queues[0].borrowingLimit: 9 is more than the 8 GPUs the rest of cohort 'ml-teams' holds; allowed: 0 to 8",
    ),
    (
        with_workloads(queueing={"enabled": False}),
        "platform.workloads.training.enabled: true needs queueing (TrainJobs are admitted by Kueue); allowed: set platform.workloads.queueing.enabled true",
    ),
    (
        with_workloads(serving={"certManager": "none"}),
        "platform.workloads.serving.certManager: 'none' leaves KServe's webhooks without certificates; allowed: install, or existing where cert-manager already runs",
    ),
    (
        with_workloads(notebooks={"enabled": True, "signIn": SIGN_IN, "profiles": [{"name": "big", "pool": "a10"}]}),
        "platform.workloads.notebooks.profiles[0].pool: no GPU pool is named 'a10'; allowed: h100, l4",
    ),
    (
        with_workloads(notebooks={"enabled": True, "signIn": SIGN_IN, "profiles": [{"name": "big", "pool": "l4", "gpus": 4}]}),
        "platform.workloads.notebooks.profiles[0].gpus: 4 is more than the 1 GPU(s) a g6.xlarge node has; allowed: 1 to 1",
    ),
    (
        with_workloads(notebooks={"enabled": True, "signIn": SIGN_IN, "storageClass": "ml-shared"}),
        "platform.workloads.notebooks.storageClass: 'ml-shared' is the shared file system class, not block storage; allowed: ml-block, ml-block-retain",
    ),
    (
        with_workloads(notebooks={"enabled": True}),
        "platform.workloads.notebooks.signIn: unset, but the hub's default authenticator lets anyone sign in under any name; "
        "allowed: an OIDC client (clientId, authorizeUrl, tokenUrl, userdataUrl, adminGroup, url), or notebooks.enabled false",
    ),
    (
        with_workloads(notebooks={"enabled": True, "signIn": {**SIGN_IN, "tokenUrl": "http://login.example.com/token"}}),
        "platform.workloads.notebooks.signIn.tokenUrl: 'http://login.example.com/token' is not an https URL; allowed: https://...",
    ),
    (
        with_workloads(queueing={"enabled": False}, training={"enabled": False}, tuning={"enabled": True}),
        "platform.workloads.tuning.enabled: true needs queueing (Katib's trial Jobs are admitted by Kueue); allowed: set platform.workloads.queueing.enabled true",
    ),
    (
        with_workloads(pipelines={"enabled": True, "archiveStorage": "lots"}),
        "platform.workloads.pipelines.archiveStorage: 'lots' is not valid; it must match ^([0-9]+(\\.[0-9]+)?)(m|k|Ki|Mi|Gi|Ti|M|G|T)?$",
    ),
])
def test_bad_workload_input_is_one_clear_line(raw, line):
    assert config_errors(raw) == [line]


def test_queueing_without_teams_is_refused():
    raw = with_workloads()
    raw["namespaces"] = []
    assert config_errors(raw) == ["platform.workloads.queueing.enabled: true has no team to queue for: namespaces is empty; allowed: add namespaces, or set queueing.enabled false"]


def test_notebooks_without_a_block_storage_class_are_refused(tmp_path):
    from tests.platform.harness import KUBECONFIG
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG)
    raw = {
        "cloud": "existing",
        "existing": {"kubeconfig": str(path), "context": "lab-admin", "blockStorageProvisioner": " "},
        "platform": {"workloads": {"notebooks": {"enabled": True}}},
    }
    errors = config_errors(raw)
    assert "existing.blockStorageProvisioner: empty, but notebooks keep each user's home on the block class; allowed: a block provisioner such as rancher.io/local-path" in errors


def test_several_problems_are_all_reported():
    raw = with_workloads(queueing={"enabled": False, "queues": [{"team": "research", "gpus": {"a100": 8}}]}, serving={"certManager": "none"})
    assert len(config_errors(raw)) == 3


def test_a_sign_in_without_an_issuer_is_refused_where_the_stack_names_none():
    raw = with_workloads(notebooks={"enabled": True, "signIn": SIGN_IN})
    del raw["aws"]["identityProvider"]
    raw["aws"]["groupPrincipalArns"] = {g: ["arn:aws:iam::111122223333:role/x"] for g in ("r", "s")}
    assert config_errors(raw) == [
        "platform.workloads.notebooks.signIn.issuerUrl: unset, and no aws.identityProvider names the teams' issuer; "
        "allowed: the https issuer of your OIDC provider"
    ]


def test_pipelines_and_tuning_warn_where_they_have_nowhere_to_run_as_meant():
    from components import config as config_module

    raw = with_workloads(pipelines={"enabled": True}, tuning={"enabled": True})
    warnings = config_module.config_warnings(config_module.load(raw))
    assert [w.split(":")[0] for w in warnings if "pipelines" in w or "tuning" in w] == [
        "platform.workloads.pipelines.enabled", "platform.workloads.tuning.enabled"]
    # A readwrite namespace at baseline gives both a place: no warning.
    raw["namespaces"][0].update(modelStore="readwrite", podSecurity="baseline")
    assert not [w for w in config_module.config_warnings(config_module.load(raw)) if "pipelines" in w or "tuning" in w]
