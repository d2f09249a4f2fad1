"""The serving gateway on EKS, GKE, AKS and an existing cluster, read off the reference stacks'
plans (prod-aws, staging-gcp, prod-azure, local): what is installed, in which order, the
certificates, sign-in, KServe's config, the network policies and the rollout split.

Upstream facts each test relies on are named where used:
- Envoy Gateway v1.9.0 (envoyproxy/gateway): charts/gateway-crds-helm, charts/gateway-helm,
  api/v1alpha1/{securitypolicy,jwt,api_key_auth,envoyproxy}_types.go;
- Gateway API v1.6.1 standard CRDs (the bundle gateway-crds-helm v1.9.0 installs);
- KServe v0.20.0 (kserve/kserve): charts/kserve-resources/values.yaml `kserve.controller.gateway`,
  charts/_common/common-patches/configmap-patch.yaml `ingress`, pkg/controller/v1beta1/
  inferenceservice/controller.go (HTTPRoute CRD required at start with enableGatewayApi),
  reconcilers/ingress/httproute_reconciler.go (routes and status.url);
- cert-manager v1.17.4: ControllerConfiguration enableGatewayAPI, the gatewayHTTPRoute solver.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

import pytest
import yaml

from components import catalog
from components.catalog import versions
from components.clouds.aws import load_balancer as aws_lb
from components.clouds.azure import load_balancer as azure_lb
from components.clouds.existing import load_balancer as existing_lb
from components.clouds.gcp import load_balancer as gcp_lb
from components.platform import gateway
from components.platform.workloads import control_plane_ports
from components.config import Workloads as WorkloadSettings
from tests.conftest import config_errors, inputs, plan_for, plan_for_stack
from tests.platform import harness
from tests.platform.harness import KUBECONFIG, existing_config
from tests.platform.test_schema import check
from tests.platform.workloads.helpers import depends, objects, releases, values

ROOT = Path(__file__).resolve().parents[2]
# Each reference stack that serves models through the gateway, with its cloud's annotations
# module (components/clouds/<cloud>/load_balancer.py).
STACKS = {"prod-aws": aws_lb, "staging-gcp": gcp_lb, "prod-azure": azure_lb, "local": existing_lb}
GW = f"{gateway.NAMESPACE}/{gateway.GATEWAY_NAME}"


def stack_gateway(stack: str) -> dict:
    """The stack file's gateway block (what the user wrote)."""
    config = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    return config["ml-clusters:platform"]["workloads"]["serving"]["gateway"]


def stack_config(stack: str) -> dict:
    return yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]


def one(plan, kind: str, key: str):
    return objects(plan, kind)[key]


@pytest.mark.parametrize("stack", STACKS)
def test_crds_first_then_controllers_then_gateway_and_certificates(stack):
    plan = plan_for_stack(stack)
    found = releases(plan)
    crds, controller = found["gateway-crds-helm"], found["gateway-helm"]
    assert crds.inputs["chart"] == "oci://docker.io/envoyproxy/gateway-crds-helm" and crds.inputs["version"] == catalog.CHARTS["gateway-crds-helm"].version
    assert controller.inputs["chart"] == "oci://docker.io/envoyproxy/gateway-helm" and controller.inputs["version"] == catalog.CHARTS["gateway-helm"].version
    # Envoy Gateway's controller runs with its CRD sub-chart off (charts/gateway-helm/Chart.yaml:
    # dependency `crds`, condition crds.enabled): the CRDs come from their own release first.
    assert values(plan, "gateway-helm")["crds"] == {"enabled": False}
    assert depends(controller, crds)
    # KServe with enableGatewayApi exits when the HTTPRoute CRD is missing (controller.go
    # SetupWithManager @ v0.20.0); cert-manager with enableGatewayAPI starts Gateway API
    # informers (cmd/controller/app/controller.go @ v1.17.4).
    assert depends(found["kserve-resources"], crds)
    acme = stack_gateway(stack).get("tls", {}).get("mode", "acme") == "acme"
    assert depends(found["cert-manager"], crds) is acme
    gw_resource, _ = one(plan, "Gateway", GW)
    cls_resource, _ = one(plan, "GatewayClass", gateway.GATEWAY_CLASS)
    proxy_resource, _ = one(plan, "EnvoyProxy", f"{gateway.NAMESPACE}/{gateway.ENVOY_PROXY}")
    assert depends(gw_resource, controller) and depends(gw_resource, cls_resource) and depends(cls_resource, proxy_resource)
    for kind in ("Gateway", "GatewayClass", "EnvoyProxy", "HTTPRoute", "SecurityPolicy", "Certificate", "ClusterIssuer"):
        for key, (resource, _) in objects(plan, kind).items():
            assert depends(resource, crds), f"{kind} {key}"
    for key, (resource, _) in objects(plan, "Certificate").items():
        issuer, _ = one(plan, "ClusterIssuer", gateway.ACME_ISSUER)
        assert depends(resource, found["cert-manager"]) and depends(resource, issuer) and depends(resource, gw_resource), key
    if objects(plan, "ClusterIssuer"):
        assert depends(one(plan, "ClusterIssuer", gateway.ACME_ISSUER)[0], found["cert-manager"])
    namespaces = objects(plan, "Namespace")
    for key, (resource, route) in objects(plan, "HTTPRoute").items():
        ns = route["metadata"]["namespace"]
        assert depends(resource, namespaces[ns][0]) or ns == gateway.NAMESPACE, key


@pytest.mark.parametrize("stack", STACKS)
def test_the_proxies_sit_on_the_system_pool_behind_the_clouds_load_balancer(stack):
    plan = plan_for_stack(stack)
    settings = stack_gateway(stack)
    proxy = one(plan, "EnvoyProxy", f"{gateway.NAMESPACE}/{gateway.ENVOY_PROXY}")[1]
    kube = proxy["spec"]["provider"]["kubernetes"]
    assert proxy["spec"]["provider"]["type"] == "Kubernetes"
    service = kube["envoyService"]
    assert service["type"] == "LoadBalancer"
    cloud = STACKS[stack].INTERNAL if settings.get("loadBalancer", "internal") == "internal" else STACKS[stack].PUBLIC
    assert service.get("annotations", {}) == {**cloud, **settings.get("serviceAnnotations", {})}
    deployment = kube["envoyDeployment"]
    assert deployment["replicas"] == settings.get("replicas", 2)
    controller = values(plan, "gateway-helm")["deployment"]["pod"]
    kserve = values(plan, "kserve-resources")["kserve"]["controller"]
    # Same placement as every platform controller (the system pool; nothing on an existing cluster).
    assert deployment["pod"].get("nodeSelector", {}) == controller["nodeSelector"] == kserve["nodeSelector"]
    assert deployment["pod"]["tolerations"] == controller["tolerations"] == kserve["tolerations"]


@pytest.mark.parametrize("shape, mode, expected", [
    ("eks", "public", aws_lb.PUBLIC), ("gke", "internal", gcp_lb.INTERNAL), ("aks", "internal", azure_lb.INTERNAL),
])
def test_the_other_load_balancer_mode_on_each_cloud(shape, mode, expected):
    # The stacks above show aws internal, gcp/azure/existing public; these are the other sides.
    result = gateway_platform(shape, mode)
    service = result.object("EnvoyProxy", gateway.ENVOY_PROXY, gateway.NAMESPACE)["spec"]["provider"]["kubernetes"]["envoyService"]
    assert service.get("annotations", {}) == expected
    assert ("service.beta.kubernetes.io/aws-load-balancer-type", "nlb") in aws_lb.INTERNAL.items() & aws_lb.PUBLIC.items()


GATEWAY_SETTINGS = {
    "enabled": True, "domain": "models.corp.internal", "tls": {"mode": "secret", "secretName": "corp-tls"},
    "signIn": {"jwksUri": "https://idp.corp.internal/keys", "audiences": ["models"]},
    "models": [{"name": "sentiment", "namespace": "team-a", "versions": [
        {"inferenceService": "sentiment-v1", "weight": 90}, {"inferenceService": "sentiment-v2", "weight": 10}]}],
}


@cache
def gateway_platform(shape: str, mode: str = "internal", weights: tuple[int, int] = (90, 10)) -> harness.Result:
    settings = copy.deepcopy(GATEWAY_SETTINGS)
    settings["loadBalancer"] = mode
    for version, weight in zip(settings["models"][0]["versions"], weights, strict=True):
        version["weight"] = weight
    pools = {"eks": [harness.pool("l4", "g6.xlarge")], "gke": [harness.pool("l4", "g2-standard-8")], "aks": [harness.pool("t4", "Standard_NC4as_T4_v3")]}[shape]
    built = getattr(harness, f"{shape}_shape")(pools)
    serving = harness.namespaces({"name": "team-a", "team": "a", "group": "team-a", "gpus": 2})
    return harness.run_platform(built, {"workloads": {"serving": {"enabled": True, "gateway": settings}}}, serving,
                                gateway_issuer="https://idp.corp.internal")


@pytest.mark.parametrize("stack", STACKS)
def test_kserve_publishes_https_urls_on_the_gateway(stack):
    plan = plan_for_stack(stack)
    settings = stack_gateway(stack)
    ingress = values(plan, "kserve-resources")["kserve"]["controller"]["gateway"]
    gw = one(plan, "Gateway", GW)[1]
    # charts/_common/common-patches/configmap-patch.yaml @ v0.20.0 renders these into
    # inferenceservice-config `ingress`: enableGatewayApi, kserveIngressGateway (<ns>/<name>),
    # ingressDomain, urlScheme.
    assert ingress["ingressGateway"]["enableGatewayApi"] is True
    assert ingress["ingressGateway"]["kserveGateway"] == f"{gw['metadata']['namespace']}/{gw['metadata']['name']}"
    assert ingress["ingressGateway"]["createGateway"] is False  # the chart's own Gateway is ours
    assert ingress["domain"] == settings["domain"] and ingress["urlScheme"] == "https"
    assert ingress["disableIngressCreation"] is False and ingress["disableIstioVirtualHost"] is True
    # The chart's domainTemplate stays '{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}':
    # the model hostnames below are built the same way.
    assert "domainTemplate" not in ingress
    https = {listener["name"]: listener for listener in gw["spec"]["listeners"]}[gateway.HTTPS_LISTENER]
    assert https["hostname"] == f"*.{settings['domain']}"
    # KServe's routes name the Gateway without a listener: only `https` takes routes from team
    # namespaces (the Selector matches the label every team namespace carries); `http` takes its own.
    team_label = https["allowedRoutes"]["namespaces"]["selector"]["matchLabels"]
    for name, (_, ns) in objects(plan, "Namespace").items():
        if name in {n["name"] for n in stack_config(stack)["ml-clusters:namespaces"]}:
            assert team_label.items() <= ns["metadata"]["labels"].items(), name
    http = {listener["name"]: listener for listener in gw["spec"]["listeners"]}[gateway.HTTP_LISTENER]
    assert http["allowedRoutes"]["namespaces"] == {"from": "Same"} and http["protocol"] == "HTTP"


@pytest.mark.parametrize("stack", STACKS)
def test_tls_covers_every_model_hostname(stack):
    plan = plan_for_stack(stack)
    settings = stack_gateway(stack)
    tls = settings.get("tls", {})
    gw = one(plan, "Gateway", GW)[1]
    https = gw["spec"]["listeners"][0]
    assert https["protocol"] == "HTTPS" and https["port"] == 443 and https["tls"]["mode"] == "Terminate"
    secret = https["tls"]["certificateRefs"][0]["name"]
    issuers, certs = objects(plan, "ClusterIssuer"), objects(plan, "Certificate")
    routes = [r for key, (_, r) in objects(plan, "HTTPRoute").items() if key != f"{gateway.NAMESPACE}/https-redirect"]
    if tls.get("mode", "acme") == "secret":
        assert secret == tls["secretName"] and not issuers and not certs
        assert "config" not in values(plan, "cert-manager")
        return
    cert = certs[f"{gateway.NAMESPACE}/{gateway.TLS_SECRET}"][1]["spec"]
    assert cert["secretName"] == secret
    issuer = issuers[gateway.ACME_ISSUER][1]["spec"]["acme"]
    assert cert["issuerRef"] == {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": gateway.ACME_ISSUER}
    assert issuer["server"] == tls.get("acmeServer", "https://acme-v02.api.letsencrypt.org/directory") and issuer["email"] == tls["email"]
    # HTTP-01 through the Gateway: the solver's routes go on the `http` listener of our Gateway,
    # in its namespace (which that listener admits), with cert-manager's Gateway API support on.
    (solver,) = issuer["solvers"]
    assert solver["http01"]["gatewayHTTPRoute"]["parentRefs"] == [
        {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": gw["metadata"]["name"], "namespace": gw["metadata"]["namespace"],
         "sectionName": gateway.HTTP_LISTENER}]
    assert values(plan, "cert-manager")["config"] == {
        "apiVersion": "controller.config.cert-manager.io/v1alpha1", "kind": "ControllerConfiguration", "enableGatewayAPI": True}
    # Every hostname a model route serves is on the certificate, and under the listener's wildcard.
    hosts = {h for r in routes for h in r["spec"]["hostnames"]}
    assert hosts and hosts <= set(cert["dnsNames"])
    for name in cert["dnsNames"]:
        assert name.endswith("." + settings["domain"]) and name.count(".") == settings["domain"].count(".") + 1


@pytest.mark.parametrize("stack", STACKS)
def test_every_route_needs_a_token_or_an_api_key(stack):
    plan = plan_for_stack(stack)
    settings, config = stack_gateway(stack), stack_config(stack)
    sign_in = settings["signIn"]
    expected_issuer = sign_in.get("issuerUrl") or (config.get("ml-clusters:aws", {}).get("identityProvider") or {}).get("issuerUrl") \
        or config["ml-clusters:platform"]["workloads"]["notebooks"]["signIn"]["issuerUrl"]
    policies = {k: p for k, (_, p) in objects(plan, "SecurityPolicy").items()}
    gw_policy = policies[f"{gateway.NAMESPACE}/sign-in"]["spec"]
    assert gw_policy["targetRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": gateway.GATEWAY_NAME,
                                        "sectionName": gateway.HTTPS_LISTENER}]
    (provider,) = gw_policy["jwt"]["providers"]
    assert provider == {"name": "identity-provider", "issuer": expected_issuer, "audiences": sign_in["audiences"],
                        "remoteJWKS": {"uri": sign_in["jwksUri"]}}
    for model in settings.get("models", []):
        ns, route = model["namespace"], f"model-{model['name']}"
        rules = [r["name"] for r in one(plan, "HTTPRoute", f"{ns}/{route}")[1]["spec"]["rules"]]
        assert rules == [gateway.API_KEY_RULE, gateway.SIGN_IN_RULE]
        jwt = policies[f"{ns}/{route}-sign-in"]["spec"]
        assert jwt["targetRefs"][0]["sectionName"] == gateway.SIGN_IN_RULE and jwt["jwt"] == gw_policy["jwt"]
        keys = policies[f"{ns}/{route}-api-key"]["spec"]
        assert keys["targetRefs"][0] == {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": route, "sectionName": gateway.API_KEY_RULE}
        # api_key_auth_types.go: an Opaque Secret, one key per client id, in the policy's namespace.
        assert keys["apiKeyAuth"]["credentialRefs"] == [{"group": "", "kind": "Secret", "name": gateway.API_KEY_SECRET}]
        assert keys["apiKeyAuth"]["extractFrom"] == [{"headers": ["x-api-key"]}]


def test_the_policy_pack_passes_the_prod_stacks_routes_and_fails_them_without_sign_in():
    # Both sides on rendered resources: the prod stacks' routes pass the two gateway rules;
    # the same plan without its SecurityPolicies fails the authentication rule on every route.
    from policies import offline
    plan = plan_for_stack("prod-aws")
    found = [v for v in offline.evaluate(plan.resources, "prod") if v.policy.startswith("serving-route")]
    assert found == []
    stripped = [r for r in plan.resources if not r.type.endswith(":SecurityPolicy")]
    failed = [v for v in offline.evaluate(stripped, "prod") if v.policy == "serving-route-authentication"]
    # Each published model route's two rules (the redirect carries no request to a model).
    models = stack_gateway("prod-aws")["models"]
    assert len(failed) == 2 * len(models)
    assert {v.message.split()[1] for v in failed} == {f"{m['namespace']}/model-{m['name']}" for m in models}


def test_gateway_pods_reach_model_pods_and_nothing_else_comes_in():
    plan = plan_for_stack("prod-aws")
    policies = {k: p for k, (_, p) in objects(plan, "NetworkPolicy").items()}
    team = "inference"
    assert f"{team}/allow-from-ingress" not in policies
    spec = policies[f"{team}/allow-from-gateway"]["spec"]
    (rule,) = spec["ingress"]
    (peer,) = rule["from"]
    assert peer["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": gateway.NAMESPACE}}
    # Labels Envoy Gateway v1.9.0 puts on the proxy pods of a Gateway (owning gateway name and
    # namespace: internal/gatewayapi/translator.go), matching our Gateway.
    gw = one(plan, "Gateway", GW)[1]
    labels = peer["podSelector"]["matchLabels"]
    assert labels["gateway.envoyproxy.io/owning-gateway-name"] == gw["metadata"]["name"]
    assert labels["gateway.envoyproxy.io/owning-gateway-namespace"] == gw["metadata"]["namespace"]
    assert labels["app.kubernetes.io/component"] == "proxy"
    # To KServe's predictor and transformer pods (constants.go KServiceComponentLabel `component`).
    assert spec["podSelector"] == {"matchExpressions": [{"key": "component", "operator": "In", "values": ["predictor", "transformer"]}]}
    # Without the gateway (prod-gcp serves no models through it) the ingress namespace's
    # policy stays as it was.
    plain = set(objects(plan_for_stack("prod-gcp"), "NetworkPolicy"))
    assert not any(k.endswith("/allow-from-gateway") for k in plain) and any(k.endswith("/allow-from-ingress") for k in plain)


def test_the_webhook_port_is_opened_on_private_clusters():
    ports = control_plane_ports(WorkloadSettings.model_validate({"serving": {"enabled": True, "gateway": {"enabled": True}}}))
    assert ("envoy-gateway", gateway.WEBHOOK_PORT) in {(p.component, p.port) for p in ports}
    # charts/gateway-helm/templates/envoy-proxy-topology-injector-webhook.yaml @ v1.9.0: service
    # port 9443, targetPort 9443 (templates/envoy-gateway-service.yaml): one the GKE backend opens.
    assert gateway.WEBHOOK_PORT in versions.ADMISSION_WEBHOOK_PORTS


# --- Rollout and rollback ----------------------------------------------------------------------


def test_the_rollout_splits_traffic_by_percentage_at_a_stable_hostname():
    plan = plan_for_stack("prod-aws")
    model = stack_gateway("prod-aws")["models"][0]
    route = one(plan, "HTTPRoute", f"{model['namespace']}/model-{model['name']}")[1]["spec"]
    assert route["hostnames"] == [f"{model['name']}-{model['namespace']}.{stack_gateway('prod-aws')['domain']}"]
    # KServe v0.20.0 Standard mode: an InferenceService without a predictor name has the
    # Service <isvc>-predictor on port 80 (constants.go PredictorServiceName, CommonDefaultHttpPort).
    expected = [{"name": f"{v['inferenceService']}-predictor", "port": 80, "weight": v["weight"]} for v in model["versions"]]
    for rule in route["rules"]:
        assert rule["backendRefs"] == expected
    assert sum(ref["weight"] for ref in expected) == 100 and len(expected) == 2
    assert route["parentRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": gateway.GATEWAY_NAME,
                                    "namespace": gateway.NAMESPACE, "sectionName": gateway.HTTPS_LISTENER}]


def test_rollback_is_one_change_to_the_route_and_nothing_else():
    rolling, rolled_back = gateway_platform("eks", weights=(90, 10)), gateway_platform("eks", weights=(100, 0))
    before = {r.urn: inputs(r) for r in rolling.plan.resources}
    after = {r.urn: inputs(r) for r in rolled_back.plan.resources}
    assert before.keys() == after.keys()
    changed = [urn for urn in before if before[urn] != after[urn]]
    assert len(changed) == 1 and changed[0].endswith("team-a-model-sentiment"), changed
    weights = [[b["weight"] for b in rule["backendRefs"]] for rule in after[changed[0]]["spec"]["rules"]]
    assert weights == [[100, 0], [100, 0]]


# --- Config errors: one line each, nothing created ---------------------------------------------


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    path = tmp_path_factory.mktemp("kube") / "config"
    path.write_text(KUBECONFIG)
    raw = existing_config(path)
    raw["platform"] = {"workloads": {"serving": {"enabled": True, "gateway": {
        "enabled": True, "domain": "models.corp.internal", "loadBalancer": "public",
        "tls": {"email": "ops@corp.internal"},
        "signIn": {"issuerUrl": "https://idp.corp.internal", "jwksUri": "https://idp.corp.internal/keys", "audiences": ["models"]},
        "models": [{"name": "sentiment", "namespace": "inference", "versions": [{"inferenceService": "sentiment-v1", "weight": 100}]}],
    }}}}
    return raw


def with_gateway(raw: dict, **changes) -> dict:
    out = copy.deepcopy(raw)
    gw = out["platform"]["workloads"]["serving"]["gateway"]
    for key, value in changes.items():
        if value is None:
            gw.pop(key, None)
        else:
            gw[key] = value
    return out


def test_the_base_config_is_valid_and_renders_a_schema_valid_gateway(base):
    plan = plan_for(base)
    kinds = ("Gateway", "GatewayClass", "HTTPRoute", "SecurityPolicy", "EnvoyProxy", "Certificate", "ClusterIssuer")
    found = [r for r in plan.resources if r.type.startswith("kubernetes:") and r.type.rsplit(":", 1)[-1] in kinds]
    assert len(found) == 10
    for resource in found:
        check(resource, "1.35")


@pytest.mark.parametrize("changes, fragment", [
    ({"domain": None}, "platform.workloads.serving.gateway.domain: unset"),
    ({"signIn": None}, "platform.workloads.serving.gateway.signIn: unset, but a model behind the gateway would be public"),
    ({"tls": {}}, "platform.workloads.serving.gateway.tls.email: unset"),
    ({"tls": {"mode": "secret"}}, "platform.workloads.serving.gateway.tls.secretName: unset with tls.mode 'secret'"),
    ({"loadBalancer": "internal", "serviceAnnotations": {"metallb.io/address-pool": "internal"}},
     "tls.acmeServer: 'https://acme-v02.api.letsencrypt.org/directory' checks HTTP-01 from the internet"),
    ({"loadBalancer": "internal"}, "platform.workloads.serving.gateway.serviceAnnotations: empty, but an existing cluster's load balancer"),
    ({"models": [{"name": "sentiment", "namespace": "nowhere", "versions": [{"inferenceService": "a", "weight": 100}]}]},
     "models[0].namespace: 'nowhere' is not a team namespace"),
    ({"models": [{"name": "s", "namespace": "inference", "versions": [{"inferenceService": "a", "weight": 90}, {"inferenceService": "b", "weight": 20}]}]},
     "models[0].versions: the weights add up to 110"),
    ({"models": [{"name": "s", "namespace": "inference", "versions": [{"inferenceService": "s", "weight": 100}]}]},
     "models[0].versions: 's' is both the model's stable name and a version"),
    ({"signIn": {"jwksUri": "https://idp.corp.internal/keys", "audiences": ["m"]}},
     "signIn.issuerUrl: unset, and no aws.identityProvider or notebooks.signIn names the teams' issuer"),
])
def test_each_bad_setting_is_one_line_naming_its_key(base, changes, fragment):
    problems = config_errors(with_gateway(base, **changes))
    assert [p for p in problems if fragment in p], problems
    assert all("\n" not in p for p in problems)


def test_the_gateway_needs_kserve_and_models_need_the_gateway(base):
    raw = copy.deepcopy(base)
    raw["platform"]["workloads"]["serving"]["enabled"] = False
    assert any("gateway.enabled: true needs KServe" in p for p in config_errors(raw))
    raw = with_gateway(base, enabled=False)
    assert any("gateway.models: 1 model(s) listed, but the gateway is off" in p for p in config_errors(raw))
    raw = copy.deepcopy(base)
    raw["platform"]["workloads"]["serving"]["certManager"] = "existing"
    assert any("tls.mode: 'acme' answers HTTP-01 through the Gateway API" in p for p in config_errors(raw))


def test_an_internal_acme_server_or_a_supplied_certificate_passes_with_an_internal_load_balancer(base):
    from components.config import ServingGateway, StackConfig
    from components.config.checks.gateway import gateway_problems
    internal = {"loadBalancer": "internal", "serviceAnnotations": {"metallb.io/address-pool": "internal"}}
    for tls in ({"email": "ops@corp.internal", "acmeServer": "https://ca.corp.internal/acme/acme/directory"},
                {"mode": "secret", "secretName": "corp-tls"}):
        raw = with_gateway(base, tls=tls, **internal)
        cfg = StackConfig.model_validate({k: v for k, v in raw.items()})
        assert gateway_problems(cfg) == [], tls
    assert isinstance(ServingGateway(), ServingGateway)


def test_the_issuer_defaults_to_the_provider_the_teams_sign_in_with():
    from components.config import StackConfig
    from components.config.checks.gateway import gateway_issuer
    sign_in = {"jwksUri": "https://idp.corp.internal/keys", "audiences": ["models"]}
    base = {"cloud": "aws", "region": "us-east-1",
            "platform": {"workloads": {"serving": {"enabled": True, "gateway": {"enabled": True, "signIn": sign_in}}}}}
    aws = {**base, "aws": {"identityProvider": {"issuerUrl": "https://eks-idp.corp.internal", "clientId": "eks"}}}
    assert gateway_issuer(StackConfig.model_validate(aws)) == "https://eks-idp.corp.internal"
    explicit = copy.deepcopy(aws)
    explicit["platform"]["workloads"]["serving"]["gateway"]["signIn"]["issuerUrl"] = "https://models-idp.corp.internal"
    assert gateway_issuer(StackConfig.model_validate(explicit)) == "https://models-idp.corp.internal"
    assert gateway_issuer(StackConfig.model_validate(base)) is None


@pytest.mark.parametrize("doc, module", [("aws", aws_lb), ("gcp", gcp_lb), ("azure", azure_lb)])
def test_each_clouds_docs_name_its_load_balancer_annotations(doc, module):
    text = (ROOT / "docs" / f"{doc}.md").read_text()
    for key, value in {**module.INTERNAL, **module.PUBLIC}.items():
        short = key.split("/", 1)[-1]
        assert short in text and value in text, (doc, key)
