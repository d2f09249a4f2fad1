"""Notebooks: JupyterHub (zero-to-jupyterhub chart 4.4.0) behind an OIDC sign-in, spawning
each user's server in their team's namespace.

- Sign-in: oauthenticator's GenericOAuthenticator (17.4.0 in the chart's hub image,
  images/hub/requirements.txt) against the stack's identity provider. The groups claim
  becomes JupyterHub groups (`manage_groups`, `auth_state_groups_key`); only the team groups
  (namespaces[].group) and the admin group may sign in (`allowed_groups`, `admin_groups`).
  The client secret comes from a Secret created outside the stack, read by the
  authenticator from `OAUTH_CLIENT_SECRET` (oauth2.py `_client_secret_default`).
- Where a server runs: one profile per team namespace (CPU) and per team namespace and
  GPU pool the team queues on. Each profile sets KubeSpawner's `namespace`, so the server
  and its home volume land in that namespace, under its ResourceQuota, LimitRange, Pod
  Security level and NetworkPolicies. The profile list is a callable (kubespawner 7.0.0
  `profile_list` accepts one) that keeps the profiles of the user's groups; KubeSpawner
  re-evaluates it in `load_user_options` and refuses a profile not in it, so a user cannot
  post another team's slug.
- The hub's service account gets, in each team namespace, the rights the chart's own Role
  grants it in `jupyterhub` (templates/hub/rbac.yaml). The proxy and hub reach the servers
  from `jupyterhub`; the servers reach the hub API through the hub's NetworkPolicy, which
  accepts the access label from other namespaces (`interNamespaceAccessLabels: accept`).
- A GPU server's spawn timeout is the catalog's cold-start estimate for the pool's cloud
  (node boot, driver, image pull) with a margin; idle servers are culled.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ...catalog import timings
from ...config import NotebookProfile, ServingNamespace
from ...config import Notebooks as NotebookSettings
from ...conventions import GPU_TAINT, POOL_LABEL
from ...handle import ClusterHandle
from ..common import NAMESPACE_NAME_LABEL, gpu_tolerations, system_placement
from ..serving import NOTEBOOK_PRIORITY
from ...config.queue_plan import TeamQueuePlan
from .queueing import pool_resource
from .releases import image_parts

NAMESPACE = "jupyterhub"
# z2jh names the hub's ServiceAccount after the hub (`hub` with no fullnameOverride),
# and labels every user server `component: singleuser-server`.
HUB_SERVICE_ACCOUNT = "hub"
SERVER_LABELS = {"component": "singleuser-server"}
HUB_ACCESS_LABEL = "hub.jupyter.org/network-access-hub"
SERVER_PORT = 8888  # KubeSpawner's default port
HUB_PORT = 8081  # the hub's API, which servers call back
SECRET_KEY = "client-secret"
# The chart's default singleuser.startTimeout (values.yaml), kept for CPU servers.
CHART_START_TIMEOUT = 300
# Same rules as z2jh 4.4.0 templates/hub/rbac.yaml, in each team namespace.
HUB_RULES: list[dict[str, Any]] = [
    {"apiGroups": [""], "resources": ["pods", "persistentvolumeclaims", "secrets", "services"],
     "verbs": ["get", "watch", "list", "create", "delete"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["get", "watch", "list"]},
]
# Pod Security `restricted` (team namespaces) needs these on every container; KubeSpawner
# merges container_security_context over its own (objects.py make_pod).
RESTRICTED_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}
# System-pool requests (the chart sets none; these are ours).
REQUESTS = {"hub": {"cpu": "100m", "memory": "512Mi"}, "proxy": {"cpu": "50m", "memory": "128Mi"}}
GROUP_KEY = "ml_clusters_group"
# Runs in the hub after the chart's config: keep only the profiles of the user's groups.
PROFILE_FILTER = f"""
_all_profiles = list(c.KubeSpawner.profile_list)

def _team_profiles(spawner):
    groups = {{g.name for g in spawner.user.groups}}
    return [p for p in _all_profiles if p["{GROUP_KEY}"] in groups]

c.KubeSpawner.profile_list = _team_profiles
"""


def _image(key: str) -> dict[str, str]:
    name, tag = image_parts(key)
    return {"name": name, "tag": tag}


def gpu_start_timeout(handle: ClusterHandle) -> int:
    """Seconds a GPU server may take to start: the pool's cold start with a margin."""
    return max(CHART_START_TIMEOUT, timings.start_timeout_seconds(handle.cloud, "notebook-gpu"))


def team_pools(plan: TeamQueuePlan | None, ns: ServingNamespace, pools: Sequence[str]) -> list[str]:
    """The GPU pools a team's notebooks may use: with queueing, those it holds GPUs outside
    Kueue in (queueing.queues[].reservedGpus: Kueue hands out the rest); without, every
    pool when the namespace has a GPU quota."""
    if ns.gpus == 0:
        return []
    if plan is None:
        return list(pools)
    return [p for p in pools if plan.reserved_per_pool.get(p, 0) > 0]


def profiles(handle: ClusterHandle, settings: NotebookSettings, namespaces: Sequence[ServingNamespace],
             plans: Sequence[TeamQueuePlan] = ()) -> list[dict[str, Any]]:
    """The spawn form's profiles: per team namespace, CPU first, then its GPU profiles."""
    facts = {f.pool.name: f for f in handle.gpu_pools}
    chosen: Sequence[NotebookProfile] = settings.profiles or [
        NotebookProfile(name=f"gpu-{f.pool.name}", pool=f.pool.name, gpus=1) for f in handle.gpu_pools
    ]
    by_team = {p.team: p for p in plans}
    cpu_image = _image("notebook-cpu")
    gpu_image = _image("notebook-gpu")
    out: list[dict[str, Any]] = []
    for ns in namespaces:
        common = {"namespace": ns.name, "container_security_context": dict(RESTRICTED_CONTAINER),
                  "priority_class_name": NOTEBOOK_PRIORITY}
        out.append({
            "display_name": f"CPU ({ns.name})",
            "slug": f"{ns.name}-cpu",
            "description": f"CPU only in {ns.name}: 2 cores and 8 GiB guaranteed.",
            "default": True,
            GROUP_KEY: ns.group,
            "kubespawner_override": {"image": f"{cpu_image['name']}:{cpu_image['tag']}", "cpu_guarantee": 2, "mem_guarantee": "8G", **common},
        })
        allowed = team_pools(by_team.get(ns.team), ns, list(facts))
        for profile in chosen:
            held = by_team[ns.team].reserved_per_pool.get(profile.pool, 0) if ns.team in by_team else ns.gpus
            if profile.pool not in allowed or profile.gpus > held:
                continue
            pool = facts[profile.pool]
            resource = pool_resource(pool, handle)
            timeout = gpu_start_timeout(handle)
            out.append({
                "display_name": f"{profile.gpus}x {pool.gpu_model.upper()} ({profile.pool}, {ns.name})",
                "slug": f"{ns.name}-{profile.name}",
                "description": f"{profile.gpus} GPU(s) on the {profile.pool} pool in {ns.name}; the pool scales up on demand, "
                               f"so the first start can take up to {timeout // 60} minutes.",
                GROUP_KEY: ns.group,
                "kubespawner_override": {
                    "image": f"{gpu_image['name']}:{gpu_image['tag']}",
                    "extra_resource_limits": {resource: str(profile.gpus)},
                    "node_selector": {POOL_LABEL: profile.pool, **pool.placement_labels},
                    "tolerations": [GPU_TAINT.toleration(), *gpu_tolerations(handle)[1:]],
                    "cpu_guarantee": 2,
                    "mem_guarantee": "8G",
                    "start_timeout": timeout,
                    **common,
                },
            })
    return out


def authenticator_config(settings: NotebookSettings, namespaces: Sequence[ServingNamespace]) -> dict[str, Any]:
    """hub.config: GenericOAuthenticator with the teams' groups allowed (oauthenticator 17.4.0)."""
    sign_in = settings.sign_in
    assert sign_in is not None, "notebooks without signIn are refused by the config checks"
    groups = sorted({ns.group for ns in namespaces})
    return {
        "JupyterHub": {"authenticator_class": "generic-oauth"},
        "Authenticator": {"enable_auth_state": True},
        "GenericOAuthenticator": {
            "client_id": sign_in.client_id,
            "oauth_callback_url": f"{sign_in.url.rstrip('/')}/hub/oauth_callback",
            "authorize_url": sign_in.authorize_url,
            "token_url": sign_in.token_url,
            "userdata_url": sign_in.userdata_url,
            "scope": ["openid", "email", "profile", "groups"] if sign_in.groups_claim == "groups" else ["openid", "email", "profile"],
            "username_claim": sign_in.username_claim,
            "manage_groups": True,
            "auth_state_groups_key": f"oauth_user.{sign_in.groups_claim}",
            "allowed_groups": groups,
            "admin_groups": [sign_in.admin_group],
        },
    }


# The chart's proxy Service (templates/proxy/service.yaml: `proxy-public`, port 80), kept
# ClusterIP: the stack's ingress routes signIn.url to it.
PROXY_SERVICE = "proxy-public"


def hub_access(settings: NotebookSettings) -> str:
    """How users reach the hub, one line (a stack output the preview prints)."""
    sign_in = settings.sign_in
    if sign_in is None:
        return ""
    return f"{sign_in.url} (sign-in: {sign_in.issuer_url}; your ingress routes it to {NAMESPACE}/{PROXY_SERVICE}:80)"


def release_values(handle: ClusterHandle, settings: NotebookSettings, namespaces: Sequence[ServingNamespace] = (),
                   plans: Sequence[TeamQueuePlan] = ()) -> dict[str, Any]:
    placement = system_placement(handle)
    sign_in = settings.sign_in
    secret_env = {}
    if sign_in is not None:
        secret_env = {"OAUTH_CLIENT_SECRET": {"valueFrom": {"secretKeyRef": {"name": sign_in.client_secret_name, "key": SECRET_KEY}}}}
    return {
        "hub": {
            "resources": {"requests": dict(REQUESTS["hub"])},
            "db": {"pvc": {"storageClassName": settings.storage_class}},
            "config": authenticator_config(settings, namespaces) if sign_in is not None else {},
            "extraEnv": secret_env,
            "extraConfig": {"ml-clusters-team-profiles": PROFILE_FILTER},
            # Servers in team namespaces carry the access label; let them call the hub API.
            "networkPolicy": {"interNamespaceAccessLabels": "accept"},
            **placement,
        },
        "proxy": {
            "service": {"type": "ClusterIP"},
            "chp": {"resources": {"requests": dict(REQUESTS["proxy"])}, **placement},
        },
        "singleuser": {
            "image": _image("notebook-cpu"),
            # The chart's iptables init container needs NET_ADMIN; its NetworkPolicy already
            # denies egress to the cloud metadata server (egressAllowRules.cloudMetadataServer false).
            "cloudMetadata": {"blockWithIptables": False},
            "storage": {"type": "dynamic", "capacity": settings.home_storage, "dynamic": {"storageClass": settings.storage_class}},
            "profileList": profiles(handle, settings, namespaces, plans),
        },
        # No second scheduler, placeholder pods or image-puller DaemonSets: GPU pools scale
        # from zero, and pre-pulling notebook images onto every node costs more than it saves.
        "scheduling": {"userScheduler": {"enabled": False}, "userPlaceholder": {"enabled": False}, "podPriority": {"enabled": False}},
        "prePuller": {"hook": {"enabled": False}, "continuous": {"enabled": False}},
        "cull": {"enabled": True, "timeout": settings.idle_timeout},
    }


def team_namespace_policy() -> dict[str, Any]:
    """NetworkPolicy spec in a team namespace: the proxy and hub reach the servers, and the
    servers reach the hub's API (everything else stays under the namespace's own policies)."""
    hub_ns = {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: NAMESPACE}}}
    return {
        "podSelector": {"matchLabels": dict(SERVER_LABELS)},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{"from": [hub_ns], "ports": [{"port": SERVER_PORT, "protocol": "TCP"}]}],
        "egress": [{"to": [{**hub_ns, "podSelector": {"matchLabels": {"component": "hub"}}}], "ports": [{"port": HUB_PORT, "protocol": "TCP"}]}],
    }


def team_namespace_access(namespace: str) -> Mapping[str, Any]:
    """Role and RoleBinding keyword arguments letting the hub spawn in a team namespace."""
    meta = {"name": "jupyterhub-spawner", "namespace": namespace}
    return {
        "role": {"metadata": meta, "rules": HUB_RULES},
        "binding": {
            "metadata": meta,
            "role_ref": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": meta["name"]},
            "subjects": [{"kind": "ServiceAccount", "name": HUB_SERVICE_ACCOUNT, "namespace": NAMESPACE}],
        },
    }

