"""cloud: existing — the kubeconfig, the provider and the facts the handle states."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.clouds.existing import cluster as existing
from components import config as config_module
from components.config import ConfigError, ExistingSettings, load
from components.conventions import DEVICE_PLUGIN_CONFIG_LABEL, GPU_MODEL_LABEL, POOL_LABEL
from preview import engine
from tests.conftest import config_errors, flat_config, inputs, plan_for, plan_for_stack

KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
  - name: lab
    cluster: {server: "https://10.0.0.1:6443"}
contexts:
  - name: lab-admin
    context: {cluster: lab, user: admin}
  - name: lab-view
    context: {cluster: lab, user: viewer}
current-context: lab-view
users:
  - name: admin
    user: {}
  - name: viewer
    user: {}
"""


@pytest.fixture
def kubeconfig(tmp_path) -> Path:
    path = tmp_path / "kubeconfig.yaml"
    path.write_text(KUBECONFIG)
    return path


def raw(path, **settings) -> dict:
    return {
        "cloud": "existing",
        "existing": {"kubeconfig": str(path), **settings},
        "gpuPools": [{"name": "l4", "instanceType": "g6.xlarge", "sharing": {"timeSlicing": {"replicas": 3}}}],
    }


def settings(path, **extra) -> ExistingSettings:
    return ExistingSettings.model_validate({"kubeconfig": str(path), **extra})


# --- Reading the kubeconfig ----------------------------------------------------------------------


def test_relative_paths_are_read_from_the_project_root():
    text, context = config_module.read_kubeconfig(settings("stacks/kubeconfigs/local-kind.yaml"))
    assert context == "kind-ml-local"
    assert text == (config_module.PROJECT_ROOT / "stacks/kubeconfigs/local-kind.yaml").read_text()
    assert config_module.kubeconfig_path("stacks/x.yaml") == config_module.PROJECT_ROOT / "stacks/x.yaml"
    assert config_module.kubeconfig_path("/etc/k.yaml") == Path("/etc/k.yaml")
    assert config_module.kubeconfig_path("~/k.yaml") == Path.home() / "k.yaml"


def test_current_context_is_the_default(kubeconfig):
    assert config_module.read_kubeconfig(settings(kubeconfig))[1] == "lab-view"
    assert config_module.read_kubeconfig(settings(kubeconfig, context="lab-admin"))[1] == "lab-admin"


def test_missing_file_is_one_config_line(tmp_path):
    missing = tmp_path / "nope.yaml"
    assert config_errors(raw(missing)) == [
        f"existing.kubeconfig: '{missing}' does not exist (looked at {missing}); allowed: a path to a kubeconfig file, absolute or relative to the project root"
    ]


def test_missing_file_is_a_config_error_and_registers_nothing(tmp_path):
    missing = tmp_path / "nope.yaml"
    plan = engine.Plan(stack="x", project=engine.PROJECT)
    with pytest.raises(ConfigError) as err:
        engine.run_program("x", flat_config(raw(missing)), plan=plan)
    assert err.value.problems == [
        f"existing.kubeconfig: '{missing}' does not exist (looked at {missing}); "
        "allowed: a path to a kubeconfig file, absolute or relative to the project root"
    ]
    assert plan.resources == []


def test_unknown_context(kubeconfig):
    assert config_errors(raw(kubeconfig, context="prod")) == [
        f"existing.context: context 'prod' is not in '{kubeconfig}'; allowed: lab-admin, lab-view"
    ]


def test_not_a_kubeconfig(tmp_path):
    yaml_error = tmp_path / "broken.yaml"
    yaml_error.write_text("clusters: [\n")
    assert config_errors(raw(yaml_error)) == [f"existing.kubeconfig: '{yaml_error}' is not valid YAML at line 2; allowed: a kubeconfig file"]
    no_contexts = tmp_path / "empty.yaml"
    no_contexts.write_text("apiVersion: v1\nkind: Config\n")
    (line,) = config_errors(raw(no_contexts))
    assert line.startswith(f"existing.kubeconfig: '{no_contexts}' has no contexts, so it is not a kubeconfig")


def test_no_context_anywhere(tmp_path):
    path = tmp_path / "k.yaml"
    path.write_text(KUBECONFIG.replace("current-context: lab-view\n", ""))
    assert config_errors(raw(path)) == [f"existing.context: not set and '{path}' has no current-context; allowed: lab-admin, lab-view"]


# --- What the backend registers and states ---------------------------------------------------------


@pytest.fixture
def plan(kubeconfig):
    return plan_for(raw(kubeconfig, context="lab-admin", fileStorageProvisioner="nfs.csi.k8s.io", storageEncrypted=True))


def test_provider_gets_the_kubeconfig_as_a_secret_and_the_context(plan):
    (backend,) = plan.by_type("mlclusters:clouds:ExistingCluster")
    (provider,) = plan.by_type("pulumi:providers:kubernetes")
    assert provider.parent == backend.urn
    assert engine.is_secret(provider.inputs["kubeconfig"])
    assert inputs(provider)["kubeconfig"] == KUBECONFIG
    assert provider.inputs["context"] == "lab-admin"
    assert engine.is_secret(plan.outputs["kubeconfig"])


def test_nothing_cloud_side(plan):
    types = {r.type.split(":")[0] for r in plan.resources}
    assert types <= {"pulumi", "mlclusters", "kubernetes", "random"}


def _handle(kubeconfig, **extra):
    from tests.platform.harness import run

    captured = {}
    cfg = load(raw(kubeconfig, **extra))

    def build():
        captured["handle"] = existing.ExistingCluster("lab", cfg, "lab").handle

    run(build)
    return captured["handle"]


def test_handle_states_the_configured_facts(kubeconfig):
    handle = _handle(
        kubeconfig,
        blockStorageProvisioner="rbd.csi.ceph.com",
        blockStorageParameters={"pool": "kube", "clusterID": "ceph-1"},
        fileStorageProvisioner="nfs.csi.k8s.io",
        storageEncrypted=True,
        gpuNodeLabel="node-role.example.com/gpu=yes",
    )
    assert handle.cloud == "existing" and handle.name == "ml-lab"
    assert handle.kubernetes_version == "1.35"
    assert handle.block_storage.provisioner == "rbd.csi.ceph.com"
    assert list(handle.block_storage.parameters) == ["clusterID", "pool"]  # sorted
    assert handle.block_storage.encrypted is True
    assert handle.file_storage.provisioner == "nfs.csi.k8s.io"
    assert handle.file_storage.access_mode == "ReadWriteMany"
    assert handle.gpu_node_selector == {"node-role.example.com/gpu": "yes"}
    assert handle.cloud_manages_device_plugin is False
    assert handle.gpu_metrics.managed_by_cloud is False
    assert handle.system_tolerations == [] and handle.ready == []


def test_pool_facts_tell_users_how_to_label_their_nodes(kubeconfig):
    (facts,) = _handle(kubeconfig).gpu_pools
    assert (facts.gpu_model, facts.gpus_per_node) == ("l4", 1)
    assert facts.node_labels[POOL_LABEL] == "l4"
    assert facts.node_labels[GPU_MODEL_LABEL] == "l4"
    assert facts.node_labels[DEVICE_PLUGIN_CONFIG_LABEL] == "pool-l4"


def test_an_installed_device_plugin_is_left_alone(kubeconfig):
    handle = _handle(kubeconfig, devicePluginInstalled=True)
    assert handle.cloud_manages_device_plugin is True
    (facts,) = handle.gpu_pools
    assert DEVICE_PLUGIN_CONFIG_LABEL not in facts.node_labels


def test_no_shared_file_system_without_a_provisioner(kubeconfig):
    assert _handle(kubeconfig).file_storage is None


def test_local_stack_previews_offline():
    plan = plan_for_stack("local")
    (provider,) = plan.by_type("pulumi:providers:kubernetes")
    assert provider.inputs["context"] == "kind-ml-local"
    assert "127.0.0.1:6443" in inputs(provider)["kubeconfig"]
    assert "token" not in inputs(provider)["kubeconfig"] and "client-key" not in inputs(provider)["kubeconfig"]
