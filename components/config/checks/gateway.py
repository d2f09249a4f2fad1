"""platform.workloads.serving.gateway: a served model always has a hostname, TLS and sign-in.

The gateway publishes models only with TLS and a sign-in: every check here refuses a setting
that would leave a model reachable without them, or a route that points at nothing."""

from __future__ import annotations

from typing import Optional

from ..model import StackConfig

KEY = "platform.workloads.serving.gateway"
# Let's Encrypt's production and staging directories: they validate HTTP-01 from the internet.
PUBLIC_ACME_SERVERS = (
    "https://acme-v02.api.letsencrypt.org/directory",
    "https://acme-staging-v02.api.letsencrypt.org/directory",
)


def gateway_issuer(cfg: "StackConfig") -> Optional[str]:
    """The issuer whose tokens the gateway accepts: `signIn.issuerUrl`, else the provider the
    teams already sign in with (aws.identityProvider, then notebooks.signIn)."""
    gw = cfg.platform.workloads.serving.gateway
    if gw.sign_in is not None and gw.sign_in.issuer_url:
        return gw.sign_in.issuer_url
    if cfg.aws is not None and cfg.aws.identity_provider is not None:
        return cfg.aws.identity_provider.issuer_url
    notebooks = cfg.platform.workloads.notebooks.sign_in
    return notebooks.issuer_url if notebooks is not None else None


def model_cache_problems(cfg: "StackConfig") -> list[str]:
    """The model cache lives on the shared file system class: refuse it where there is none."""
    serving = cfg.platform.workloads.serving
    if serving.model_cache is None:
        return []
    key = "platform.workloads.serving.modelCache"
    if not serving.enabled:
        return [f"{key}: {serving.model_cache!r} is set, but KServe is off; allowed: set platform.workloads.serving.enabled true, or no modelCache"]
    if not cfg.platform.shared_file_system:
        return [f"{key}: {serving.model_cache!r} needs the shared file system class `ml-shared`; allowed: platform.sharedFileSystem true, or no modelCache"]
    if cfg.existing is not None and not cfg.existing.file_storage_provisioner:
        return [f"{key}: {serving.model_cache!r} needs a ReadWriteMany class, and existing.fileStorageProvisioner is unset; allowed: your NFS or CephFS provisioner there, or no modelCache"]
    return []


def keda_problems(cfg: "StackConfig") -> list[str]:
    """KEDA scales models on Prometheus queries: it needs KServe and the platform's Prometheus."""
    serving = cfg.platform.workloads.serving
    key = "platform.workloads.serving.keda"
    if not serving.keda:
        return []
    if not serving.enabled:
        return [f"{key}: true, but KServe is off; allowed: set platform.workloads.serving.enabled true, or keda false"]
    if not cfg.platform.monitoring.enabled:
        return [f"{key}: true scales models on Prometheus queries, but platform.monitoring.enabled is false; allowed: monitoring on, or keda false"]
    return []


def gateway_problems(cfg: "StackConfig") -> list[str]:
    return model_cache_problems(cfg) + keda_problems(cfg) + _gateway_problems(cfg)


def _gateway_problems(cfg: "StackConfig") -> list[str]:
    serving = cfg.platform.workloads.serving
    gw = serving.gateway
    if not gw.enabled:
        if gw.models:
            return [f"{KEY}.models: {len(gw.models)} model(s) listed, but the gateway is off; allowed: set {KEY}.enabled true, or no models"]
        return []
    out: list[str] = []
    if not serving.enabled:
        out.append(f"{KEY}.enabled: true needs KServe; allowed: set platform.workloads.serving.enabled true")
    if gw.domain is None:
        out.append(f"{KEY}.domain: unset; allowed: the stack's serving domain, e.g. models.example.com (each model is <name>-<namespace>.<domain>)")
    if gw.tls.mode == "acme":
        if gw.tls.email is None:
            out.append(f"{KEY}.tls.email: unset, but the ACME account needs a contact address; allowed: an email address, or tls.mode secret")
        if gw.load_balancer == "internal" and gw.tls.acme_server in PUBLIC_ACME_SERVERS:
            out.append(
                f"{KEY}.tls.acmeServer: {gw.tls.acme_server!r} checks HTTP-01 from the internet, which cannot reach an internal "
                f"load balancer; allowed: loadBalancer public, your internal ACME server, or tls.mode secret"
            )
        if serving.cert_manager != "install":
            out.append(
                f"{KEY}.tls.mode: 'acme' answers HTTP-01 through the Gateway API, which cert-manager does only with its "
                f"enableGatewayAPI setting, set when the platform installs it (certManager {serving.cert_manager!r}); allowed: certManager install, or tls.mode secret"
            )
    elif gw.tls.secret_name is None:
        out.append(f"{KEY}.tls.secretName: unset with tls.mode 'secret'; allowed: the kubernetes.io/tls Secret covering *.<domain> in namespace envoy-gateway-system")
    if gw.sign_in is None:
        out.append(f"{KEY}.signIn: unset, but a model behind the gateway would be public to anyone who finds it; allowed: jwksUri and audiences of your identity provider")
    else:
        issuer = gateway_issuer(cfg)
        if issuer is None:
            out.append(f"{KEY}.signIn.issuerUrl: unset, and no aws.identityProvider or notebooks.signIn names the teams' issuer; allowed: the https issuer of your OIDC provider")
        elif not issuer.startswith("https://"):
            out.append(f"{KEY}.signIn.issuerUrl: {issuer!r} is not an https URL; allowed: https://...")
    if cfg.cloud == "existing" and gw.load_balancer == "internal" and not gw.service_annotations:
        out.append(
            f"{KEY}.serviceAnnotations: empty, but an existing cluster's load balancer has no internal annotation the platform knows; "
            f"allowed: your load balancer's internal annotation (e.g. MetalLB's address pool), or loadBalancer public"
        )
    namespaces = {ns.name for ns in cfg.namespaces}
    seen: dict[tuple[str, str], int] = {}
    for i, model in enumerate(gw.models):
        where = f"{KEY}.models[{i}]"
        if model.namespace not in namespaces:
            out.append(f"{where}.namespace: {model.namespace!r} is not a team namespace; allowed: {', '.join(sorted(namespaces)) or 'none (namespaces is empty)'}")
        key = (model.name, model.namespace)
        if key in seen:
            out.append(f"{where}.name: {model.name!r} in {model.namespace!r} is already published by models[{seen[key]}]; one entry per hostname")
        seen.setdefault(key, i)
        if model.versions:  # at least one (the model rejects an empty list)
            total = sum(v.weight for v in model.versions)
            if total != 100:
                out.append(f"{where}.versions: the weights add up to {total}; allowed: weights that add up to 100 (percent of requests)")
            names = [v.inference_service for v in model.versions]
            if len(set(names)) != len(names):
                out.append(f"{where}.versions: an InferenceService is listed twice ({', '.join(names)}); allowed: each version once")
            if model.name in names:
                out.append(
                    f"{where}.versions: {model.name!r} is both the model's stable name and a version; KServe would publish that "
                    f"InferenceService at the same hostname; allowed: versions named apart from the model, e.g. {model.name}-v1"
                )
    return out
