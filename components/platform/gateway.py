"""The serving gateway: how clients outside the cluster reach a model, with TLS and sign-in.

The Kubernetes Gateway API (standard channel CRDs) implemented by Envoy Gateway, chosen
because it runs the same on EKS, GKE, AKS and any cluster (a cloud's own Gateway controller
exists on GKE only, and AWS's and Azure's differ in what they implement), and because its
SecurityPolicy covers JWT and API-key sign-in at the gateway itself.

- One Gateway `models` in `envoy-gateway-system`; Envoy Gateway runs its proxies there,
  on the system pool, behind a LoadBalancer Service carrying the cloud's annotations for an
  internal or public load balancer (from the ClusterHandle: no per-cloud code here).
- Listener `https` (443, `*.<domain>`): TLS terminated with the certificate cert-manager
  keeps (ACME HTTP-01, answered through listener `http`) or one the stack supplies. Routes
  from the team namespaces only (label `ml-clusters.io/serving`).
- Listener `http` (80): routes from the gateway's own namespace only, which are the ACME
  solver's (cert-manager puts them next to the Certificate) and a redirect of everything
  else to HTTPS. KServe's routes, which name no listener, thus attach to `https` alone.
- Sign-in: a SecurityPolicy on the `https` listener requires a JWT from the stack's
  identity provider, so every InferenceService URL KServe publishes is signed in; each
  published model's route has two rules, `api-key` (requests carrying `x-api-key`, checked
  against the namespace's `serving-api-keys` Secret) and `sign-in` (the rest, JWT), each with
  its own rule-level SecurityPolicy (Envoy Gateway's most specific policy wins).
- A published model: an HTTPRoute `model-<name>` at `<name>-<namespace>.<domain>` whose
  backends are its versions' predictor Services with their weights: the traffic split of a
  rollout, and the rollback (weights back) as one change.

Order: Gateway API CRDs before anything that names their kinds (Envoy Gateway, KServe,
cert-manager with Gateway API on, every Gateway/HTTPRoute/SecurityPolicy); Envoy Gateway's
controller before the Gateway; cert-manager before the issuer and certificate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from ..config import ServedModel, ServingGateway
from ..handle import ClusterHandle
from .common import SERVING_LABEL, Scope, metadata, sorted_dict, system_placement

NAMESPACE = "envoy-gateway-system"
GATEWAY_NAME = "models"
GATEWAY_CLASS = "ml-clusters"
ENVOY_PROXY = "models"
# envoyproxy/gateway v1.9.0 charts/gateway-helm/values.tmpl.yaml config.envoyGateway.gateway.controllerName.
CONTROLLER_NAME = "gateway.envoyproxy.io/gatewayclass-controller"
GATEWAY_API = "gateway.networking.k8s.io/v1"
ENVOY_GATEWAY_API = "gateway.envoyproxy.io/v1alpha1"
CERT_MANAGER_API = "cert-manager.io/v1"
HTTPS_LISTENER = "https"
HTTP_LISTENER = "http"
TLS_SECRET = "models-tls"
ACME_ISSUER = "ml-serving-acme"
API_KEY_HEADER = "x-api-key"
# The Secret (in each model's namespace) holding the API keys, one key per client id
# (envoyproxy/gateway v1.9.0 api/v1alpha1/api_key_auth_types.go: each key names a client).
API_KEY_SECRET = "serving-api-keys"
SIGN_IN_RULE = "sign-in"
API_KEY_RULE = "api-key"
# KServe v0.20.0, Standard mode: a predictor's Service is `<isvc>-predictor` (constants.go
# PredictorServiceName, no predictor name) on port 80 (CommonDefaultHttpPort).
PREDICTOR_PORT = 80
# Envoy's own default route timeout is 15 s; model calls (LLM generations above all) run longer.
REQUEST_TIMEOUT = "300s"
# Labels Envoy Gateway puts on a Gateway's proxy pods (envoyproxy/gateway v1.9.0
# internal/gatewayapi/translator.go OwningGatewayNameLabel/OwningGatewayNamespaceLabel,
# internal/infrastructure/kubernetes/infra_resource_test.go: component proxy, managed-by envoy-gateway).
PROXY_POD_LABELS = {
    "app.kubernetes.io/component": "proxy",
    "app.kubernetes.io/managed-by": "envoy-gateway",
    "gateway.envoyproxy.io/owning-gateway-name": GATEWAY_NAME,
    "gateway.envoyproxy.io/owning-gateway-namespace": NAMESPACE,
}
# KServe v0.20.0 constants.go KServiceComponentLabel: `component` on predictor/transformer pods.
MODEL_POD_COMPONENTS = ("predictor", "transformer")
PROXY_REQUESTS = {"cpu": "200m", "memory": "256Mi"}
PROXY_LIMITS = {"memory": "1Gi"}
CONTROLLER_REQUESTS = {"cpu": "100m", "memory": "256Mi"}
# The controller's topology-injector webhook (charts/gateway-helm/templates/
# envoy-proxy-topology-injector-webhook.yaml @ v1.9.0: service port 9443, targetPort 9443 in
# templates/envoy-gateway-service.yaml).
WEBHOOK_PORT = 9443


def hostname(model: ServedModel, domain: str) -> str:
    """The model's stable hostname: KServe's default domain template
    (`{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}`, charts/kserve-resources/values.yaml
    @ v0.20.0) applied to the model's name."""
    return f"{model.name}-{model.namespace}.{domain}"


def version_hostname(isvc: str, namespace: str, domain: str) -> str:
    """The URL KServe publishes for one version's InferenceService (its status.url host)."""
    return f"{isvc}-{namespace}.{domain}"


def certificate_names(settings: ServingGateway) -> list[str]:
    """Every hostname the certificate must cover: each model's, and each version's own."""
    domain = settings.domain or ""
    names: list[str] = []
    for model in settings.models:
        names.append(hostname(model, domain))
        names += [version_hostname(v.inference_service, model.namespace, domain) for v in model.versions]
    return list(dict.fromkeys(names))


def load_balancer_annotations(handle: ClusterHandle, settings: ServingGateway) -> dict[str, str]:
    """The proxy Service's annotations: the cloud's for an internal or a public load
    balancer (the handle's), plus the stack's own."""
    cloud = handle.internal_lb_annotations if settings.load_balancer == "internal" else handle.public_lb_annotations
    return sorted_dict({**cloud, **settings.service_annotations})


def crd_values() -> dict[str, Any]:
    """gateway-crds-helm v1.9.0 values.yaml: both CRD sets off by default, Gateway API on the
    experimental channel; here the standard channel."""
    return {"crds": {"gatewayAPI": {"enabled": True, "channel": "standard"}, "envoyGateway": {"enabled": True}}}


def controller_values(handle: ClusterHandle) -> dict[str, Any]:
    """gateway-helm v1.9.0 (values.tmpl.yaml): CRDs from their own release, the controller on
    the system pool."""
    placement = system_placement(handle)
    return {
        "crds": {"enabled": False},
        "deployment": {
            "envoyGateway": {"resources": {"requests": dict(CONTROLLER_REQUESTS), "limits": {"memory": "1024Mi"}}},
            "pod": {"nodeSelector": placement["nodeSelector"], "tolerations": placement["tolerations"]},
        },
    }


def envoy_proxy(handle: ClusterHandle, settings: ServingGateway) -> dict[str, Any]:
    """The EnvoyProxy the GatewayClass points at: the proxies' Deployment (system pool,
    replicas, requests) and their LoadBalancer Service (api/v1alpha1/envoyproxy_types.go,
    shared_types.go KubernetesDeploymentSpec/KubernetesServiceSpec @ v1.9.0)."""
    placement = system_placement(handle)
    pod: dict[str, Any] = {"tolerations": placement["tolerations"]}
    if placement["nodeSelector"]:
        pod["nodeSelector"] = placement["nodeSelector"]
    service: dict[str, Any] = {"type": "LoadBalancer"}
    annotations = load_balancer_annotations(handle, settings)
    if annotations:
        service["annotations"] = annotations
    return {
        "apiVersion": ENVOY_GATEWAY_API,
        "kind": "EnvoyProxy",
        "metadata": metadata(ENVOY_PROXY, NAMESPACE, "gateway", "proxy"),
        "spec": {"provider": {"type": "Kubernetes", "kubernetes": {
            "envoyDeployment": {
                "replicas": settings.replicas,
                "pod": pod,
                "container": {"resources": {"requests": dict(PROXY_REQUESTS), "limits": dict(PROXY_LIMITS)}},
            },
            "envoyService": service,
            "envoyPDB": {"minAvailable": 1},
        }}},
    }


def gateway_class() -> dict[str, Any]:
    return {
        "apiVersion": GATEWAY_API,
        "kind": "GatewayClass",
        "metadata": metadata(GATEWAY_CLASS, app="gateway", component="gateway"),
        "spec": {
            "controllerName": CONTROLLER_NAME,
            "parametersRef": {"group": "gateway.envoyproxy.io", "kind": "EnvoyProxy", "name": ENVOY_PROXY, "namespace": NAMESPACE},
        },
    }


def tls_secret(settings: ServingGateway) -> str:
    return settings.tls.secret_name if settings.tls.mode == "secret" and settings.tls.secret_name else TLS_SECRET


def gateway(settings: ServingGateway) -> dict[str, Any]:
    wildcard = f"*.{settings.domain}"
    return {
        "apiVersion": GATEWAY_API,
        "kind": "Gateway",
        "metadata": metadata(GATEWAY_NAME, NAMESPACE, "gateway", "gateway"),
        "spec": {
            "gatewayClassName": GATEWAY_CLASS,
            "listeners": [
                {
                    "name": HTTPS_LISTENER, "protocol": "HTTPS", "port": 443, "hostname": wildcard,
                    "tls": {"mode": "Terminate", "certificateRefs": [{"group": "", "kind": "Secret", "name": tls_secret(settings)}]},
                    "allowedRoutes": {
                        "kinds": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}],
                        "namespaces": {"from": "Selector", "selector": {"matchLabels": {SERVING_LABEL: "true"}}},
                    },
                },
                {
                    "name": HTTP_LISTENER, "protocol": "HTTP", "port": 80, "hostname": wildcard,
                    "allowedRoutes": {"kinds": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}], "namespaces": {"from": "Same"}},
                },
            ],
        },
    }


def parent_ref(listener: str) -> dict[str, Any]:
    return {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": GATEWAY_NAME, "namespace": NAMESPACE, "sectionName": listener}


def https_redirect() -> dict[str, Any]:
    """Plain HTTP gets a redirect to HTTPS, nothing else (the ACME solver's routes match the
    longer /.well-known/acme-challenge/ paths and win)."""
    return {
        "apiVersion": GATEWAY_API,
        "kind": "HTTPRoute",
        "metadata": metadata("https-redirect", NAMESPACE, "gateway", "route"),
        "spec": {
            "parentRefs": [parent_ref(HTTP_LISTENER)],
            "rules": [{"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}],
        },
    }


def acme_issuer(settings: ServingGateway) -> dict[str, Any]:
    """A ClusterIssuer answering HTTP-01 through the Gateway API (cert-manager v1.17:
    `gatewayHTTPRoute` solver, with the controller's enableGatewayAPI on)."""
    return {
        "apiVersion": CERT_MANAGER_API,
        "kind": "ClusterIssuer",
        "metadata": metadata(ACME_ISSUER, app="gateway", component="tls"),
        "spec": {"acme": {
            "server": settings.tls.acme_server,
            "email": settings.tls.email,
            "privateKeySecretRef": {"name": f"{ACME_ISSUER}-account"},
            "solvers": [{"http01": {"gatewayHTTPRoute": {"parentRefs": [{
                "group": "gateway.networking.k8s.io", "kind": "Gateway", "name": GATEWAY_NAME, "namespace": NAMESPACE, "sectionName": HTTP_LISTENER,
            }]}}}],
        }},
    }


def certificate(settings: ServingGateway) -> dict[str, Any]:
    return {
        "apiVersion": CERT_MANAGER_API,
        "kind": "Certificate",
        "metadata": metadata(TLS_SECRET, NAMESPACE, "gateway", "tls"),
        "spec": {
            "secretName": TLS_SECRET,
            "dnsNames": certificate_names(settings),
            "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": ACME_ISSUER},
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
        },
    }


def jwt(settings: ServingGateway, issuer: str) -> dict[str, Any]:
    sign_in = settings.sign_in
    assert sign_in is not None  # config checks refuse a gateway without sign-in
    return {"providers": [{
        "name": "identity-provider",
        "issuer": issuer,
        "audiences": list(sign_in.audiences),
        "remoteJWKS": {"uri": sign_in.jwks_uri},
    }]}


def gateway_sign_in(settings: ServingGateway, issuer: str) -> dict[str, Any]:
    """Every route on the HTTPS listener (KServe's included) needs a valid token."""
    return {
        "apiVersion": ENVOY_GATEWAY_API,
        "kind": "SecurityPolicy",
        "metadata": metadata("sign-in", NAMESPACE, "gateway", "sign-in"),
        "spec": {
            "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": GATEWAY_NAME, "sectionName": HTTPS_LISTENER}],
            "jwt": jwt(settings, issuer),
        },
    }


def route_name(model: ServedModel) -> str:
    return f"model-{model.name}"


def backends(model: ServedModel) -> list[dict[str, Any]]:
    return [{"name": f"{v.inference_service}-predictor", "port": PREDICTOR_PORT, "weight": v.weight} for v in model.versions]


def model_route(model: ServedModel, settings: ServingGateway) -> dict[str, Any]:
    """The model's stable URL, split across its versions by weight."""
    api_keys = settings.sign_in is not None and settings.sign_in.api_keys
    refs = backends(model)
    prefix = {"path": {"type": "PathPrefix", "value": "/"}}
    rules = []
    if api_keys:
        rules.append({
            "name": API_KEY_RULE,
            "matches": [{**prefix, "headers": [{"type": "RegularExpression", "name": API_KEY_HEADER, "value": ".+"}]}],
            "backendRefs": refs, "timeouts": {"request": REQUEST_TIMEOUT},
        })
    rules.append({"name": SIGN_IN_RULE, "matches": [prefix], "backendRefs": refs, "timeouts": {"request": REQUEST_TIMEOUT}})
    return {
        "apiVersion": GATEWAY_API,
        "kind": "HTTPRoute",
        "metadata": metadata(route_name(model), model.namespace, "gateway", "route", {"ml-clusters.io/model": model.name}),
        "spec": {
            "parentRefs": [parent_ref(HTTPS_LISTENER)],
            "hostnames": [hostname(model, settings.domain or "")],
            "rules": rules,
        },
    }


def model_policies(model: ServedModel, settings: ServingGateway, issuer: str) -> list[dict[str, Any]]:
    """Rule-level SecurityPolicies of a model's route: JWT on `sign-in`, API keys on `api-key`."""

    def target(rule: str) -> list[dict[str, Any]]:
        return [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": route_name(model), "sectionName": rule}]

    out = [{
        "apiVersion": ENVOY_GATEWAY_API,
        "kind": "SecurityPolicy",
        "metadata": metadata(f"{route_name(model)}-{SIGN_IN_RULE}", model.namespace, "gateway", "sign-in"),
        "spec": {"targetRefs": target(SIGN_IN_RULE), "jwt": jwt(settings, issuer)},
    }]
    if settings.sign_in is not None and settings.sign_in.api_keys:
        out.append({
            "apiVersion": ENVOY_GATEWAY_API,
            "kind": "SecurityPolicy",
            "metadata": metadata(f"{route_name(model)}-{API_KEY_RULE}", model.namespace, "gateway", "sign-in"),
            "spec": {
                "targetRefs": target(API_KEY_RULE),
                "apiKeyAuth": {
                    "credentialRefs": [{"group": "", "kind": "Secret", "name": API_KEY_SECRET}],
                    "extractFrom": [{"headers": [API_KEY_HEADER]}],
                    "forwardClientIDHeader": "x-client-id",
                    "sanitize": True,
                },
            },
        })
    return out


def gateway_network_policy() -> dict[str, Any]:
    """Team namespaces: the gateway's proxies reach the model pods, and nothing else comes in
    from outside the namespace (besides monitoring)."""
    return {
        "podSelector": {"matchExpressions": [{"key": "component", "operator": "In", "values": list(MODEL_POD_COMPONENTS)}]},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": [{
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": NAMESPACE}},
            "podSelector": {"matchLabels": dict(PROXY_POD_LABELS)},
        }]}],
    }


@dataclass
class GatewayResources:
    crds: k8s.helm.v3.Release
    controller: Optional[k8s.helm.v3.Release] = None
    gateway: Optional[pulumi.Resource] = None
    routes: dict[str, pulumi.Resource] = field(default_factory=dict)


def install_crds(name: str, scope: Scope, namespace: pulumi.Resource) -> k8s.helm.v3.Release:
    from .workloads.releases import release

    return release(f"{name}-gateway-crds", "gateway-crds-helm", NAMESPACE, crd_values(), scope, (namespace,))


def install_gateway(name: str, scope: Scope, settings: ServingGateway, issuer: str, crds: k8s.helm.v3.Release,
                    namespace: pulumi.Resource, cert_manager: Optional[pulumi.Resource],
                    team_namespaces: Mapping[str, pulumi.Resource]) -> GatewayResources:
    """Envoy Gateway, the Gateway, its certificate, its sign-in and the published models."""
    from .workloads.releases import release

    handle = scope.handle
    out = GatewayResources(crds)

    def custom(resource_name: str, obj: dict[str, Any], *deps: Optional[pulumi.Resource]) -> k8s.apiextensions.CustomResource:
        return k8s.apiextensions.CustomResource(
            resource_name, api_version=obj["apiVersion"], kind=obj["kind"], metadata=obj["metadata"], spec=obj["spec"],
            opts=scope.opts(crds, *deps),
        )

    out.controller = release(f"{name}-envoy-gateway", "gateway-helm", NAMESPACE, controller_values(handle), scope, (namespace, crds))
    proxy = custom(f"{name}-envoy-proxy", envoy_proxy(handle, settings), namespace)
    cls = custom(f"{name}-gateway-class", gateway_class(), proxy)
    out.gateway = custom(f"{name}-gateway", gateway(settings), out.controller, cls, namespace)
    custom(f"{name}-gateway-https-redirect", https_redirect(), out.gateway)
    custom(f"{name}-gateway-sign-in", gateway_sign_in(settings, issuer), out.gateway)
    if settings.tls.mode == "acme":
        issuer_resource = custom(f"{name}-gateway-acme-issuer", acme_issuer(settings), cert_manager)
        if settings.models:
            custom(f"{name}-gateway-certificate", certificate(settings), cert_manager, issuer_resource, out.gateway)
    for model in settings.models:
        team_ns = team_namespaces.get(model.namespace)
        route = custom(f"{name}-{model.namespace}-{route_name(model)}", model_route(model, settings), out.gateway, team_ns)
        out.routes[f"{model.namespace}/{model.name}"] = route
        for policy in model_policies(model, settings, issuer):
            custom(f"{name}-{model.namespace}-{policy['metadata']['name']}", policy, team_ns)
    return out


def kserve_ingress(settings: ServingGateway) -> dict[str, Any]:
    """kserve-resources values (kserve.controller.gateway, charts/kserve-resources/values.yaml
    @ v0.20.0), rendered into inferenceservice-config's `ingress` (charts/_common/common-patches/
    configmap-patch.yaml): HTTPRoutes on our Gateway, https URLs under the stack's domain."""
    return {
        "domain": settings.domain,
        "urlScheme": "https",
        "disableIstioVirtualHost": True,
        "disableIngressCreation": False,
        "ingressGateway": {"enableGatewayApi": True, "kserveGateway": f"{NAMESPACE}/{GATEWAY_NAME}", "createGateway": False},
    }


def model_hosts(models: Sequence[ServedModel], domain: str) -> dict[str, str]:
    return {f"{m.namespace}/{m.name}": hostname(m, domain) for m in models}
