"""Payload logging: a namespace with `payloadLogging` gets the logger URL under the model
store's `payloads/` prefix, its InferenceServices write their requests and responses there
as its `workload` identity, and a namespace that cannot write is refused.

Upstream facts (kserve/kserve @ v0.20.0, the pinned KServe, components/catalog/versions.py):
- pkg/apis/serving/v1beta1/inference_service.go LoggerSpec {url, mode, metadataHeaders,
  metadataAnnotations, storage, marshallerUrl, batchSize, batchInterval}; LoggerStorageSpec
  {path, parameters, key, serviceAccountName}.
- pkg/apis/serving/v1beta1/component.go validateLogger: mode all|request|response; a
  `storage` needs path, parameters and key, or the InferenceService is refused.
- pkg/logger/store.go GetStorageStrategy: the URL's scheme picks the store (s3 -> S3; http
  otherwise); getObjectKey: <url path>/<namespace>/<isvc>/<component>/<storage.path>/<id>-<type>.
- cmd/agent/main.go: the blob store is made only when --log-store-path (storage.path) is set.
- pkg/webhook/admission/pod/agent_injector.go getLoggerConfigs: an InferenceService's own
  `logger.storage` replaces the cluster-wide `logger.storage` of inferenceservice-config
  (so the platform sets nothing there); the credentials come from storage.serviceAccountName
  (default `logger-sa`).
- pkg/agent/storage/utils.go GetProvider: S3 through the AWS SDK's default credential chain;
  GCS unauthenticated without GOOGLE_APPLICATION_CREDENTIALS, Azure only with a key or a token.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from components.platform import modelstore
from tests.conftest import config_errors, inputs, plan_for_stack
from tests.platform.workloads import crds
from tests.platform.workloads.test_config import BASE

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture(scope="module")
def plan():
    return plan_for_stack("prod-aws")


def store_maps(plan) -> dict[str, Any]:
    return {inputs(c)["metadata"]["namespace"]: c for c in plan.by_type("kubernetes:core/v1:ConfigMap")
            if inputs(c)["metadata"]["name"] == modelstore.CONFIG_MAP}


def stack_namespaces(stack: str) -> list[dict[str, Any]]:
    raw = yaml.safe_load((Path(__file__).resolve().parents[3] / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    return raw["config"]["ml-clusters:namespaces"]


def merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """A JSON merge patch (RFC 7386), as `kubectl patch --type merge` applies it."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def patched(url: str) -> dict[str, Any]:
    """examples/serving/payload-logging.yaml with $PAYLOAD_LOG_URL substituted (envsubst),
    merged onto examples/serving/inferenceservice.yaml."""
    text = (EXAMPLES / "serving/payload-logging.yaml").read_text().replace("${PAYLOAD_LOG_URL}", url)
    return merge(yaml.safe_load((EXAMPLES / "serving/inferenceservice.yaml").read_text()), yaml.safe_load(text))


def test_the_namespace_that_asks_gets_the_payload_prefix_of_the_store_it_writes(plan):
    asking = {ns["name"] for ns in stack_namespaces("prod-aws") if ns.get("payloadLogging")}
    assert asking, "prod-aws shows payload logging"
    maps = store_maps(plan)
    for ns, cm in maps.items():
        data = inputs(cm)["data"]
        if ns in asking:
            write = data.get("MODEL_STORE_WRITE_URL", data["MODEL_STORE_URL"])
            assert data["PAYLOAD_LOG_URL"] == f"{write}/{modelstore.PAYLOAD_PREFIX}"
            # s3:// so KServe's agent writes to the store itself rather than POSTing (store.go).
            assert urlparse(data["PAYLOAD_LOG_URL"]).scheme == "s3"
            assert data["MODEL_STORE_ACCESS"] == "readwrite"
        else:
            assert "PAYLOAD_LOG_URL" not in data, ns


def test_the_map_waits_for_its_namespace(plan):
    (cm,) = [c for ns, c in store_maps(plan).items() if ns == "training"]
    namespaces = {inputs(r)["metadata"]["name"]: r.urn for r in plan.by_type("kubernetes:core/v1:Namespace")}
    assert namespaces["training"] in cm.dependencies


def test_the_namespace_identity_may_write_under_the_payload_prefix(plan):
    """The agent runs as `workload` (Pod Identity, components/clouds/aws/stores.py): its role
    may put objects anywhere in the bucket, the payload prefix included."""
    import json
    data = inputs(store_maps(plan)["training"])["data"]
    bucket = urlparse(data["PAYLOAD_LOG_URL"]).netloc
    (assoc,) = [r for r in plan.by_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
                if inputs(r)["namespace"] == "training" and inputs(r)["serviceAccount"] == data["SERVICE_ACCOUNT"]]
    (policy,) = [r for r in plan.by_type("aws:iam/rolePolicy:RolePolicy") if r.name == assoc.name]
    statements = json.loads(inputs(policy)["policy"])["Statement"]
    assert any("s3:PutObject" in s["Action"] and s["Resource"] == f"arn:aws:s3:::{bucket}/*" for s in statements)


def test_the_agent_can_reach_the_store_and_the_gateway_can_reach_the_agent(plan):
    """With a logger, KServe v0.20.0 points the predictor Service at the agent's port 9081
    (reconcilers/service/service_reconciler.go, constants.go InferenceServiceDefaultAgentPort):
    the gateway's policy must not pin the model's port. The agent needs the Pod Identity
    agent and S3 (the namespace's cloud-apis egress)."""
    policies = {inputs(p)["metadata"]["name"]: inputs(p)["spec"] for p in plan.by_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
                if inputs(p)["metadata"]["namespace"] == "training"}
    assert all("ports" not in rule for rule in policies["allow-from-gateway"]["ingress"])
    (ns,) = [n for n in stack_namespaces("prod-aws") if n["name"] == "training"]
    assert ns.get("egress", "cloud-apis") == "cloud-apis"
    peers = [peer["ipBlock"]["cidr"] for rule in policies["allow-egress-cloud-apis"]["egress"] for peer in rule["to"]]
    assert "169.254.170.23/32" in peers  # the EKS Pod Identity agent (components/clouds/aws/cluster.py)


def test_the_example_logs_everything_to_the_namespace_prefix_as_its_workload_identity(plan):
    data = inputs(store_maps(plan)["training"])["data"]
    isvc = patched(data["PAYLOAD_LOG_URL"])
    assert crds.errors(isvc) == []
    predictor = isvc["spec"]["predictor"]
    logger = predictor["logger"]
    assert logger["mode"] == "all"
    assert logger["url"] == data["PAYLOAD_LOG_URL"]
    # validateLogger: path, parameters and key all set; path non-empty so the agent makes its
    # blob store (cmd/agent/main.go); JSON objects (the json marshaller).
    storage = logger["storage"]
    assert storage["path"] and storage["key"] and storage["parameters"] == {"format": "json"}
    # The pod's identity and the one KServe reads the logger's credentials from: the
    # namespace's `workload` ServiceAccount, as the ConfigMap names it.
    assert predictor["serviceAccountName"] == storage["serviceAccountName"] == data["SERVICE_ACCOUNT"]
    # The patch leaves the rest of the model as it was.
    base = yaml.safe_load((EXAMPLES / "serving/inferenceservice.yaml").read_text())
    assert {k: v for k, v in predictor.items() if k not in ("logger", "serviceAccountName")} == base["spec"]["predictor"]


def test_the_patched_model_passes_the_policy_pack_in_a_team_namespace():
    from policies import offline
    from tests.examples.test_examples import _resource, _team_namespaces
    violations = offline.evaluate([*_team_namespaces(), _resource(patched("s3://bucket/payloads"), 0)], "prod")
    assert [v for v in violations if "example-0" in v.urn] == []


def test_the_validator_catches_a_bad_logger():
    isvc = patched("s3://bucket/payloads")
    isvc["spec"]["predictor"]["logger"]["mode"] = "everything"
    isvc["spec"]["predictor"]["logger"]["storage"]["bucket"] = "x"
    assert len(crds.errors(isvc)) == 2


def payload_config(model_store: str, cloud: str = "aws") -> dict[str, Any]:
    raw = copy.deepcopy(BASE)
    raw["cloud"] = cloud
    raw["namespaces"][1].update({"modelStore": model_store, "payloadLogging": True})
    return raw


@pytest.mark.parametrize("model_store", ["read", "none"])
def test_a_namespace_that_cannot_write_is_refused_in_one_line(model_store):
    assert config_errors(payload_config(model_store)) == [
        f"namespaces[1].payloadLogging: true needs write access to the model store, but modelStore is {model_store!r}; "
        "allowed: set modelStore readwrite on this namespace, or payloadLogging false"
    ]


def test_logging_without_serving_is_refused():
    raw = payload_config("readwrite")
    raw["platform"]["workloads"]["serving"]["enabled"] = False
    assert config_errors(raw) == [
        "namespaces[1].payloadLogging: true, but model serving is off; allowed: false, or set platform.workloads.serving.enabled true"
    ]


@pytest.mark.parametrize("cloud", ["gcp", "azure", "existing"])
def test_a_store_the_logger_cannot_sign_in_to_is_refused(cloud):
    line = (f"namespaces[1].payloadLogging: true is supported on cloud aws only (KServe v0.20.0's logger writes to GCS "
            f"and Azure Blob with keys, not workload identity), not {cloud!r}; allowed: false")
    assert line in config_errors(payload_config("readwrite", cloud))


def test_logging_without_egress_is_refused():
    raw = payload_config("readwrite")
    raw["namespaces"][1]["egress"] = "none"
    assert config_errors(raw) == [
        "namespaces[1].payloadLogging: true, but egress is 'none', so the logger cannot reach the model store; "
        "allowed: egress cloud-apis or internet, or payloadLogging false"
    ]
