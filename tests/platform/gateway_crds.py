"""Field-by-field records of the serving gateway's custom resources at the pinned versions.

Our own record (no upstream CRD is stored here) of the fields each kind declares at the
levels the platform writes, read from the CRDs' openAPIV3Schema at the pins:
- Gateway API v1.6.1 standard channel (envoyproxy/gateway v1.9.0
  charts/gateway-crds-helm/templates/standard-gatewayapi-crds.yaml): Gateway, GatewayClass,
  HTTPRoute (`gateway.networking.k8s.io/v1`, served and stored);
- Envoy Gateway v1.9.0 (charts/gateway-crds-helm/templates/generated/
  gateway.envoyproxy.io_{envoyproxies,securitypolicies}.yaml): EnvoyProxy, SecurityPolicy;
- cert-manager v1.17.4 (deploy/crds/crd-{certificates,clusterissuers}.yaml): Certificate,
  ClusterIssuer.
tests/platform/workloads/crds.py checks objects against these tables like its own: a field a
table does not list is an error, as `kubectl apply --validate=strict` would report it.
"""

from __future__ import annotations

GATEWAY = "gateway.networking.k8s.io/v1"
ENVOY_GATEWAY = "gateway.envoyproxy.io/v1alpha1"
CERT_MANAGER = "cert-manager.io/v1"

FIELDS: dict[tuple[str, str], dict[str, set[str]]] = {
    (CERT_MANAGER, 'Certificate'): {
        'spec': {'additionalOutputFormats', 'commonName', 'dnsNames', 'duration', 'emailAddresses', 'encodeUsagesInRequest', 'ipAddresses', 'isCA', 'issuerRef', 'keystores', 'literalSubject', 'nameConstraints', 'otherNames', 'privateKey', 'renewBefore', 'renewBeforePercentage', 'revisionHistoryLimit', 'secretName', 'secretTemplate', 'subject', 'uris', 'usages'},
        'spec.issuerRef': {'group', 'kind', 'name'},
        'spec.privateKey': {'algorithm', 'encoding', 'rotationPolicy', 'size'},
    },
    (CERT_MANAGER, 'ClusterIssuer'): {
        'spec': {'acme', 'ca', 'selfSigned', 'vault', 'venafi'},
        'spec.acme': {'caBundle', 'disableAccountKeyGeneration', 'email', 'enableDurationFeature', 'externalAccountBinding', 'preferredChain', 'privateKeySecretRef', 'server', 'skipTLSVerify', 'solvers'},
        'spec.acme.privateKeySecretRef': {'key', 'name'},
        'spec.acme.solvers[]': {'dns01', 'http01', 'selector'},
        'spec.acme.solvers[].http01': {'gatewayHTTPRoute', 'ingress'},
        'spec.acme.solvers[].http01.gatewayHTTPRoute': {'labels', 'parentRefs', 'podTemplate', 'serviceType'},
        'spec.acme.solvers[].http01.gatewayHTTPRoute.parentRefs[]': {'group', 'kind', 'name', 'namespace', 'port', 'sectionName'},
    },
    (ENVOY_GATEWAY, 'EnvoyProxy'): {
        'spec': {'backendTLS', 'bootstrap', 'concurrency', 'dynamicModules', 'extraArgs', 'filterOrder', 'geoIP', 'ipFamily', 'logging', 'luaValidation', 'mergeBackends', 'mergeGateways', 'mergeType', 'preserveRouteOrder', 'provider', 'routingType', 'shutdown', 'telemetry'},
        'spec.provider': {'host', 'kubernetes', 'type'},
        'spec.provider.kubernetes': {'envoyDaemonSet', 'envoyDeployment', 'envoyHpa', 'envoyPDB', 'envoyService', 'envoyServiceAccount', 'useListenerPortAsContainerPort'},
        'spec.provider.kubernetes.envoyDeployment': {'container', 'initContainers', 'name', 'patch', 'pod', 'replicas', 'strategy'},
        'spec.provider.kubernetes.envoyDeployment.container': {'env', 'image', 'imageRepository', 'resources', 'securityContext', 'volumeMounts'},
        'spec.provider.kubernetes.envoyDeployment.container.resources': {'claims', 'limits', 'requests'},
        'spec.provider.kubernetes.envoyDeployment.pod': {'affinity', 'annotations', 'imagePullSecrets', 'labels', 'nodeSelector', 'priorityClassName', 'securityContext', 'tolerations', 'topologySpreadConstraints', 'volumes'},
        'spec.provider.kubernetes.envoyPDB': {'maxUnavailable', 'minAvailable', 'name', 'patch'},
        'spec.provider.kubernetes.envoyService': {'allocateLoadBalancerNodePorts', 'annotations', 'externalTrafficPolicy', 'labels', 'loadBalancerClass', 'loadBalancerIP', 'loadBalancerSourceRanges', 'name', 'patch', 'type'},
    },
    (ENVOY_GATEWAY, 'SecurityPolicy'): {
        'spec': {'apiKeyAuth', 'authorization', 'basicAuth', 'cors', 'csrf', 'extAuth', 'jwt', 'mergeType', 'oidc', 'targetRef', 'targetRefs', 'targetSelectors'},
        'spec.apiKeyAuth': {'credentialRefs', 'extractFrom', 'forwardClientIDHeader', 'sanitize'},
        'spec.apiKeyAuth.credentialRefs[]': {'group', 'kind', 'name', 'namespace'},
        'spec.apiKeyAuth.extractFrom[]': {'cookies', 'headers', 'params'},
        'spec.jwt': {'failOpen', 'optional', 'providers'},
        'spec.jwt.providers[]': {'audiences', 'claimToHeaders', 'extractFrom', 'issuer', 'localJWKS', 'name', 'recomputeRoute', 'remoteJWKS'},
        'spec.jwt.providers[].remoteJWKS': {'backendRef', 'backendRefs', 'backendSettings', 'cacheDuration', 'failedRefetchDuration', 'uri'},
        'spec.targetRefs[]': {'group', 'kind', 'name', 'sectionName'},
    },
    (GATEWAY, 'Gateway'): {
        'spec': {'addresses', 'allowedListeners', 'gatewayClassName', 'infrastructure', 'listeners', 'tls'},
        'spec.listeners[]': {'allowedRoutes', 'hostname', 'name', 'port', 'protocol', 'tls'},
        'spec.listeners[].allowedRoutes': {'kinds', 'namespaces'},
        'spec.listeners[].allowedRoutes.kinds[]': {'group', 'kind'},
        'spec.listeners[].allowedRoutes.namespaces': {'from', 'selector'},
        'spec.listeners[].allowedRoutes.namespaces.selector': {'matchExpressions', 'matchLabels'},
        'spec.listeners[].tls': {'certificateRefs', 'mode', 'options'},
        'spec.listeners[].tls.certificateRefs[]': {'group', 'kind', 'name', 'namespace'},
    },
    (GATEWAY, 'GatewayClass'): {
        'spec': {'controllerName', 'description', 'parametersRef'},
        'spec.parametersRef': {'group', 'kind', 'name', 'namespace'},
    },
    (GATEWAY, 'HTTPRoute'): {
        'spec': {'hostnames', 'parentRefs', 'rules'},
        'spec.parentRefs[]': {'group', 'kind', 'name', 'namespace', 'port', 'sectionName'},
        'spec.rules[]': {'backendRefs', 'filters', 'matches', 'name', 'timeouts'},
        'spec.rules[].backendRefs[]': {'filters', 'group', 'kind', 'name', 'namespace', 'port', 'weight'},
        'spec.rules[].filters[]': {'cors', 'extensionRef', 'requestHeaderModifier', 'requestMirror', 'requestRedirect', 'responseHeaderModifier', 'type', 'urlRewrite'},
        'spec.rules[].filters[].requestRedirect': {'hostname', 'path', 'port', 'scheme', 'statusCode'},
        'spec.rules[].matches[]': {'headers', 'method', 'path', 'queryParams'},
        'spec.rules[].matches[].headers[]': {'name', 'type', 'value'},
        'spec.rules[].matches[].path': {'type', 'value'},
        'spec.rules[].timeouts': {'backendRequest', 'request'},
    },
}

REQUIRED: dict[tuple[str, str], dict[str, set[str]]] = {
    (CERT_MANAGER, 'Certificate'): {
        'spec': {'issuerRef', 'secretName'},
        'spec.issuerRef': {'name'},
    },
    (CERT_MANAGER, 'ClusterIssuer'): {
        'spec.acme': {'privateKeySecretRef', 'server'},
        'spec.acme.privateKeySecretRef': {'name'},
        'spec.acme.solvers[].http01.gatewayHTTPRoute.parentRefs[]': {'name'},
    },
    (ENVOY_GATEWAY, 'EnvoyProxy'): {
        'spec.provider': {'type'},
    },
    (ENVOY_GATEWAY, 'SecurityPolicy'): {
        'spec.apiKeyAuth': {'credentialRefs', 'extractFrom'},
        'spec.apiKeyAuth.credentialRefs[]': {'name'},
        'spec.jwt': {'providers'},
        'spec.jwt.providers[]': {'name'},
        'spec.jwt.providers[].remoteJWKS': {'uri'},
        'spec.targetRefs[]': {'group', 'kind', 'name'},
    },
    (GATEWAY, 'Gateway'): {
        'spec': {'gatewayClassName', 'listeners'},
        'spec.listeners[]': {'name', 'port', 'protocol'},
        'spec.listeners[].allowedRoutes.kinds[]': {'kind'},
        'spec.listeners[].tls.certificateRefs[]': {'name'},
    },
    (GATEWAY, 'GatewayClass'): {
        'spec': {'controllerName'},
        'spec.parametersRef': {'group', 'kind', 'name'},
    },
    (GATEWAY, 'HTTPRoute'): {
        'spec.parentRefs[]': {'name'},
        'spec.rules[].backendRefs[]': {'name'},
        'spec.rules[].filters[]': {'type'},
        'spec.rules[].matches[].headers[]': {'name', 'value'},
    },
}

# Enumerations the schemas declare at fields the platform sets (same sources; a listener's
# protocol is a pattern there, not an enumeration).
ENUMS: dict[tuple[str, str], dict[str, set[object]]] = {
    (GATEWAY, "Gateway"): {
        "spec.listeners[].tls.mode": {"Terminate", "Passthrough"},
        "spec.listeners[].allowedRoutes.namespaces.from": {"All", "Same", "Selector"},
    },
    (GATEWAY, "HTTPRoute"): {
        "spec.rules[].filters[].type": {"RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "RequestRedirect", "URLRewrite", "ExtensionRef", "CORS"},
        "spec.rules[].filters[].requestRedirect.scheme": {"http", "https"},
        "spec.rules[].filters[].requestRedirect.statusCode": {301, 302, 303, 307, 308},
        "spec.rules[].matches[].path.type": {"Exact", "PathPrefix", "RegularExpression"},
        "spec.rules[].matches[].headers[].type": {"Exact", "RegularExpression"},
    },
    (ENVOY_GATEWAY, "EnvoyProxy"): {
        "spec.provider.type": {"Host", "Kubernetes"},
        "spec.provider.kubernetes.envoyService.type": {"ClusterIP", "LoadBalancer", "NodePort"},
    },
    (CERT_MANAGER, "Certificate"): {
        "spec.privateKey.algorithm": {"RSA", "ECDSA", "Ed25519"},
        "spec.privateKey.rotationPolicy": {"Never", "Always"},
    },
}
