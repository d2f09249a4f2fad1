"""The serving gateway: in prod, a route to a model is served over TLS and only to callers
who signed in (Gateway API objects, Envoy Gateway's SecurityPolicy).

What the rules read (Gateway API v1.6.1, Envoy Gateway v1.9.0):
- an HTTPRoute attaches to a Gateway's listeners through `spec.parentRefs` (a `sectionName`
  names one listener; none: every listener that admits the route);
- a listener serves TLS when its protocol is HTTPS and `tls.certificateRefs` names a certificate;
- a SecurityPolicy authenticates what it targets (`spec.targetRefs`: a Gateway, optionally one
  listener by `sectionName`; an HTTPRoute, optionally one rule by `sectionName`) with `jwt`,
  `oidc`, `apiKeyAuth`, `basicAuth` or `extAuth`; it applies only to targets in its own
  namespace (envoyproxy/gateway v1.9.0 site/content/en/latest/concepts/gateway_api_extensions/security-policy.md).
A rule whose only filter redirects to https carries no request to a model and needs neither.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional, Sequence

from .base import Context, Finding, Resource, get, items, stack_rule
from .types import K8S_NAMESPACE as NAMESPACE

DOMAIN = "kubernetes"
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
SECURITY_POLICY = "kubernetes:gateway.envoyproxy.io/v1alpha1:SecurityPolicy"
AUTHENTICATIONS = ("jwt", "oidc", "apiKeyAuth", "basicAuth", "extAuth")


def _namespace_labels(resources: Sequence[Resource]) -> dict[str, dict[str, str]]:
    out = {}
    for r in resources:
        if r.type == NAMESPACE:
            labels = get(r.props, "metadata.labels")
            out[get(r.props, "metadata.name") or r.name] = labels if isinstance(labels, dict) else {}
    return out


def _key(r: Resource) -> tuple[str, str]:
    return (get(r.props, "metadata.namespace") or "default", get(r.props, "metadata.name") or r.name)


def _redirect_only(rule: Any) -> bool:
    filters = rule.get("filters") or [] if isinstance(rule, dict) else []
    return bool(filters) and not rule.get("backendRefs") and all(
        f.get("type") == "RequestRedirect" and (f.get("requestRedirect") or {}).get("scheme") == "https" for f in filters
    )


def _serving_rules(route: Resource) -> list[tuple[int, dict[str, Any]]]:
    """The route's rules that carry requests to a backend (not https redirects)."""
    return [(i, rule) for i, rule in enumerate(items(route.props, "spec.rules")) if isinstance(rule, dict) and not _redirect_only(rule)]


def _admits(listener: dict[str, Any], gateway_ns: str, route_ns: str, namespace_labels: dict[str, dict[str, str]]) -> bool:
    """Whether a listener takes routes from the route's namespace (allowedRoutes.namespaces;
    the Gateway API default is Same). A selector is matched against the stack's Namespace
    labels; a namespace the stack does not define is assumed admitted."""
    allowed = get(listener, "allowedRoutes.namespaces") or {}
    source = allowed.get("from", "Same") if isinstance(allowed, dict) else "Same"
    if source == "Same":
        return route_ns == gateway_ns
    if source == "Selector":
        labels = namespace_labels.get(route_ns)
        wanted = get(allowed, "selector.matchLabels") or {}
        return labels is None or all(labels.get(k) == v for k, v in wanted.items())
    return True


def _listeners(gateways: dict[tuple[str, str], Resource], route: Resource,
               namespace_labels: Optional[dict[str, dict[str, str]]] = None) -> Iterator[tuple[dict[str, Any], Optional[Resource], Optional[dict[str, Any]]]]:
    """(parentRef, its Gateway or None, the listener or None when it names no known one);
    a parentRef without sectionName attaches to every listener that admits the route."""
    route_ns = get(route.props, "metadata.namespace") or "default"
    for ref in items(route.props, "spec.parentRefs"):
        if not isinstance(ref, dict) or ref.get("kind", "Gateway") != "Gateway":
            continue
        gw = gateways.get((ref.get("namespace") or route_ns, ref.get("name")))
        if gw is None:
            yield ref, None, None
            continue
        section = ref.get("sectionName")
        listeners = [item for item in items(gw.props, "spec.listeners") if isinstance(item, dict)]
        if section is None:
            chosen = [item for item in listeners if _admits(item, _key(gw)[0], route_ns, namespace_labels or {})]
        else:
            chosen = [item for item in listeners if item.get("name") == section]
        if not chosen:
            yield ref, gw, None
        for listener in chosen:
            yield ref, gw, listener


@stack_rule(
    id="serving-route-tls",
    title="Model routes only over TLS in prod",
    domain=DOMAIN,
    types=[HTTP_ROUTE, GATEWAY, NAMESPACE],
    description="In prod, every HTTPRoute that carries requests attaches only to Gateway listeners of this stack that speak HTTPS with a certificate (tls.certificateRefs); plain HTTP listeners may carry only redirects to https.",
    severity="high",
    level="mandatory",
    environments=["prod"],
    fix="Attach the route to the gateway's HTTPS listener (parentRefs[].sectionName: https) and give that listener a certificate (platform.workloads.serving.gateway.tls).",
)
def serving_route_tls(resources: Sequence[Resource], ctx: Context):
    gateways = {_key(r): r for r in resources if r.type == GATEWAY}
    labels = _namespace_labels(resources)
    for route in (r for r in resources if r.type == HTTP_ROUTE):
        if not _serving_rules(route):
            continue
        ns, name = _key(route)
        for ref, gw, listener in _listeners(gateways, route, labels):
            where = f"{ref.get('namespace') or ns}/{ref.get('name')}"
            if gw is None:
                yield Finding(f"HTTPRoute {ns}/{name} attaches to Gateway {where}, which this stack does not define: its TLS cannot be checked.", resource=route)
            elif listener is None:
                yield Finding(f"HTTPRoute {ns}/{name} names listener {ref.get('sectionName')!r} of Gateway {where}, which has no such listener.", resource=route)
            elif listener.get("protocol") != "HTTPS" or not items(listener, "tls.certificateRefs"):
                yield Finding(
                    f"HTTPRoute {ns}/{name} is served on listener {listener.get('name')!r} of Gateway {where} "
                    f"({listener.get('protocol')}{', no certificate' if listener.get('protocol') == 'HTTPS' else ''}): "
                    "requests and their tokens cross the network in clear text.",
                    resource=route,
                )


def _authenticates(policy: Resource) -> bool:
    return any(get(policy.props, f"spec.{a}") for a in AUTHENTICATIONS)


def _covers(policy: Resource, kind: str, namespace: str, name: str, section: Optional[str]) -> bool:
    """Whether the policy targets this object (and this section of it, or all of it)."""
    if (get(policy.props, "metadata.namespace") or "default") != namespace:
        return False
    for target in [*items(policy.props, "spec.targetRefs"), *items(policy.props, "spec.targetRef")]:
        if isinstance(target, dict) and target.get("kind") == kind and target.get("name") == name:
            if target.get("sectionName") in (None, section):
                return True
    return False


@stack_rule(
    id="serving-route-authentication",
    title="Model routes require sign-in in prod",
    domain=DOMAIN,
    types=[HTTP_ROUTE, GATEWAY, SECURITY_POLICY, NAMESPACE],
    description="In prod, every rule of every HTTPRoute that carries requests is covered by a SecurityPolicy that authenticates (jwt, oidc, apiKeyAuth, basicAuth or extAuth): one targeting the route or that rule, or one targeting each Gateway listener the route is served on; so no model is public by accident.",
    severity="critical",
    level="mandatory",
    environments=["prod"],
    fix="Keep platform.workloads.serving.gateway.signIn set (it renders the sign-in SecurityPolicies), or add a SecurityPolicy with jwt or apiKeyAuth targeting the route.",
)
def serving_route_authentication(resources: Sequence[Resource], ctx: Context):
    gateways = {_key(r): r for r in resources if r.type == GATEWAY}
    policies = [r for r in resources if r.type == SECURITY_POLICY and _authenticates(r)]
    labels = _namespace_labels(resources)
    for route in (r for r in resources if r.type == HTTP_ROUTE):
        ns, name = _key(route)
        parents = [(gw, listener) for _, gw, listener in _listeners(gateways, route, labels) if gw is not None and listener is not None]
        for i, rule in _serving_rules(route):
            rule_name = rule.get("name")
            if any(_covers(p, "HTTPRoute", ns, name, rule_name) for p in policies):
                continue
            if parents and all(any(_covers(p, "Gateway", *_key(gw), listener.get("name")) for p in policies) for gw, listener in parents):
                continue
            label = f"rule {rule_name!r}" if rule_name else f"rule {i}"
            yield Finding(f"HTTPRoute {ns}/{name} {label} is reached without sign-in: no SecurityPolicy with jwt, oidc or API keys covers it.", resource=route)
