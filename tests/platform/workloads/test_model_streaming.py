"""Streamed model load: the `kserve-vllm-streamer` ClusterServingRuntime on every cloud with a
model store, the store as the streamer reads it in each namespace's ConfigMap, the read grant the
namespace's identity already has, the opt-out, and the one-line config errors.

Upstream facts (components/catalog/model_streaming.py has the files): vLLM 0.24.0
vllm/transformers_utils/runai_utils.py SUPPORTED_SCHEMES (s3://, gs://, az://) and
vllm/model_executor/model_loader/runai_streamer_loader.py (`--load-format runai_streamer`);
run-ai/runai-model-streamer 0.15.7 cpp/s3, cpp/gcs, cpp/azure (each cloud's default credential
chain; Azure also AZURE_STORAGE_ACCOUNT_NAME) and docs/src/env-vars.md (RUNAI_STREAMER_CONCURRENCY);
kserve/kserve v0.20.0 files/runtimes/resources.yaml `kserve-vllmserver` (the container copied)
and inferenceservice/utils/utils.go MergeRuntimeContainers (the model's args follow the runtime's).
"""

from __future__ import annotations

import copy
import json
from functools import cache

import pytest

from components import catalog
from components.catalog import model_streaming as facts
from components.config.read import raw_from_pulumi
from components.platform.workloads import model_streaming
from preview import engine
from tests.conftest import config_errors, inputs, plan_for, plan_for_stack
from tests.platform.workloads import crds
from tests.platform.workloads.helpers import depends, objects, releases

# Reference stacks with KServe on, one per cloud, and their model store's bucket (or account).
SERVING_STACKS = {"prod-aws": "aws", "staging-gcp": "gcp", "prod-azure": "azure"}
RUNTIME_TYPE = "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime"


def raw(stack: str) -> dict:
    return raw_from_pulumi(engine.read_stack_config(stack)[0])[0]


@cache
def opted_out() -> engine.Plan:
    """dev-aws with KServe on and modelStreaming false: the one plan this module evaluates."""
    config = copy.deepcopy(raw("dev-aws"))
    config.setdefault("platform", {}).setdefault("workloads", {})["serving"] = {"enabled": True, "modelStreaming": False}
    return plan_for(config, stack="dev-aws")


def store_maps(plan: engine.Plan) -> dict[str, dict[str, str]]:
    return {key.split("/")[0]: obj["data"] for key, (_, obj) in objects(plan, "ConfigMap").items() if key.endswith("/model-store")}


@pytest.mark.parametrize("stack", sorted(SERVING_STACKS))
def test_the_streaming_runtime_is_the_pinned_vllm_reading_the_store_with_many_readers(stack):
    plan = plan_for_stack(stack)
    resource, runtime = objects(plan, "ClusterServingRuntime")[facts.RUNTIME]
    assert resource.type == RUNTIME_TYPE
    (container,) = runtime["spec"]["containers"]
    assert container["image"] == catalog.IMAGES["kserve-vllm"]
    assert container["args"] == ["--port=8080", "--served-model-name={{.Name}}", facts.LOAD_FORMAT_ARG]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env[facts.CONCURRENCY_ENV] == str(facts.CONCURRENCY) == "32"
    assert env["VLLM_ASSETS_CACHE"].startswith("/tmp/")  # config and tokenizer files, non-root
    # The namespace's ConfigMap is the runtime's environment: MODEL_STREAM_URL (and Azure's account).
    assert container["envFrom"] == [{"configMapRef": {"name": "model-store"}}]
    # Picked by name only: `modelFormat: vLLM` keeps going to KServe's own runtime.
    assert runtime["spec"]["supportedModelFormats"] == [{"name": "vLLM", "version": "1", "autoSelect": False}]
    # Strict against the CRD's fields at v0.20.0, its container and volumes as Kubernetes types.
    assert crds.errors(runtime) == []
    # Order: after the CRDs and the controller whose webhook checks serving runtimes.
    by_name = releases(plan)
    assert depends(resource, by_name["kserve-crd"]) and depends(resource, by_name["kserve-resources"])


@pytest.mark.parametrize("stack", sorted(SERVING_STACKS))
def test_each_namespace_names_the_store_in_the_streamers_scheme(stack):
    cloud = SERVING_STACKS[stack]
    scheme = facts.SCHEMES[cloud]
    maps = store_maps(plan_for_stack(stack))
    assert maps
    for namespace, data in maps.items():
        stream = data[facts.STREAM_URL_KEY]
        assert stream.startswith(f"{scheme.scheme}://"), namespace
        store = data["MODEL_STORE_URL"]
        # Only this cloud's extra environment is there.
        others = {name for c, s in facts.SCHEMES.items() if c != cloud for name in s.env}
        assert set(scheme.env) <= set(data) and not others & set(data)
        if cloud == "azure":
            # az://<container>, the account beside it: the same container the store URL names.
            account = store.removeprefix("https://").split(".", 1)[0]
            assert data["AZURE_STORAGE_ACCOUNT_NAME"] == account and stream == "az://" + store.rsplit("/", 1)[1]
        else:
            assert stream == store  # s3:// and gs:// are the store's own URLs
        if cloud == "aws":
            # The bucket's region (the SDK would guess us-east-1 without it): the store's region.
            assert data["AWS_REGION"] == data["MODEL_STORE_REGION"] and data["AWS_REGION"] in stream


def test_the_namespace_identity_may_list_and_read_the_store_on_every_cloud():
    """The streamer lists the model's prefix and reads its objects: the read grants each cloud
    already gives a `read` namespace cover both (nothing new to grant)."""
    aws = plan_for_stack("prod-aws")
    policy = json.loads(inputs(aws.one("aws:iam/rolePolicy:RolePolicy", "ml-prod-aws-stores-inference-models"))["policy"])
    actions = {s["Sid"]: s["Action"] for s in policy["Statement"]}
    assert "s3:ListBucket" in actions["List"] and "s3:GetObject" in actions["Objects"] and "kms:Decrypt" in actions["StoreKey"]
    gcp = plan_for_stack("staging-gcp")
    viewers = [inputs(g) for g in gcp.by_type("gcp:storage/bucketIAMMember:BucketIAMMember") if "-inference-models" in g.name]
    assert [g["role"] for g in viewers] == ["roles/storage.objectViewer"]  # objects.get and objects.list
    azure = plan_for_stack("prod-azure")
    (grant,) = [inputs(r) for r in azure.by_type("azure-native:authorization:RoleAssignment") if r.name.endswith("-inference-models")]
    assert grant["roleDefinitionId"].endswith("/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1")  # Storage Blob Data Reader
    assert grant["scope"].endswith("/containers/models")


@pytest.mark.parametrize("stack", ["dev-aws", "prod-gcp", "local"])
def test_no_runtime_without_kserve_or_without_a_store(stack):
    """dev-aws and prod-gcp run no KServe; local (`existing`) has no model store to stream from."""
    plan = plan_for_stack(stack)
    assert plan.by_type(RUNTIME_TYPE) == []
    if stack == "local":
        assert store_maps(plan) == {}


def test_model_streaming_false_turns_the_runtime_off_and_keeps_the_store_url():
    plan = opted_out()
    assert plan.by_type(RUNTIME_TYPE) == []
    assert "kserve-runtime-configs" in releases(plan)  # KServe itself is on
    assert all(data[facts.STREAM_URL_KEY].startswith("s3://") for data in store_maps(plan).values())


def test_true_is_refused_where_it_cannot_stream():
    off = copy.deepcopy(raw("dev-aws"))
    off.setdefault("platform", {}).setdefault("workloads", {})["serving"] = {"modelStreaming": True}
    assert config_errors(off) == [
        "platform.workloads.serving.modelStreaming: true, but KServe is off; allowed: set platform.workloads.serving.enabled true, or no modelStreaming",
    ]
    local = copy.deepcopy(raw("local"))
    local["platform"]["workloads"]["serving"]["modelStreaming"] = True
    assert config_errors(local) == [
        "platform.workloads.serving.modelStreaming: true needs the model store to stream from, and an existing cluster gets "
        "no model store from this program (cloud existing); allowed: false or unset",
    ]


def test_enabled_follows_the_setting_and_the_store():
    plan_handle = type("H", (), {"model_store": type("S", (), {"stream_url": "s3://b"})()})()
    no_store = type("H", (), {"model_store": None})()
    assert model_streaming.enabled(plan_handle, None) and model_streaming.enabled(plan_handle, True)
    assert not model_streaming.enabled(plan_handle, False) and not model_streaming.enabled(no_store, None)
