"""The GPU layer on each backend flavour: device plugin, sharing, GFD, DCGM exporter."""

from __future__ import annotations

import json

import pytest
import yaml

from components import catalog
from components.conventions import DEVICE_PLUGIN_CONFIG_LABEL, GPU_NODE_LABEL, GPU_TAINT, device_plugin_config_name, gpu_pool_labels
from components.platform import gpu as gpu_module
from tests.conftest import inputs, plan_for
from tests.platform import harness

TIME_SLICED = harness.pool("l4infer", "g6.2xlarge", sharing={"timeSlicing": {"replicas": 4}})
MIG_MIXED = harness.pool("h100", "p5.48xlarge", sharing={"mig": {"strategy": "mixed", "profile": "1g.10gb"}})
MIG_SINGLE = harness.pool("a100", "p4d.24xlarge", sharing={"mig": {"strategy": "single", "profile": "3g.20gb"}})
PLAIN = harness.pool("l4", "g6.xlarge")


@pytest.fixture(scope="module")
def eks():
    return harness.run_platform(harness.eks_shape([PLAIN, TIME_SLICED, MIG_MIXED, MIG_SINGLE]))


@pytest.fixture(scope="module")
def gke():
    return harness.run_platform(harness.gke_shape([harness.pool("l4", "g2-standard-8", sharing={"timeSlicing": {"replicas": 2}})]))


@pytest.fixture(scope="module")
def aks():
    return harness.run_platform(harness.aks_shape([harness.pool("t4", "Standard_NC4as_T4_v3")]))


def pod(ds: dict) -> dict:
    return ds["spec"]["template"]["spec"]


def all_containers(spec: dict) -> list[dict]:
    return [*spec.get("initContainers", []), *spec["containers"]]


# --- Device plugin ---------------------------------------------------------------------------


def test_device_plugin_runs_only_on_gpu_nodes_and_tolerates_the_gpu_taint(eks):
    spec = pod(eks.object("DaemonSet", "nvidia-device-plugin", "gpu-system"))
    assert spec["nodeSelector"] == {GPU_NODE_LABEL: "true"}
    assert {"key": GPU_TAINT.key, "operator": "Exists", "effect": GPU_TAINT.effect} in spec["tolerations"]
    assert spec["priorityClassName"] == "system-node-critical"


@pytest.fixture(scope="module")
def eks_plain():
    return harness.run_platform(harness.eks_shape([PLAIN, TIME_SLICED]), {"gpuFeatureDiscovery": True})


def test_device_plugin_is_least_privilege(eks_plain):
    spec = pod(eks_plain.object("DaemonSet", "nvidia-device-plugin", "gpu-system"))
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in all_containers(spec):
        ctx = container["securityContext"]
        assert ctx["privileged"] is False, container["name"]
        assert ctx["allowPrivilegeEscalation"] is False, container["name"]
        # Without MIG pools nothing needs a capability (upstream _helpers.tpl: SYS_ADMIN only
        # when some migStrategy is not none).
        assert ctx["capabilities"] == {"drop": ["ALL"]}, container["name"]
        assert ctx["readOnlyRootFilesystem"] is True, container["name"]
        assert set(container["resources"]) == {"requests", "limits"}, container["name"]
        assert set(container["resources"]["limits"]) == {"cpu", "memory"}, container["name"]


def test_device_plugin_only_host_path_is_the_kubelet_device_plugins_dir(eks):
    spec = pod(eks.object("DaemonSet", "nvidia-device-plugin", "gpu-system"))
    host_paths = [v["hostPath"]["path"] for v in spec["volumes"] if "hostPath" in v]
    assert host_paths == ["/var/lib/kubelet/device-plugins"]


def test_images_come_from_the_catalog(eks):
    images = {c["image"] for ds in eks.objects("DaemonSet") for c in all_containers(pod(ds))}
    assert images and images <= set(catalog.IMAGES.values())
    plugin = pod(eks.object("DaemonSet", "nvidia-device-plugin", "gpu-system"))
    assert {c["image"] for c in all_containers(plugin)} == {catalog.IMAGES["nvidia-device-plugin"]}


# What NVIDIA's GPU operator v26.7.0 pins in its OLM bundle (NVIDIA/gpu-operator v26.7.0
# bundle/manifests/gpu-operator-certified.clusterserviceversion.yaml, spec.relatedImages and
# the operator Deployment's *_IMAGE variables): each tag with the digest it resolves to.
GPU_OPERATOR_26_7_0_PINS = {
    "nvcr.io/nvidia/k8s-device-plugin:v0.20.0": "a61ba9fd8efb82f3a79f877f7580e02c1e8e7593f62473644bc9c79e315c3312",
    "nvcr.io/nvidia/k8s/dcgm-exporter:4.6.0-4.8.3-distroless": "613ab03c11d442fd960ff515f547e9921537454a712d08160bc8f677f89f1c35",
    "nvcr.io/nvidia/cloud-native/k8s-mig-manager:v0.15.0": "cab2cf9deafc9602da69d0832a82958a7687f22f4a2f19674099dc9a5c4ea8e2",
}


@pytest.mark.parametrize("key", ["nvidia-device-plugin", "gpu-feature-discovery", "dcgm-exporter", "nvidia-mig-manager"])
def test_nvidia_images_are_pinned_by_tag_and_the_digest_nvidia_pairs_with_it(key):
    tag, digest = catalog.IMAGES[key].split("@sha256:")
    assert GPU_OPERATOR_26_7_0_PINS[tag] == digest, catalog.IMAGES[key]
    assert catalog.IMAGES["gpu-feature-discovery"] == catalog.IMAGES["nvidia-device-plugin"]  # GFD ships in the plugin image


def test_every_gpu_agent_container_runs_a_digest_pinned_image(eks, eks_plain):
    # Checkov's CKV_K8S_43 (image by digest) and CKV_K8S_15 (IfNotPresent needs a digest) hold
    # for every container of every GPU agent, init containers included.
    agents = {}
    for plan in (eks, eks_plain):  # MIG pools (mig-manager) and GPU Feature Discovery
        for ds in plan.objects("DaemonSet"):
            if ds["metadata"]["namespace"] == "gpu-system":
                agents.update({(ds["metadata"]["name"], c["name"]): c["image"] for c in all_containers(pod(ds))})
    assert {name for name, _ in agents} == {"nvidia-device-plugin", "gpu-feature-discovery", "dcgm-exporter", "nvidia-mig-manager"}
    assert not {k: image for k, image in agents.items() if "@sha256:" not in image}


def test_device_plugin_config_per_pool(eks):
    data = eks.object("ConfigMap", "nvidia-device-plugin-config", "gpu-system")["data"]
    configs = {name: yaml.safe_load(text) for name, text in data.items()}
    # One entry per pool with sharing, named as its nodes' label says, plus the default.
    assert set(configs) == {"default", *(device_plugin_config_name(p) for p in (TIME_SLICED, MIG_MIXED, MIG_SINGLE))}
    assert configs["default"]["flags"]["migStrategy"] == "none"
    assert "sharing" not in configs["default"]

    sliced = configs[device_plugin_config_name(TIME_SLICED)]
    assert sliced["version"] == "v1"
    assert sliced["sharing"]["timeSlicing"]["resources"] == [{"name": "nvidia.com/gpu", "replicas": 4}]
    assert sliced["sharing"]["timeSlicing"]["renameByDefault"] is False
    assert configs[device_plugin_config_name(MIG_MIXED)]["flags"]["migStrategy"] == "mixed"
    assert configs[device_plugin_config_name(MIG_SINGLE)]["flags"]["migStrategy"] == "single"
    assert "sharing" not in configs[device_plugin_config_name(MIG_MIXED)]


def test_each_sharing_pools_node_label_names_its_config(eks):
    # The backend labels a pool's nodes with conventions.gpu_pool_labels; the plugin's
    # config-manager picks the config named by that label.
    data = eks.object("ConfigMap", "nvidia-device-plugin-config", "gpu-system")["data"]
    for p in (TIME_SLICED, MIG_MIXED, MIG_SINGLE):
        labels = gpu_pool_labels(p, "aws", False)
        assert labels[DEVICE_PLUGIN_CONFIG_LABEL] == device_plugin_config_name(p)
        assert labels[DEVICE_PLUGIN_CONFIG_LABEL] in data
    assert DEVICE_PLUGIN_CONFIG_LABEL not in gpu_pool_labels(PLAIN, "aws", False)


def test_config_manager_reads_the_per_node_label_and_signals_the_plugin(eks):
    spec = pod(eks.object("DaemonSet", "nvidia-device-plugin", "gpu-system"))
    sidecar = next(c for c in spec["containers"] if c["name"] == "config-manager")
    env = {e["name"]: e.get("value") for e in sidecar["env"]}
    assert env["NODE_LABEL"] == DEVICE_PLUGIN_CONFIG_LABEL
    assert env["DEFAULT_CONFIG"] == "default"
    assert env["PROCESS_TO_SIGNAL"] == "nvidia-device-plugin"
    assert spec["shareProcessNamespace"] is True
    assert spec["volumes"][1] == {"name": "available-configs", "configMap": {"name": "nvidia-device-plugin-config"}}
    plugin = next(c for c in spec["containers"] if c["name"] == "nvidia-device-plugin")
    assert {"name": "CONFIG_FILE", "value": "/config/config.yaml"} in plugin["env"]


@pytest.mark.parametrize("daemonset, main", [("nvidia-device-plugin", "nvidia-device-plugin"), ("gpu-feature-discovery", "gpu-feature-discovery")])
def test_main_containers_mount_the_configs_config_manager_links_to(eks_plain, daemonset, main):
    # config-manager makes /config/config.yaml a symlink into /available-configs/<name>; the
    # main container reads /config/config.yaml, so it must mount both, or it exits with
    # "error opening config file" (NVIDIA/k8s-device-plugin v0.20.0
    # deployments/helm/nvidia-device-plugin/templates/daemonset-device-plugin.yml and
    # daemonset-gfd.yml: the -ctr containers mount available-configs and config).
    spec = pod(eks_plain.object("DaemonSet", daemonset, "gpu-system"))
    container = next(c for c in spec["containers"] if c["name"] == main)
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts["/available-configs"] == "available-configs"
    assert mounts["/config"] == "config"
    sidecar = next(c for c in spec["containers"] if c["name"] == "config-manager")
    env = {e["name"]: e.get("value") for e in sidecar["env"]}
    assert env["CONFIG_FILE_SRCDIR"] == "/available-configs" and env["CONFIG_FILE_DST"] == "/config/config.yaml"


def test_pods_roll_when_the_plugin_config_changes():
    # The plugin and GFD read their config at start (upstream chart: podAnnotations put
    # checksum/config on the pod template); another pool's sharing must change the template.
    def template_checksum(pools, name="nvidia-device-plugin"):
        result = harness.run_platform(harness.eks_shape(pools), {"gpuFeatureDiscovery": True})
        return result.object("DaemonSet", name, "gpu-system")["spec"]["template"]["metadata"]["annotations"]["checksum/config"]

    four = harness.pool("l4infer", "g6.2xlarge", sharing={"timeSlicing": {"replicas": 4}})
    eight = harness.pool("l4infer", "g6.2xlarge", sharing={"timeSlicing": {"replicas": 8}})
    assert template_checksum([four]) == template_checksum([four])
    assert template_checksum([four]) != template_checksum([eight])
    assert template_checksum([four], "gpu-feature-discovery") != template_checksum([eight], "gpu-feature-discovery")


def test_mig_strategies_get_sys_admin_and_mig_monitor_devices(eks):
    # Upstream chart _helpers.tpl: a migStrategy other than none makes the chart add SYS_ADMIN
    # (requiresCapSysAdmin) and NVIDIA_MIG_MONITOR_DEVICES=all (addMigMonitorDevices) to the
    # plugin and GFD containers.
    spec = pod(eks.object("DaemonSet", "nvidia-device-plugin", "gpu-system"))
    plugin = next(c for c in spec["containers"] if c["name"] == "nvidia-device-plugin")
    assert {"name": "NVIDIA_MIG_MONITOR_DEVICES", "value": "all"} in plugin["env"]
    assert plugin["securityContext"]["capabilities"] == {"add": ["SYS_ADMIN"], "drop": ["ALL"]}
    assert plugin["securityContext"]["privileged"] is False
    # The config-manager sidecar needs none of it.
    sidecar = next(c for c in spec["containers"] if c["name"] == "config-manager")
    assert sidecar["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_gfd_gets_what_mig_strategies_need_too(eks_mig, eks_plain):
    # The same chart helpers apply to the GFD container; a cluster without MIG pools gets neither.
    def gfd(result):
        return next(c for c in pod(result.object("DaemonSet", "gpu-feature-discovery", "gpu-system"))["containers"]
                    if c["name"] == "gpu-feature-discovery")

    with_mig, without = gfd(eks_mig), gfd(eks_plain)
    assert {"name": "NVIDIA_MIG_MONITOR_DEVICES", "value": "all"} in with_mig["env"]
    assert with_mig["securityContext"]["capabilities"] == {"add": ["SYS_ADMIN"], "drop": ["ALL"]}
    assert "NVIDIA_MIG_MONITOR_DEVICES" not in {e["name"] for e in without.get("env", [])}
    assert without["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_mig_manager_partitions_mig_pools_on_eks():
    # On EKS nothing cuts MIG GPUs unless NVIDIA's mig-manager runs on those nodes; it reads
    # the node label nvidia.com/mig.config and writes nvidia.com/mig.config.state
    # (NVIDIA/mig-parted v0.15.0 cmd/nvidia-mig-manager/main.go MigConfigLabel,
    # pkg/mig/reconfigure/reconfigure.go migConfigStateLabel).
    result = harness.run_platform(harness.eks_shape([PLAIN, MIG_MIXED, MIG_SINGLE]))
    ds = result.object("DaemonSet", "nvidia-mig-manager", "gpu-system")
    spec = pod(ds)
    (term,) = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert term == {"matchExpressions": [{"key": "nvidia.com/mig.config", "operator": "Exists"}]}
    (manager,) = spec["containers"]
    assert manager["image"] == catalog.IMAGES["nvidia-mig-manager"]
    assert manager["securityContext"] == {"privileged": True}
    assert spec["hostPID"] is True and spec["hostIPC"] is True
    config = yaml.safe_load(result.object("ConfigMap", "nvidia-mig-manager-config", "gpu-system")["data"]["config.yaml"])
    # One layout per pool's profile, named as the pool's node label says (all-<profile>), with
    # mig-parted's own counts (deployments/systemd/config-default.yaml: all-1g.10gb 7 on an
    # 80 GB part, all-3g.20gb 2 on a 40 GB A100).
    for p, count in ((MIG_MIXED, 7), (MIG_SINGLE, 2)):
        label = gpu_pool_labels(p, "aws", False)["nvidia.com/mig.config"]
        (layout,) = config["mig-configs"][label]
        assert layout == {"devices": "all", "mig-enabled": True, "mig-devices": {p.sharing.mig.profile: count}}
    # GPU agents wait for the cut (test_gpu_agents_are_off_a_mig_node_while_mig_manager_cuts).
    role = result.object("ClusterRole", "ml-gpu-mig-manager")
    assert {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch", "patch", "update"]} in role["rules"]
    assert all(rule["resources"] != ["*"] and rule["verbs"] != ["*"] for rule in role["rules"])


def test_mig_instances_follow_mig_parted():
    assert gpu_module.mig_instances_per_gpu("h100", "1g.10gb") == 7
    assert gpu_module.mig_instances_per_gpu("h100", "1g.20gb") == 4
    assert gpu_module.mig_instances_per_gpu("h100", "2g.20gb") == 3
    assert gpu_module.mig_instances_per_gpu("a100", "1g.5gb") == 7
    assert gpu_module.mig_instances_per_gpu("a100", "7g.40gb") == 1


def test_no_mig_manager_where_the_cloud_partitions_or_without_mig(eks_plain, aks):
    assert not [o for o in eks_plain.objects("DaemonSet") if o["metadata"]["name"] == "nvidia-mig-manager"]
    # AKS cuts by gpuInstanceProfile at node creation (the shape sets cloud_partitions_mig).
    mig_on_aks = harness.aks_shape([harness.pool("a100", "Standard_NC24ads_A100_v4", sharing={"mig": {"profile": "3g.40gb"}})])
    result = harness.run_platform(mig_on_aks)
    assert not [o for o in result.objects("DaemonSet") if o["metadata"]["name"] == "nvidia-mig-manager"]
    plugin = pod(result.object("DaemonSet", "nvidia-device-plugin", "gpu-system"))
    assert "affinity" not in plugin  # nothing to wait for


# --- MIG: mig-manager's hand-over with the GPU agents ----------------------------------------
#
# What mig-manager does when a node's nvidia.com/mig.config asks for a layout its GPUs do not
# have (NVIDIA/mig-parted v0.15.0 pkg/mig/reconfigure/reconfigure.go, Run and its helpers):
#   1. nvidia.com/mig.config.state=pending;
#   2. each of nvidia.com/gpu.deploy.{device-plugin,gpu-feature-discovery,dcgm-exporter,dcgm,
#      nvsm} to paused-for-mig-change; one that is "false" stays "false", an absent one is
#      written paused as well (maybeSetPaused);
#   3. waits, up to 5 minutes each, until no pod labelled app=nvidia-device-plugin-daemonset,
#      app=gpu-feature-discovery, app=nvidia-dcgm-exporter or app=nvidia-dcgm is left on its
#      node in the namespace DEFAULT_GPU_CLIENTS_NAMESPACE names (waitForPodDeletion; flag
#      default "default", cmd/nvidia-mig-manager/main.go);
#   4. stops the host's GPU services, changes the MIG mode and cuts the GPUs;
#   5. the deploy labels back to "true" (maybeSetTrue), and only then state=success (on an
#      error: the labels back and state=failed).
# A layout that is already there gets state=success and no deploy label is touched.
MIG_MANAGER_PAUSES = {
    "nvidia-device-plugin": "nvidia.com/gpu.deploy.device-plugin",
    "gpu-feature-discovery": "nvidia.com/gpu.deploy.gpu-feature-discovery",
    "dcgm-exporter": "nvidia.com/gpu.deploy.dcgm-exporter",
}
MIG_MANAGER_WAITS_FOR = {
    "nvidia-device-plugin": "nvidia-device-plugin-daemonset",
    "gpu-feature-discovery": "gpu-feature-discovery",
    "dcgm-exporter": "nvidia-dcgm-exporter",
}
MIG_STATE = "nvidia.com/mig.config.state"
PAUSED = "paused-for-mig-change"


@pytest.fixture(scope="module")
def eks_mig():
    return harness.run_platform(harness.eks_shape([PLAIN, MIG_MIXED]), {"gpuFeatureDiscovery": True})


def _requirement_matches(req: dict, node_labels: dict) -> bool:
    # kubernetes staging/src/k8s.io/apimachinery/pkg/labels/selector.go Requirement.Matches:
    # NotIn and DoesNotExist match a node without the key; In and Exists need it.
    key, op, values = req["key"], req["operator"], req.get("values", [])
    if op == "In":
        return key in node_labels and node_labels[key] in values
    if op == "NotIn":
        return key not in node_labels or node_labels[key] not in values
    if op == "Exists":
        return key in node_labels
    if op == "DoesNotExist":
        return key not in node_labels
    raise AssertionError(f"operator {op} is not modelled here")


def daemon_pod_stays_on(ds: dict, node_labels: dict) -> bool:
    """Whether the DaemonSet controller keeps (or creates) a daemon pod on a node with these
    labels. kubernetes pkg/controller/daemon/daemon_controller.go: NodeShouldRunDaemonPod
    checks the template's nodeSelector and required node affinity (predicates:
    nodeaffinity.GetRequiredNodeAffinity(pod).Match); a node that fails them gives
    shouldRun = shouldContinueRunning = false, and podsShouldBeOnNode then deletes the daemon
    pods on it. "IgnoredDuringExecution" binds the kubelet, not the DaemonSet controller."""
    spec = pod(ds)
    if any(node_labels.get(k) != v for k, v in spec.get("nodeSelector", {}).items()):
        return False
    required = spec.get("affinity", {}).get("nodeAffinity", {}).get("requiredDuringSchedulingIgnoredDuringExecution")
    if required is None:
        return True
    # Node selector terms are ORed, the expressions of one term ANDed.
    return any(all(_requirement_matches(r, node_labels) for r in term["matchExpressions"]) for term in required["nodeSelectorTerms"])


def test_mig_pool_nodes_start_with_the_labels_mig_manager_pauses_set_true():
    # As NVIDIA's GPU operator labels its GPU nodes: mig-manager turns "true" into
    # paused-for-mig-change and back; "false" it never touches.
    for p in (MIG_MIXED, MIG_SINGLE):
        labels = gpu_pool_labels(p, "aws", False)
        assert {key: labels.get(key) for key in MIG_MANAGER_PAUSES.values()} == dict.fromkeys(MIG_MANAGER_PAUSES.values(), "true"), p.name
        assert labels["nvidia.com/mig.config"] == f"all-{p.sharing.mig.profile}"
    for p in (PLAIN, TIME_SLICED):
        assert not set(MIG_MANAGER_PAUSES.values()) & set(gpu_pool_labels(p, "aws", False)), p.name


@pytest.mark.parametrize("agent", sorted(MIG_MANAGER_PAUSES))
def test_gpu_agents_are_off_a_mig_node_while_mig_manager_cuts(eks_mig, agent):
    ds = eks_mig.object("DaemonSet", agent, "gpu-system")
    joined = gpu_pool_labels(MIG_MIXED, "aws", False)  # a new node of the pool, GPUs not cut
    paused = {**joined, **dict.fromkeys(MIG_MANAGER_PAUSES.values(), PAUSED)}
    unlabelled = {k: v for k, v in joined.items() if k not in MIG_MANAGER_PAUSES.values()}
    timeline = [
        ("a new node, before mig-manager", joined, False),
        ("step 1: state pending", {**joined, MIG_STATE: "pending"}, False),
        ("step 2: agents paused", {**paused, MIG_STATE: "pending"}, False),
        ("step 5: labels back, state not yet written", {**joined, MIG_STATE: "pending"}, False),
        ("step 5: success", {**joined, MIG_STATE: "success"}, True),
        ("re-cut: paused while the state still reads success", {**paused, MIG_STATE: "success"}, False),
        ("failed", {**joined, MIG_STATE: "failed"}, False),
        # An existing cluster's node labelled with nvidia.com/mig.config only, whose layout
        # was already there: mig-manager wrote success and no deploy label.
        ("success, no deploy labels", {**unlabelled, MIG_STATE: "success"}, True),
    ]
    for what, node, stays in timeline:
        assert daemon_pod_stays_on(ds, node) is stays, what
    assert daemon_pod_stays_on(ds, gpu_pool_labels(PLAIN, "aws", False))  # no MIG layout asked for
    assert daemon_pod_stays_on(ds, gpu_pool_labels(TIME_SLICED, "aws", False))


def test_gpu_agents_carry_the_pod_label_mig_manager_waits_for_in_the_namespace_it_waits_in(eks_mig, eks_plain):
    (manager,) = pod(eks_mig.object("DaemonSet", "nvidia-mig-manager", "gpu-system"))["containers"]
    env = {e["name"]: e.get("value") for e in manager["env"]}
    for agent, app in MIG_MANAGER_WAITS_FOR.items():
        ds = eks_mig.object("DaemonSet", agent, "gpu-system")
        assert ds["spec"]["template"]["metadata"]["labels"]["app"] == app, agent
        assert ds["metadata"]["namespace"] == env["DEFAULT_GPU_CLIENTS_NAMESPACE"], agent
        assert "app" not in ds["spec"]["selector"]["matchLabels"]  # a selector is immutable
    # Without mig-manager the templates stay as they were.
    for agent in MIG_MANAGER_WAITS_FOR:
        assert "app" not in eks_plain.object("DaemonSet", agent, "gpu-system")["spec"]["template"]["metadata"]["labels"]
    # It lists pods on its node to wait for them (its ClusterRole; the namespace is ours).
    role = eks_mig.object("ClusterRole", "ml-gpu-mig-manager")
    assert {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]} in role["rules"]


def test_rendered_mig_manager_passes_the_policy_pack_only_through_its_allow_list_entry(eks_mig, tmp_path):
    from policies import offline
    from policies.configfile import config_path

    manager = eks_mig.resource("DaemonSet", "nvidia-mig-manager")

    def findings(config_file=None):
        return {(v.policy, v.level) for v in offline.evaluate([manager], "dev", config_file) if v.urn == manager.urn}

    assert findings() == set()
    # The same pack with the allow-list (allowedPrivilegedWorkloads) emptied.
    config = json.loads(config_path("dev").read_text())
    for rule in ("k8s-no-privileged-containers", "k8s-no-host-namespaces", "k8s-host-path-allowlist"):
        config[rule] = {"allowedPrivilegedWorkloads": {}}
    path = tmp_path / "dev-no-allow-list.json"
    path.write_text(json.dumps(config))
    assert findings(str(path)) == {
        ("k8s-no-privileged-containers", "mandatory"),
        ("k8s-no-host-namespaces", "mandatory"),
        ("k8s-host-path-allowlist", "mandatory"),
    }


def test_an_existing_clusters_mig_pool_gets_mig_manager_too(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(harness.KUBECONFIG)
    plan = plan_for(harness.existing_config(path))  # pools: l4 time-sliced, h100 MIG 1g.10gb
    objects = {(o["kind"], o["metadata"]["name"]): o for o in (inputs(r) for r in plan.resources if r.type.startswith("kubernetes:core/v1:")
                                                               or r.type.startswith("kubernetes:apps/v1:"))}
    manager = objects[("DaemonSet", "nvidia-mig-manager")]
    assert manager["metadata"]["namespace"] == "gpu-system"
    assert pod(manager)["nodeSelector"] == {"nvidia.com/gpu.present": "true"}  # existing.gpuNodeLabel
    config = yaml.safe_load(objects[("ConfigMap", "nvidia-mig-manager-config")]["data"]["config.yaml"])
    assert set(config["mig-configs"]) == {"all-disabled", "all-1g.10gb"}
    for agent, app in MIG_MANAGER_WAITS_FOR.items():
        if ("DaemonSet", agent) not in objects:
            continue  # GFD is off in this config
        ds = objects[("DaemonSet", agent)]
        assert ds["spec"]["template"]["metadata"]["labels"]["app"] == app
        assert not daemon_pod_stays_on(ds, {"nvidia.com/gpu.present": "true", "nvidia.com/mig.config": "all-1g.10gb", MIG_STATE: "pending"})


@pytest.mark.parametrize("agent", ["nvidia-device-plugin", "gpu-feature-discovery"])
def test_sys_admin_skips_follow_the_capability(eks_plain, eks_mig, agent):
    # Checkov CKV_K8S_25 (added capability) and CKV_K8S_39 (SYS_ADMIN) are skipped only where
    # the container gets SYS_ADMIN: when some pool's MIG strategy is not none.
    def skipped_and_added(result):
        ds = result.object("DaemonSet", agent, "gpu-system")
        skipped = {v.split("=")[0] for k, v in ds["metadata"]["annotations"].items() if k.startswith("checkov.io/skip")}
        main = next(c for c in pod(ds)["containers"] if c["name"] == agent)
        return skipped, main["securityContext"]["capabilities"].get("add", [])

    skipped, added = skipped_and_added(eks_plain)
    assert added == [] and not {"CKV_K8S_25", "CKV_K8S_39"} & skipped
    assert {"CKV_K8S_8", "CKV_K8S_23", "CKV_K8S_38"} <= skipped  # the other reasons stay
    skipped, added = skipped_and_added(eks_mig)
    assert added == ["SYS_ADMIN"] and {"CKV_K8S_25", "CKV_K8S_39"} <= skipped


def test_config_manager_may_only_read_nodes(eks):
    role = eks.object("ClusterRole", "ml-gpu-node-reader")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]}]
    binding = eks.object("ClusterRoleBinding", "ml-gpu-node-reader")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "nvidia-device-plugin", "namespace": "gpu-system"}]


def test_gpu_namespace_enforces_privileged_but_audits_restricted(eks):
    labels = eks.object("Namespace", "gpu-system")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"
    assert labels["pod-security.kubernetes.io/audit"] == "restricted"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"


def test_aks_gets_the_plugin_with_the_same_selector(aks):
    spec = pod(aks.object("DaemonSet", "nvidia-device-plugin", "gpu-system"))
    assert spec["nodeSelector"] == {GPU_NODE_LABEL: "true"}


# --- GKE: the cloud runs the plugin and exports DCGM -------------------------------------------


def test_no_nvidia_plugin_on_gke(gke):
    # The only DaemonSet is the GPU repair agent (health.py), not one of NVIDIA's.
    assert [o["metadata"]["name"] for o in gke.objects("DaemonSet")] == ["kured"]
    assert not [o for o in gke.objects("ConfigMap") if o["metadata"]["name"] == "nvidia-device-plugin-config"]
    assert not [o for o in gke.objects("Namespace") if o["metadata"]["name"] == "gpu-system"]
    assert not [o for o in gke.objects("ClusterRole") if o["metadata"]["name"] == "ml-gpu-node-reader"]


def test_gke_pool_labels_carry_no_plugin_config(gke):
    facts = harness.pool("l4", "g2-standard-8", sharing={"timeSlicing": {"replicas": 2}})
    assert DEVICE_PLUGIN_CONFIG_LABEL not in gpu_pool_labels(facts, "gcp", True)


# --- GPU Feature Discovery ---------------------------------------------------------------------


def test_gpu_feature_discovery_when_configured():
    result = harness.run_platform(harness.eks_shape([TIME_SLICED]), {"gpuFeatureDiscovery": True})
    ds = result.object("DaemonSet", "gpu-feature-discovery", "gpu-system")
    spec = pod(ds)
    assert spec["nodeSelector"] == {GPU_NODE_LABEL: "true"}
    assert not [v for v in spec["volumes"] if "hostPath" in v]
    gfd = next(c for c in spec["containers"] if c["name"] == "gpu-feature-discovery")
    assert {"name": "GFD_USE_NODE_FEATURE_API", "value": "true"} in gfd["env"]
    for container in all_containers(spec):
        assert container["securityContext"]["privileged"] is False
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    # NFD's master turns GFD's NodeFeature objects into labels; GFD waits for its CRDs.
    nfd = result.plan.one("kubernetes:helm.sh/v3:Release", "ml-aws-gpu-nfd")
    assert nfd.inputs["chart"] == "node-feature-discovery" and nfd.inputs["version"] == catalog.CHARTS["node-feature-discovery"].version
    assert nfd.inputs["values"]["worker"] == {"enable": False}
    assert result.depends_on(result.resource("DaemonSet", "gpu-feature-discovery"), nfd)
    role = result.object("Role", "gpu-feature-discovery-nodefeatures", "gpu-system")
    assert role["rules"][0]["apiGroups"] == ["nfd.k8s-sigs.io"] and role["rules"][0]["resources"] == ["nodefeatures"]
    # GFD gets its own pod to own its NodeFeature (upstream templates/role.yml: pods get when
    # gfd.enabled).
    assert {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]} in role["rules"]


def test_no_gpu_feature_discovery_by_default(eks):
    assert not [o for o in eks.objects("DaemonSet") if o["metadata"]["name"] == "gpu-feature-discovery"]
    assert eks.of_type("kubernetes:helm.sh/v3:Release") == [eks.plan.one("kubernetes:helm.sh/v3:Release", "ml-aws-monitoring-kube-prometheus-stack")]


def test_no_gpu_feature_discovery_where_the_cloud_runs_the_plugin():
    result = harness.run_platform(harness.gke_shape(), {"gpuFeatureDiscovery": True})
    assert result.objects("DaemonSet") == []


# --- DCGM exporter -------------------------------------------------------------------------------


def test_dcgm_exporter_keeps_only_what_it_needs(eks):
    spec = pod(eks.object("DaemonSet", "dcgm-exporter", "gpu-system"))
    assert spec["nodeSelector"] == {GPU_NODE_LABEL: "true"}
    assert {"key": GPU_TAINT.key, "operator": "Exists", "effect": GPU_TAINT.effect} in spec["tolerations"]
    assert spec["automountServiceAccountToken"] is False
    (exporter,) = spec["containers"]
    ctx = exporter["securityContext"]
    assert ctx["privileged"] is False
    assert ctx["allowPrivilegeEscalation"] is False
    assert ctx["capabilities"] == {"drop": ["ALL"], "add": ["SYS_ADMIN"]}
    assert ctx["readOnlyRootFilesystem"] is True
    host_paths = {v["hostPath"]["path"] for v in spec["volumes"] if "hostPath" in v}
    assert host_paths == {"/var/lib/kubelet/pod-resources"}
    mount = next(m for m in exporter["volumeMounts"] if m["mountPath"] == "/var/lib/kubelet/pod-resources")
    assert mount["readOnly"] is True
    assert exporter["image"] == catalog.IMAGES["dcgm-exporter"]
    assert set(exporter["resources"]) == {"requests", "limits"}


def test_dcgm_exporter_collects_every_metric_the_alerts_and_dashboard_use(eks):
    from components.platform import alerts, dashboard

    csv = eks.object("ConfigMap", "dcgm-exporter-metrics", "gpu-system")["data"]["metrics.csv"]
    collected = {line.split(",")[0].strip() for line in csv.splitlines() if line and not line.startswith("#")}
    used = alerts.metrics_used(alerts.gpu_rule_groups({GPU_NODE_LABEL: "true"})) | dashboard.metrics_used(dashboard.gpu_dashboard())
    assert used and used <= collected, used - collected


def test_dcgm_exporter_listens_probes_and_is_scraped_on_one_port(eks):
    # The exporter listens where DCGM_EXPORTER_LISTEN says (NVIDIA/dcgm-exporter
    # pkg/cmd/app.go: flag "address", env DCGM_EXPORTER_LISTEN, default ":9400"), serves
    # /health there; the container port, both probes, the Service and the ServiceMonitor
    # must all name that same port.
    ds = eks.object("DaemonSet", "dcgm-exporter", "gpu-system")
    (exporter,) = pod(ds)["containers"]
    env = {e["name"]: e.get("value") for e in exporter["env"]}
    listen_port = int(env["DCGM_EXPORTER_LISTEN"].rsplit(":", 1)[1])
    (port,) = exporter["ports"]
    assert port["containerPort"] == listen_port
    for probe in ("livenessProbe", "readinessProbe"):
        assert exporter[probe]["httpGet"] == {"path": "/health", "port": port["name"]}, probe
    svc = eks.object("Service", "dcgm-exporter", "gpu-system")
    assert svc["spec"]["type"] == "ClusterIP"
    assert svc["spec"]["ports"] == [{"name": port["name"], "port": listen_port, "targetPort": port["name"], "protocol": "TCP"}]
    monitor = eks.object("ServiceMonitor", "dcgm-exporter", "gpu-system")
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == [port["name"]]
    template_labels = ds["spec"]["template"]["metadata"]["labels"]
    assert svc["spec"]["selector"].items() <= template_labels.items()


def test_dcgm_exporter_counts_xids_and_attributes_time_sliced_pods(eks):
    (exporter,) = pod(eks.object("DaemonSet", "dcgm-exporter", "gpu-system"))["containers"]
    env = {e["name"]: e.get("value") for e in exporter["env"]}
    # pkg/cmd/app.go: KUBERNETES_VIRTUAL_GPUS captures metrics per virtual GPU handed out by a
    # sharing strategy (time-slicing); DCGM_EXPORTER_XID_COUNT_WINDOW_SIZE (ms) is the window
    # DCGM_EXP_XID_ERRORS_COUNT counts over.
    assert env["KUBERNETES_VIRTUAL_GPUS"] == "true"  # the fixture has a time-sliced pool
    assert int(env["DCGM_EXPORTER_XID_COUNT_WINDOW_SIZE"]) == 15 * 60 * 1000
    plain = harness.run_platform(harness.eks_shape([PLAIN]))
    (exporter,) = pod(plain.object("DaemonSet", "dcgm-exporter", "gpu-system"))["containers"]
    assert "KUBERNETES_VIRTUAL_GPUS" not in {e["name"] for e in exporter["env"]}


def test_dcgm_counters_match_upstream_types(eks):
    # NVIDIA/dcgm-exporter etc/default-counters.csv (main after 4.5.3-4.8.2, the tree 4.8.3 was
    # cut from): PCIe TX/RX bytes are gauges (rates in bytes per second), violation counters
    # are nanoseconds, DCGM_EXP_XID_ERRORS_COUNT is the exporter's XID counter.
    csv = eks.object("ConfigMap", "dcgm-exporter-metrics", "gpu-system")["data"]["metrics.csv"]
    rows = {line.split(",")[0].strip(): [x.strip() for x in line.split(",", 2)] for line in csv.splitlines() if line and not line.startswith("#")}
    assert rows["DCGM_FI_PROF_PCIE_TX_BYTES"][1] == "gauge" and rows["DCGM_FI_PROF_PCIE_RX_BYTES"][1] == "gauge"
    assert "(in ns)" in rows["DCGM_FI_DEV_THERMAL_VIOLATION"][2] and "(in ns)" in rows["DCGM_FI_DEV_POWER_VIOLATION"][2]
    # The exporter runs its XID collector only when the counters file lists this field
    # (internal/pkg/collector/xid_collector.go IsDCGMExpXIDErrorsCountEnabled); upstream's
    # default file leaves it commented out.
    assert rows["DCGM_EXP_XID_ERRORS_COUNT"][1] == "counter"
    assert rows["DCGM_FI_DEV_XID_ERRORS"][1] == "gauge"


def test_gpu_agents_carry_their_checkov_skips_with_reasons(eks):
    for name in ("nvidia-device-plugin", "dcgm-exporter", "nvidia-mig-manager"):
        annotations = eks.object("DaemonSet", name, "gpu-system")["metadata"]["annotations"]
        skips = {k: v for k, v in annotations.items() if k.startswith("checkov.io/skip")}
        assert skips, name
        for value in skips.values():
            check, reason = value.split("=")
            assert check.startswith("CKV_K8S_") and len(reason) > 15, value


def test_no_dcgm_exporter_where_the_cloud_exports_dcgm(gke):
    assert not [o for o in gke.objects("Service") if o["metadata"]["name"] == "dcgm-exporter"]


def test_no_dcgm_exporter_without_monitoring():
    result = harness.run_platform(harness.eks_shape([PLAIN]), {"monitoring": {"enabled": False}})
    names = {o["metadata"]["name"] for o in result.objects("DaemonSet") if o["metadata"]["namespace"] == "gpu-system"}
    assert names == {"nvidia-device-plugin"}


def test_gpu_objects_wait_for_the_backend():
    result = harness.run_platform(harness.eks_shape([PLAIN]), with_ready=True)
    (pool,) = result.plan.by_type("random:index/randomId:RandomId")
    for kind, name in (("Namespace", "gpu-system"), ("DaemonSet", "nvidia-device-plugin"), ("DaemonSet", "dcgm-exporter")):
        assert result.depends_on(result.resource(kind, name), pool), (kind, name)


def test_plugin_config_rendering_is_deterministic():
    facts = harness._facts("aws", [MIG_SINGLE, TIME_SLICED, MIG_MIXED], False)
    again = harness._facts("aws", [MIG_MIXED, TIME_SLICED, MIG_SINGLE], False)
    first = gpu_module.config_map_data(gpu_module.device_plugin_configs(facts))
    assert list(first) == sorted(first)
    assert first == gpu_module.config_map_data(gpu_module.device_plugin_configs(again))


def test_gpu_agents_wait_for_their_rbac():
    # A pod that starts before its binding exists fails its first API calls (config-manager
    # reads node labels, GFD writes NodeFeatures, mig-manager labels its node).
    result = harness.run_platform(harness.eks_shape([MIG_MIXED]), {"gpuFeatureDiscovery": True})
    pairs = (
        ("nvidia-device-plugin", "ClusterRoleBinding", "ml-gpu-node-reader"),
        ("gpu-feature-discovery", "ClusterRoleBinding", "ml-gpu-node-reader"),
        ("gpu-feature-discovery", "RoleBinding", "gpu-feature-discovery-nodefeatures"),
        ("nvidia-mig-manager", "ClusterRoleBinding", "ml-gpu-mig-manager"),
        ("nvidia-mig-manager", "RoleBinding", "nvidia-mig-manager"),
    )
    for daemonset, kind, binding in pairs:
        assert result.depends_on(result.resource("DaemonSet", daemonset), result.resource(kind, binding)), (daemonset, binding)
