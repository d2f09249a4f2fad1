"""The team walkthrough (docs/workloads.md, "A team walkthrough") as a journey over the plan,
on prod-aws, staging-gcp, prod-azure and local: a team signs in, its RBAC allows what it
submits, Kueue admits its TrainJob, the pods fit the namespace's quotas, LimitRange, Pod
Security level, NetworkPolicies and the pool's taints; a model is served, a new version
rolled out by a traffic split at the gateway and rolled back; a notebook starts. Each step checks the rendered objects with the
upstream behaviour it relies on, named where it is used.

Stacks without notebooks get the same stack plus a sign-in (the only thing enabling
notebooks needs); the rest is the stack file as it is.
"""

from __future__ import annotations

import copy
from functools import cache
from types import SimpleNamespace
from typing import Any

import pytest

from components import config as config_module
from components.catalog import timings
from components.platform.common import TEAM_AGGREGATE_LABEL
from components.platform.serving import OUTSIDE_QUEUE_PRIORITIES, TEAM_ROLE
from components.platform.workloads import notebooks, queueing
from preview import engine
from tests.examples.test_examples import load
from tests.platform.workloads.helpers import objects, quantity, values

STACKS = ("prod-aws", "staging-gcp", "prod-azure", "local")
SIGN_IN = {
    "clientId": "jupyterhub", "adminGroup": "ml-platform-admins", "url": "https://hub.example.com",
    "authorizeUrl": "https://login.example.com/authorize", "tokenUrl": "https://login.example.com/token",
    "userdataUrl": "https://login.example.com/userinfo",
}


@cache
def stack(name: str) -> tuple[config_module.StackConfig, engine.Plan]:
    values_, secret_keys = engine.read_stack_config(name)
    raw, problems = config_module.raw_from_pulumi(values_)
    assert not problems
    raw = copy.deepcopy(raw)
    wl = raw.setdefault("platform", {}).setdefault("workloads", {})
    nb = wl.setdefault("notebooks", {})
    if not nb.get("enabled"):
        sign_in = dict(SIGN_IN)
        if not raw.get("aws", {}).get("identityProvider"):
            sign_in["issuerUrl"] = "https://login.example.com"
        nb.update(enabled=True, signIn=sign_in)
    cfg = config_module.resolve_config(config_module.load(raw))
    values_ = {**values_, f"{engine.PROJECT}:platform": engine.config_string(raw["platform"])}
    return cfg, engine.run_program(name, values_, secret_keys)


def reserving_team(cfg) -> tuple[str, str, str, int]:
    """(team, namespace, group, pool) of the team that holds GPUs outside Kueue."""
    (queue,) = [q for q in cfg.platform.workloads.queueing.queues if q.reserved_gpus]
    (ns,) = [n for n in cfg.namespaces if n.team == queue.team]
    (pool,) = [p for p, n in queue.reserved_gpus.items() if n]
    return queue.team, ns.name, ns.group, pool


def training_team(cfg, plan) -> tuple[str, str, str]:
    """(team, namespace, group) with the most queued GPUs: where the TrainJob goes."""
    cqs = objects(plan, "ClusterQueue")
    def queued(team):
        return sum(int(r["nominalQuota"]) for f in cqs[team][1]["spec"]["resourceGroups"][1]["flavors"] for r in f["resources"])
    team = max(cqs, key=queued)
    ns = next(n for n in cfg.namespaces if n.team == team)
    return team, ns.name, ns.group


def team_rules(plan) -> list[dict[str, Any]]:
    """The rules of `ml-team`: kube-controller-manager's clusterrole-aggregation controller
    fills an aggregated ClusterRole with the union of the rules of every ClusterRole its
    aggregationRule selects (here: the TEAM_AGGREGATE_LABEL)."""
    role = objects(plan, "ClusterRole")[TEAM_ROLE][1]
    selector = role["aggregationRule"]["clusterRoleSelectors"][0]["matchLabels"]
    assert selector == {TEAM_AGGREGATE_LABEL: "true"}
    return [rule for _, obj in objects(plan, "ClusterRole").values()
            if obj["metadata"].get("labels", {}).get(TEAM_AGGREGATE_LABEL) == "true" for rule in obj["rules"]]


def allowed(rules, group: str, resource: str, verb: str) -> bool:
    return any(group in r["apiGroups"] and resource in r["resources"] and verb in r["verbs"] for r in rules)


def passes_restricted(pod: dict[str, Any], containers: list[dict[str, Any]]) -> bool:
    """Pod Security `restricted` (kubernetes.io/docs/concepts/security/pod-security-standards):
    non-root, RuntimeDefault seccomp (pod or container), no privilege escalation, ALL caps dropped."""
    pod_ctx = pod.get("securityContext", {})
    for c in containers:
        ctx = c.get("securityContext", {})
        if not (ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot")) is True):
            return False
        if (ctx.get("seccompProfile") or pod_ctx.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            return False
        if ctx.get("allowPrivilegeEscalation") is not False or "ALL" not in ctx.get("capabilities", {}).get("drop", []):
            return False
    return True


def tolerated(taint: dict[str, str], tolerations: list[dict[str, str]]) -> bool:
    """core/v1 toleration matching: same key and effect, and Exists or an equal value."""
    for t in tolerations:
        if t.get("key") == taint["key"] and t.get("effect", taint["effect"]) == taint["effect"]:
            if t.get("operator") == "Exists" or t.get("value") == taint["value"]:
                return True
    return False


# KServe v0.20.0 adds a storage-initializer init container to a predictor whose storageUri it
# downloads (hf:// here), with the requests of charts/kserve-resources/values.yaml @ v0.20.0
# kserve.storage.resources.requests (the chart's inferenceservice-config storageInitializer).
STORAGE_INITIALIZER_REQUESTS = {"cpu": "100m", "memory": "100Mi"}


def pod_requests(containers: list[dict[str, Any]], init_containers: list[dict[str, Any]]) -> dict[str, Any]:
    """A pod's effective requests, as the scheduler and ResourceQuota count them (Kubernetes
    docs, Init containers "Resource sharing within containers"; resource helpers
    PodRequests): per resource, the larger of the largest init container's request and the
    sum of the app containers' requests (plain init containers run one at a time, before
    the app containers)."""
    out: dict[str, Any] = {}
    for resource in {r for c in (*containers, *init_containers) for r in c}:
        app = sum(quantity(c.get(resource, 0)) for c in containers)
        init = max((quantity(c.get(resource, 0)) for c in init_containers), default=0)
        out[resource] = max(app, init)
    return out


def test_a_pods_requests_count_its_largest_init_container_when_that_is_more():
    assert pod_requests([{"cpu": "2", "memory": "1Gi"}, {"cpu": "1"}], [{"cpu": "4", "memory": "100Mi"}, {"cpu": "500m"}]) == {
        "cpu": quantity("4"), "memory": quantity("1Gi")}
    assert pod_requests([{"cpu": "2"}], []) == {"cpu": quantity("2")}


class Ledger:
    """What a namespace's ResourceQuotas have admitted so far (the quota admission plugin
    adds each pod's requests to `used` and refuses a pod that would pass `hard`; a scoped
    quota counts only pods its scopeSelector matches)."""

    def __init__(self, plan, namespace: str):
        self.quotas = {key.split("/")[1]: obj["spec"] for key, (_, obj) in objects(plan, "ResourceQuota").items()
                       if key.startswith(f"{namespace}/")}
        self.used: dict[str, dict[str, Any]] = {name: {} for name in self.quotas}

    def _apply(self, requests: dict[str, Any], priority_class: str, sign: int) -> None:
        for name, spec in self.quotas.items():
            scope = spec.get("scopeSelector", {}).get("matchExpressions", [])
            if scope and not all(priority_class in e["values"] for e in scope if e["scopeName"] == "PriorityClass"):
                continue
            for resource, amount in requests.items():
                key = f"requests.{resource}"
                if key in spec["hard"]:
                    total = self.used[name].get(key, 0) + sign * quantity(amount)
                    assert total <= quantity(spec["hard"][key]), f"quota {name}: {key} {total} > {spec['hard'][key]}"
                    self.used[name][key] = total

    def admit(self, requests: dict[str, Any], priority_class: str = "") -> None:
        self._apply(requests, priority_class, 1)

    def release(self, requests: dict[str, Any], priority_class: str = "") -> None:
        self._apply(requests, priority_class, -1)


@pytest.mark.parametrize("name", STACKS)
def test_a_team_signs_in_and_sees_only_its_own_profiles(name):
    cfg, plan = stack(name)
    team, namespace, group, _ = reserving_team(cfg)
    hub = values(plan, "jupyterhub")["hub"]
    oauth = hub["config"]["GenericOAuthenticator"]
    # oauthenticator 17.4.0 (oauth2.py check_allowed): with manage_groups, a user whose
    # groups (auth_state_groups_key, from the userinfo response) meet allowed_groups or
    # admin_groups signs in; anyone else is refused.
    assert group in oauth["allowed_groups"] and oauth["manage_groups"] is True
    assert set(oauth["allowed_groups"]) == {n.group for n in cfg.namespaces}
    # The hub's extraConfig (run by z2jh's jupyterhub_config.py after the chart's own
    # settings) replaces profile_list with a callable; run it with a member of the team.
    profiles = values(plan, "jupyterhub")["singleuser"]["profileList"]
    c = SimpleNamespace(KubeSpawner=SimpleNamespace(profile_list=profiles))
    exec(compile("".join(hub["extraConfig"].values()), "extraConfig", "exec"), {"c": c})
    user = SimpleNamespace(user=SimpleNamespace(groups=[SimpleNamespace(name=group)]))
    seen = c.KubeSpawner.profile_list(user)
    assert seen and {p["kubespawner_override"]["namespace"] for p in seen} == {n.name for n in cfg.namespaces if n.team == team}
    stranger = SimpleNamespace(user=SimpleNamespace(groups=[SimpleNamespace(name="someone-else")]))
    assert c.KubeSpawner.profile_list(stranger) == []


@pytest.mark.parametrize("name", STACKS)
def test_a_team_submits_a_trainjob_that_kueue_admits_and_whose_pods_start(name):
    cfg, plan = stack(name)
    team, namespace, group = training_team(cfg, plan)
    job = load("training/trainjob-resume.yaml")
    # RBAC: the namespace binds the team's group to ml-team, whose aggregated rules let it
    # create TrainJobs and read Kueue's Workloads.
    binding = objects(plan, "RoleBinding")[f"{namespace}/team"][1]
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}]
    assert binding["roleRef"]["name"] == TEAM_ROLE
    rules = team_rules(plan)
    assert allowed(rules, "trainer.kubeflow.org", "trainjobs", "create") and allowed(rules, "kueue.x-k8s.io", "workloads", "list")
    # Kueue: the LocalQueue `default` of the namespace points at the team's ClusterQueue,
    # whose namespaceSelector matches the namespace's labels.
    _, lq = objects(plan, "LocalQueue")[f"{namespace}/{job['metadata']['labels'][queueing.QUEUE_LABEL]}"]
    _, cq = objects(plan, "ClusterQueue")[lq["spec"]["clusterQueue"]]
    labels = objects(plan, "Namespace")[namespace][1]["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in cq["spec"]["namespaceSelector"]["matchLabels"].items())
    # The TrainJob's pod set: numNodes pods of resourcesPerNode (Kueue's TrainJob
    # integration, pkg/controller/jobs/trainjob @ v0.19.2, builds pod sets from the
    # runtime's replicated jobs and the trainer's numNodes).
    trainer = job["spec"]["trainer"]
    per_pod = trainer["resourcesPerNode"]["requests"]
    count = trainer["numNodes"]
    total = {r: quantity(v) * count for r, v in per_pod.items()}
    # Every requested resource is covered by a resource group or excluded (BlockUndeclared).
    covered = {r for g in cq["spec"]["resourceGroups"] for r in g["coveredResources"]}
    excluded = queueing.EXCLUDED_RESOURCE_PREFIXES
    assert all(r in covered or r.startswith(excluded) for r in total)
    # Flavor assignment (flavorassigner.go): CPU/memory on the CPU flavor within nominal;
    # GPUs on the first flavor, in the queue's order, that fits without borrowing.
    cpu_flavor = {r["name"]: quantity(r["nominalQuota"]) for r in cq["spec"]["resourceGroups"][0]["flavors"][0]["resources"]}
    assert total["cpu"] <= cpu_flavor["cpu"] and total["memory"] <= cpu_flavor["memory"]
    from tests.platform.workloads.test_queueing import first_fitting_flavor
    flavor_name = first_fitting_flavor(cq, int(total["nvidia.com/gpu"]))
    _, flavor = objects(plan, "ResourceFlavor")[flavor_name]
    # The flavor's nodeLabels are the labels of a real pool (Kueue copies them into the
    # pod's nodeSelector) and its tolerations cover the pool's taints (Kueue adds them).
    pool = flavor["spec"]["nodeLabels"]["ml-clusters.io/pool"]
    assert pool in {p.name for p in cfg.gpu_pools}
    assert all(tolerated(t, flavor["spec"]["tolerations"]) for t in flavor["spec"]["nodeTaints"])
    # The pods then pass the namespace: ResourceQuota (Kueue never reads it), LimitRange
    # (defaults only requests), Pod Security, NetworkPolicy.
    ledger = Ledger(plan, namespace)
    for _ in range(count):
        ledger.admit(per_pod)
    limits = objects(plan, "LimitRange")[f"{namespace}/defaults"][1]["spec"]["limits"][0]
    assert "default" not in limits  # no default limit that a request could exceed
    _, runtime = objects(plan, "ClusterTrainingRuntime")[job["spec"]["runtimeRef"]["name"]]
    pod = runtime["spec"]["template"]["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]
    assert passes_restricted(pod, pod["containers"])
    policies = {k.split("/")[1]: obj["spec"] for k, (_, obj) in objects(plan, "NetworkPolicy").items() if k.startswith(f"{namespace}/")}
    # torch rendezvous and NCCL between the job's pods: same-namespace ingress and egress.
    assert policies["allow-same-namespace"]["ingress"] == [{"from": [{"podSelector": {}}]}]
    assert policies["allow-same-namespace"]["egress"] == [{"to": [{"podSelector": {}}]}]


@pytest.mark.parametrize("name", STACKS)
def test_a_team_serves_a_model_rolls_out_a_version_rolls_back_and_opens_a_notebook(name):
    cfg, plan = stack(name)
    team, namespace, group, pool = reserving_team(cfg)
    ledger = Ledger(plan, namespace)
    rules = team_rules(plan)
    assert allowed(rules, "serving.kserve.io", "inferenceservices", "create")
    isvc = load("serving/inferenceservice.yaml")
    predictor = isvc["spec"]["predictor"]
    # Adapt the example to the stack: its team's reserved pool (the example names prod-aws's).
    predictor["nodeSelector"] = {"ml-clusters.io/pool": pool}
    assert predictor["priorityClassName"] in OUTSIDE_QUEUE_PRIORITIES
    requests = predictor["model"]["resources"]["requests"]
    # The GPU taint of every pool (the flavors carry the nodes' taints) is tolerated.
    _, flavor = objects(plan, "ResourceFlavor")[queueing.flavor_name(pool)]
    assert all(tolerated(t, predictor["tolerations"]) for t in flavor["spec"]["nodeTaints"])
    # The Deployment's pods carry the predictor's securityContext and the model container's
    # (KServe merges them into the pod spec); the namespace's level is restricted or baseline.
    model = predictor["model"]
    assert passes_restricted(predictor, [{**model, "securityContext": {**model["securityContext"]}}])
    # Serve: minReplicas pods, each the model container plus KServe's storage-initializer
    # init container (storageUri is downloaded), counted as ResourceQuota counts a pod.
    assert predictor["model"]["storageUri"].startswith("hf://")
    served = pod_requests([requests], [STORAGE_INITIALIZER_REQUESTS])
    assert set(served) == set(requests) | set(STORAGE_INITIALIZER_REQUESTS)
    for _ in range(predictor["minReplicas"]):
        ledger.admit(served, predictor["priorityClassName"])
    # The address: KServe v0.20.0 names the predictor's Service <isvc>-predictor
    # (constants.PredictorServiceName, no predictor name); docs/workloads.md must say so.
    from pathlib import Path
    docs = (Path(__file__).resolve().parents[2] / "docs" / "workloads.md").read_text()
    assert "name" not in predictor and "`<isvc>-predictor`" in docs
    # Roll out: v2 is its own InferenceService with its own replicas on the same reserved GPUs
    # (docs: 2 GPUs while both run).
    v2_isvc = load("serving/inferenceservice-v2.yaml")
    v2 = v2_isvc["spec"]["predictor"]
    v2["nodeSelector"] = {"ml-clusters.io/pool": pool}
    v2_requests = pod_requests([v2["model"]["resources"]["requests"]], [STORAGE_INITIALIZER_REQUESTS])
    for _ in range(v2["minReplicas"]):
        ledger.admit(v2_requests, v2["priorityClassName"])
    assert "2 GPUs" in docs
    # The gateway splits the model's traffic between the versions' Services: the stack's
    # HTTPRoute (published where the stack lists the model; `local` publishes none), attached to
    # the Gateway's HTTPS listener, which admits routes from this namespace by its label.
    route = objects(plan, "HTTPRoute").get(f"{namespace}/model-sentiment")
    assert (route is not None) == (name != "local")
    if route is not None:
        services = {f"{i['metadata']['name']}-predictor" for i in (isvc, v2_isvc)}
        for rule in route[1]["spec"]["rules"]:
            assert {b["name"] for b in rule["backendRefs"]} <= services and sum(b["weight"] for b in rule["backendRefs"]) == 100
        _, gw = objects(plan, "Gateway")["envoy-gateway-system/models"]
        _, ns_obj = objects(plan, "Namespace")[namespace]
        selector = gw["spec"]["listeners"][0]["allowedRoutes"]["namespaces"]["selector"]["matchLabels"]
        assert selector.items() <= ns_obj["metadata"]["labels"].items()
    # Roll back (weights 100/0), then delete v2: its pods leave the quota.
    for _ in range(v2["minReplicas"]):
        ledger.release(v2_requests, v2["priorityClassName"])
    # A notebook: the team's GPU profile on the reserved pool, in the team's namespace.
    profiles = [p for p in values(plan, "jupyterhub")["singleuser"]["profileList"]
                if p[notebooks.GROUP_KEY] == group and "extra_resource_limits" in p["kubespawner_override"]]
    assert profiles, "the team has a GPU profile"
    override = profiles[0]["kubespawner_override"]
    assert override["namespace"] == namespace and override["node_selector"] == {"ml-clusters.io/pool": pool}
    # KubeSpawner sets extended-resource requests equal to the limits (objects.py make_pod).
    nb_requests = {"cpu": override["cpu_guarantee"], "memory": override["mem_guarantee"], **override["extra_resource_limits"]}
    ledger.admit(nb_requests, override["priority_class_name"])
    assert all(tolerated(t, override["tolerations"]) for t in flavor["spec"]["nodeTaints"])
    assert passes_restricted({}, [{"securityContext": override["container_security_context"]}])
    # The hub may create the pod there (Role as the chart's own), the proxy and hub reach it
    # and it reaches the hub (allow-jupyterhub; hub netpol interNamespaceAccessLabels accept).
    role = objects(plan, "Role")[f"{namespace}/jupyterhub-spawner"][1]
    assert any("pods" in r["resources"] and "create" in r["verbs"] for r in role["rules"])
    policy = objects(plan, "NetworkPolicy")[f"{namespace}/allow-jupyterhub"][1]["spec"]
    assert policy["ingress"][0]["ports"] == [{"port": notebooks.SERVER_PORT, "protocol": "TCP"}]
    # It may take the pool's cold start to spawn (KubeSpawner start_timeout).
    assert override["start_timeout"] >= min(timings.start_timeout_seconds(cfg.cloud, "notebook-gpu"), notebooks.CHART_START_TIMEOUT)
    assert override["start_timeout"] >= timings.cold_start_seconds(cfg.cloud, "notebook-gpu")


# --- Pipelines and tuning (docs/workloads.md, "Run a pipeline", "Tune hyperparameters") ---
# On the stacks that turn them on (prod-azure). Argo Workflows v4.0.6 runs every step pod with
# the workflow's serviceAccountName (workflowDefaults fill what the Workflow leaves out,
# docs/default-workflow-specs.md) and gives each main container the controller's
# mainContainer defaults (docs/workflow-controller-configmap.yaml); Katib v0.19.0 copies the
# trial container's securityContext into its metrics collector (injectSecurityContext,
# pkg/webhook/v1beta1/pod/inject_webhook.go).
PIPELINE_STACKS = tuple(s for s in STACKS if s == "prod-azure")


@pytest.mark.parametrize("name", PIPELINE_STACKS)
def test_a_team_runs_the_pipeline_and_a_tuning_experiment(name):
    from components.platform.workloads import pipelines, tuning
    from tests.examples.test_pipeline_examples import created

    cfg, plan = stack(name)
    (ns,) = [n for n in cfg.namespaces if n.model_store == "readwrite"]
    rules = team_rules(plan)
    # RBAC: the team submits Workflows and Experiments through ml-team.
    assert allowed(rules, "argoproj.io", "workflows", "create") and allowed(rules, "kubeflow.org", "experiments", "create")
    # The steps run as `workload`: its Role lets resource steps create the TrainJob and the
    # InferenceService and the executor report results; it carries the cloud identity.
    wf = load("pipelines/train-evaluate-deploy.yaml")
    defaults = values(plan, pipelines.RELEASE)["controller"]["workflowDefaults"]["spec"]
    account = wf["spec"].get("serviceAccountName", defaults["serviceAccountName"])
    _, binding = objects(plan, "RoleBinding")[f"{ns.name}/{pipelines.RUNNER_ROLE}"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account, "namespace": ns.name}]
    _, role = objects(plan, "Role")[f"{ns.name}/{pipelines.RUNNER_ROLE}"]
    for made in created(wf).values():
        group = made["apiVersion"].split("/")[0]
        plural = {"TrainJob": "trainjobs", "InferenceService": "inferenceservices"}[made["kind"]]
        assert allowed(role["rules"], group, plural, "create"), made["kind"]
    assert allowed(role["rules"], "argoproj.io", "workflowtaskresults", "patch")
    _, sa = objects(plan, "ServiceAccount")[f"{ns.name}/{account}"]
    assert sa["metadata"].get("annotations"), "the workload account carries the identity binding"
    # Pod Security of the namespace: every step's main container with the controller's
    # defaults, under the Workflow's pod securityContext.
    main = values(plan, pipelines.RELEASE)["mainContainer"]["securityContext"]
    steps = [{**t["script"], "securityContext": {**main, **t["script"].get("securityContext", {})}}
             for t in wf["spec"]["templates"] if "script" in t]
    assert steps and passes_restricted(wf["spec"], steps)
    # Network: the executor reaches the API, and the store over HTTPS (the namespace's egress).
    policies = {k.split("/")[1]: obj["spec"] for k, (_, obj) in objects(plan, "NetworkPolicy").items() if k.startswith(f"{ns.name}/")}
    assert "allow-workflow-api" in policies and "allow-egress-cloud-apis" in policies
    # Quota: the CPU steps and the queued TrainJob fit the namespace at once.
    ledger = Ledger(plan, ns.name)
    for step in steps:
        ledger.admit(step["resources"]["requests"])
    ledger.admit(created(wf)["train"]["spec"]["trainer"]["resourcesPerNode"]["requests"])
    # Tuning: trials are queued Jobs whose pods Katib's webhook sees (namespace and pod
    # labels), restricted with the collector, and `parallelTrialCount` of them fit the quota.
    exp = created(load("tuning/tune-and-register.yaml"))["tune"]
    trial = exp["spec"]["trialTemplate"]["trialSpec"]
    assert f"{ns.name}/{trial['metadata']['labels'][queueing.QUEUE_LABEL]}" in objects(plan, "LocalQueue")
    _, hooks = objects(plan, "MutatingWebhookConfiguration")[tuning.WEBHOOK_NAME]
    pod_hook = next(h for h in hooks["webhooks"] if h["name"] == "mutator.pod.katib.kubeflow.org")
    ns_labels = objects(plan, "Namespace")[ns.name][1]["metadata"]["labels"]
    assert all(ns_labels.get(k) == v for k, v in pod_hook["namespaceSelector"]["matchLabels"].items())
    pod = trial["spec"]["template"]
    assert all(pod["metadata"]["labels"].get(k) == v for k, v in pod_hook["objectSelector"]["matchLabels"].items())
    container = pod["spec"]["containers"][0]
    collector = {"name": "metrics-logger-and-collector", "securityContext": dict(container["securityContext"])}
    # The Experiment's suggestion pod: Katib v0.19.0 adds the median-stop container with no
    # securityContext (suggestion/composer/composer.go), which only `baseline` admits.
    assert exp["spec"]["earlyStopping"] and ns.pod_security == "baseline"
    assert passes_restricted(pod["spec"], [container, collector])
    ledger = Ledger(plan, ns.name)
    for _ in range(exp["spec"]["parallelTrialCount"]):
        ledger.admit(container["resources"]["requests"])
