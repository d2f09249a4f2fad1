"""JupyterHub (zero-to-jupyterhub 4.4.0): off by default, GPU profiles from the GPU pools."""

from __future__ import annotations

from components import catalog
from components.conventions import POOL_LABEL, system_pool_labels
from tests.conftest import plan_for_stack
from tests.platform import harness
from tests.platform.workloads.helpers import depends, objects, releases, values


def test_notebooks_are_off_unless_enabled():
    assert "jupyterhub" not in releases(plan_for_stack("prod-aws"))
    assert "jupyterhub" in releases(plan_for_stack("local"))


def test_a_gpu_profile_per_pool_on_the_local_stack():
    plan = plan_for_stack("local")
    vals = values(plan, "jupyterhub")
    profiles = {p["slug"]: p for p in vals["singleuser"]["profileList"]}
    assert list(profiles) == ["cpu", "gpu-l4"]
    assert profiles["cpu"]["default"] is True
    override = profiles["gpu-l4"]["kubespawner_override"]
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
    settings = {"workloads": {"notebooks": {"enabled": True, "profiles": [{"name": "mig", "pool": "h100"}, {"name": "l4-quad", "pool": "l4", "gpus": 4}]}}}
    result = harness.run_platform(harness.eks_shape(pools), settings)
    vals = values(result.plan, "jupyterhub")
    limits = {p["slug"]: p["kubespawner_override"].get("extra_resource_limits") for p in vals["singleuser"]["profileList"]}
    assert limits == {"cpu": None, "mig": {"nvidia.com/mig-1g.10gb": "1"}, "l4-quad": {"nvidia.com/gpu": "4"}}
    # Hub and proxy on the system pool; no public proxy; no image pullers on GPU nodes.
    assert vals["hub"]["nodeSelector"] == vals["proxy"]["chp"]["nodeSelector"] == system_pool_labels()
    assert vals["proxy"]["service"] == {"type": "ClusterIP"}
    assert vals["prePuller"] == {"hook": {"enabled": False}, "continuous": {"enabled": False}}
    # Idle servers are culled (values.yaml cull.timeout, seconds), giving their GPUs back.
    assert vals["cull"] == {"enabled": True, "timeout": 3600}
    # The chart's metadata-blocking init container needs NET_ADMIN (values.yaml
    # singleuser.cloudMetadata.blockWithIptables); its NetworkPolicy blocks the server instead.
    assert vals["singleuser"]["cloudMetadata"] == {"blockWithIptables": False}
    namespace = objects(result.plan, "Namespace")["jupyterhub"][1]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
