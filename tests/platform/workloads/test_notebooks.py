"""JupyterHub (zero-to-jupyterhub 4.4.0): off by default, signed in through OIDC, servers in
their team's namespaces with the team's pools only."""

from __future__ import annotations

from components import catalog
from components.catalog import timings
from components.config import Notebooks, NotebookSignIn
from components.conventions import POOL_LABEL, system_pool_labels
from components.platform.workloads import notebooks
from tests.conftest import plan_for_stack
from tests.platform import harness
from tests.platform.workloads.helpers import depends, objects, releases, values

SIGN_IN = {
    "clientId": "jupyterhub", "adminGroup": "platform-admins", "url": "https://hub.example.com",
    "authorizeUrl": "https://login.example.com/authorize", "tokenUrl": "https://login.example.com/token",
    "userdataUrl": "https://login.example.com/userinfo", "issuerUrl": "https://login.example.com",
    "groupsClaim": "groups", "usernameClaim": "email",
}


def test_notebooks_are_off_unless_enabled():
    assert "jupyterhub" not in releases(plan_for_stack("prod-aws"))
    assert "jupyterhub" in releases(plan_for_stack("local"))


def test_the_hub_signs_in_through_oidc_and_lets_in_only_team_groups():
    plan = plan_for_stack("local")
    vals = values(plan, "jupyterhub")
    config = vals["hub"]["config"]
    # The chart's default is `dummy` (values.yaml hub.config.JupyterHub.authenticator_class
    # @ 4.4.0): anyone in under any name. oauthenticator 17.4.0 (images/hub/requirements.txt)
    # registers GenericOAuthenticator as `generic-oauth` (pyproject entry points).
    assert config["JupyterHub"]["authenticator_class"] == "generic-oauth"
    oauth = config["GenericOAuthenticator"]
    # allowed_groups/admin_groups need manage_groups, and the groups come from the userinfo
    # response kept under auth_state["oauth_user"] (oauth2.py user_auth_state_key @ 17.4.0).
    assert oauth["manage_groups"] is True
    assert oauth["auth_state_groups_key"] == "oauth_user.groups"
    stack_groups = {p["ml_clusters_group"] for p in vals["singleuser"]["profileList"]}
    assert set(oauth["allowed_groups"]) == stack_groups == {"ml-demo-engineers"}
    assert oauth["admin_groups"] == ["ml-platform-admins"]
    assert oauth["oauth_callback_url"] == "https://hub.localtest.me/hub/oauth_callback"
    # The client secret is read from OAUTH_CLIENT_SECRET (oauth2.py _client_secret_default),
    # set from a Secret made outside the stack: nothing secret in the values.
    ref = vals["hub"]["extraEnv"]["OAUTH_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "jupyterhub-oidc", "key": notebooks.SECRET_KEY}
    assert "client_secret" not in oauth


def test_the_sign_in_defaults_to_the_identity_provider_the_teams_use():
    from components.config.resolve import resolved_sign_in
    from tests.platform.workloads.test_config import SIGN_IN as BARE, with_workloads
    from components.config import load
    raw = with_workloads(notebooks={"enabled": True, "signIn": BARE})
    raw["aws"]["identityProvider"].update(groupsClaim="cognito:groups", usernameClaim="sub")
    sign_in = resolved_sign_in(load(raw))
    assert (sign_in.issuer_url, sign_in.groups_claim, sign_in.username_claim) == ("https://login.example.com", "cognito:groups", "sub")


def test_each_team_gets_profiles_in_its_own_namespaces_on_its_own_pools():
    pools = [harness.pool("h100", "p5.48xlarge"), harness.pool("l4", "g6.xlarge")]
    teams = harness.namespaces(
        {"name": "training", "team": "research", "group": "ml-research", "gpus": 8},
        {"name": "training2", "team": "research", "group": "ml-research", "gpus": 8},
        {"name": "inference", "team": "serving", "group": "ml-serving", "gpus": 2},
    )
    settings = {"workloads": {"queueing": {"enabled": True, "queues": [
        {"team": "research", "gpus": {"h100": 16}}, {"team": "serving", "gpus": {"l4": 1}, "reservedGpus": {"l4": 1}}]},
        "notebooks": {"enabled": True, "signIn": SIGN_IN}}}
    result = harness.run_platform(harness.eks_shape(pools), settings, teams)
    profiles = values(result.plan, "jupyterhub")["singleuser"]["profileList"]
    placed = {(p["ml_clusters_group"], p["kubespawner_override"]["namespace"], p["kubespawner_override"].get("node_selector", {}).get(POOL_LABEL))
              for p in profiles}
    # Only in the team's namespaces, and GPU servers only on the pools where the team holds
    # GPUs outside Kueue (its queued GPUs are Kueue's to hand out).
    assert placed == {
        ("ml-research", "training", None), ("ml-research", "training2", None),
        ("ml-serving", "inference", None), ("ml-serving", "inference", "l4"),
    }
    # Their priority class puts them under the namespace's outside-queue quota.
    assert {p["kubespawner_override"]["priority_class_name"] for p in profiles} == {"ml-notebook"}
    # The hub keeps only the profiles of the user's groups; KubeSpawner 7.0.0 calls a
    # callable profile_list both to render the form and in load_user_options, which refuses
    # a slug not in it.
    hub = values(result.plan, "jupyterhub")["hub"]
    filter_code = "".join(hub["extraConfig"].values())
    assert "spawner.user.groups" in filter_code and "c.KubeSpawner.profile_list = _team_profiles" in filter_code
    # The hub may spawn there (the chart's own Role rules, templates/hub/rbac.yaml), and the
    # servers reach the hub API across namespaces (hub netpol: interNamespaceAccessLabels).
    roles = objects(result.plan, "Role")
    assert {k for k in roles if k.endswith("/jupyterhub-spawner")} == {f"{ns.name}/jupyterhub-spawner" for ns in teams}
    binding = objects(result.plan, "RoleBinding")["training/jupyterhub-spawner"][1]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "hub", "namespace": "jupyterhub"}]
    assert hub["networkPolicy"] == {"interNamespaceAccessLabels": "accept"}


def test_a_gpu_server_may_take_the_pools_cold_start_to_spawn():
    plan = plan_for_stack("local")
    profiles = {p["slug"]: p for p in values(plan, "jupyterhub")["singleuser"]["profileList"]}
    gpu = profiles["demo-gpu-l4"]["kubespawner_override"]
    # z2jh maps singleuser.startTimeout (300) to KubeSpawner.start_timeout; a profile
    # overrides it. On the clouds the estimate includes a node boot from zero.
    assert gpu["start_timeout"] >= notebooks.CHART_START_TIMEOUT
    for cloud in ("aws", "gcp", "azure"):
        expected = timings.start_timeout_seconds(cloud, "notebook-gpu")
        assert expected > timings.cold_start_seconds(cloud, "notebook-gpu") > notebooks.CHART_START_TIMEOUT
    result = harness.run_platform(harness.eks_shape([harness.pool("l4", "g6.xlarge")]),
                                  {"workloads": {"notebooks": {"enabled": True, "signIn": SIGN_IN}}},
                                  harness.namespaces({"name": "a", "team": "a", "group": "g", "gpus": 1}))
    eks = {p["slug"]: p for p in values(result.plan, "jupyterhub")["singleuser"]["profileList"]}
    assert eks["a-gpu-l4"]["kubespawner_override"]["start_timeout"] == timings.start_timeout_seconds("aws", "notebook-gpu")


def test_profiles_pass_restricted_pod_security_in_team_namespaces():
    plan = plan_for_stack("local")
    for profile in values(plan, "jupyterhub")["singleuser"]["profileList"]:
        context = profile["kubespawner_override"]["container_security_context"]
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}
        assert context["capabilities"] == {"drop": ["ALL"]} and context["allowPrivilegeEscalation"] is False
        assert context["runAsNonRoot"] is True


def test_a_gpu_profile_per_pool_on_the_local_stack():
    plan = plan_for_stack("local")
    vals = values(plan, "jupyterhub")
    profiles = {p["slug"]: p for p in vals["singleuser"]["profileList"]}
    assert list(profiles) == ["demo-cpu", "demo-gpu-l4"]
    assert profiles["demo-cpu"]["default"] is True
    override = profiles["demo-gpu-l4"]["kubespawner_override"]
    # KubeSpawner traits in singleuser.profileList[].kubespawner_override; the GPU limit as
    # z2jh documents it (docs/source/jupyterhub/customizing/user-resources.md @ 4.4.0).
    assert override["extra_resource_limits"] == {"nvidia.com/gpu": "1"}
    assert override["node_selector"] == {POOL_LABEL: "l4"}
    assert {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"} in override["tolerations"]
    assert override["image"] == catalog.IMAGES["notebook-gpu"]
    # Home volumes (singleuser.storage.dynamic.storageClass) and the hub's database
    # (hub.db.pvc.storageClassName, values.yaml @ 4.4.0) on the block class; the release
    # waits for that StorageClass.
    assert vals["hub"]["db"] == {"pvc": {"storageClassName": "ml-block"}}
    assert vals["singleuser"]["storage"]["dynamic"] == {"storageClass": "ml-block"}
    assert depends(releases(plan)["jupyterhub"], objects(plan, "StorageClass")["ml-block"][0])


def test_configured_profiles_and_mixed_mig_pools():
    pools = [harness.pool("h100", "p5.48xlarge", sharing={"mig": {"strategy": "mixed", "profile": "1g.10gb"}}), harness.pool("l4", "g6.12xlarge")]
    settings = {"workloads": {"notebooks": {"enabled": True, "signIn": SIGN_IN, "idleTimeout": 1800,
                                            "profiles": [{"name": "mig", "pool": "h100"}, {"name": "l4-quad", "pool": "l4", "gpus": 4}]}}}
    team = harness.namespaces({"name": "lab", "team": "lab", "group": "g", "gpus": 4})
    result = harness.run_platform(harness.eks_shape(pools), settings, team)
    vals = values(result.plan, "jupyterhub")
    limits = {p["slug"]: p["kubespawner_override"].get("extra_resource_limits") for p in vals["singleuser"]["profileList"]}
    assert limits == {"lab-cpu": None, "lab-mig": {"nvidia.com/mig-1g.10gb": "1"}, "lab-l4-quad": {"nvidia.com/gpu": "4"}}
    # Hub and proxy on the system pool; no public proxy; no image pullers on GPU nodes.
    assert vals["hub"]["nodeSelector"] == vals["proxy"]["chp"]["nodeSelector"] == system_pool_labels()
    assert vals["proxy"]["service"] == {"type": "ClusterIP"}
    assert vals["prePuller"] == {"hook": {"enabled": False}, "continuous": {"enabled": False}}
    # Idle servers are culled (values.yaml cull.timeout, seconds), giving their GPUs back.
    assert vals["cull"] == {"enabled": True, "timeout": 1800}
    # The chart's metadata-blocking init container needs NET_ADMIN (values.yaml
    # singleuser.cloudMetadata.blockWithIptables); its NetworkPolicy blocks the server instead.
    assert vals["singleuser"]["cloudMetadata"] == {"blockWithIptables": False}
    namespace = objects(result.plan, "Namespace")["jupyterhub"][1]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"


def test_the_model_refuses_a_sign_in_without_its_endpoints():
    import pydantic
    import pytest
    with pytest.raises(pydantic.ValidationError):
        Notebooks.model_validate({"enabled": True, "signIn": {"clientId": "x", "adminGroup": "a", "url": "https://h"}})
    assert NotebookSignIn.model_validate(SIGN_IN).client_secret_name == "jupyterhub-oidc"


def test_the_preview_says_how_the_hub_is_reached():
    note = plan_for_stack("local").outputs["notebooks"]
    assert note.startswith("https://hub.localtest.me ") and "dex.localtest.me" in note
    # The proxy's Service (z2jh templates/proxy/service.yaml) stays ClusterIP; the note names it.
    assert f"{notebooks.NAMESPACE}/{notebooks.PROXY_SERVICE}:80" in note
    assert "notebooks" not in plan_for_stack("prod-aws").outputs


def test_a_gpu_profile_selects_what_its_pools_capacity_needs():
    """A pool's placement labels (GKE: the ComputeClass label, components/clouds/gcp/capacity.py)
    join the pool label in the profile's node selector, and the class taint's toleration is
    among the GPU tolerations, so a notebook pod makes GKE walk the class's priorities."""
    from components.clouds.gcp.capacity import compute_class_toleration
    from components.handle import ClusterHandle, GpuMetricsSource, GpuPoolFacts, StorageClassSpec

    pool = harness.pool("h100", "a3-highgpu-8g")
    facts = GpuPoolFacts(pool=pool, gpu_model="h100", gpus_per_node=8, node_labels={POOL_LABEL: "h100"},
                         placement_labels={"cloud.google.com/compute-class": "ml-gpu-h100"})
    handle = ClusterHandle(
        name="ml-gcp", cloud="gcp", kubernetes_version="1.35", kubeconfig=None, provider=None,  # type: ignore[arg-type]
        block_storage=StorageClassSpec("pd.csi.storage.gke.io"), file_storage=None, cloud_manages_device_plugin=True,
        gpu_metrics=GpuMetricsSource(managed_by_cloud=True), gpu_pools=[facts], gpu_node_selector={}, system_tolerations=[],
        internal_lb_annotations={}, gpu_node_tolerations=[compute_class_toleration()],
    )
    settings = Notebooks.model_validate({"enabled": True, "signIn": SIGN_IN})
    team = harness.namespaces({"name": "lab", "team": "lab", "group": "g", "gpus": 8})
    (gpu,) = [p for p in notebooks.profiles(handle, settings, team) if p["slug"] == "lab-gpu-h100"]
    override = gpu["kubespawner_override"]
    assert override["node_selector"] == {POOL_LABEL: "h100", "cloud.google.com/compute-class": "ml-gpu-h100"}
    assert compute_class_toleration() in override["tolerations"]
