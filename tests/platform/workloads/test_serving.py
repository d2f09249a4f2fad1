"""KServe v0.20.0 in Standard mode with cert-manager v1.17: order and values."""

from __future__ import annotations

from functools import cache

import pytest

from components import catalog
from components.conventions import system_pool_labels
from tests.platform import harness
from tests.platform.workloads.helpers import depends, releases, values

SERVING = {"workloads": {"serving": {"enabled": True}}}


@cache
def aks(cert_manager: str = "install"):
    settings = {"workloads": {"serving": {"enabled": True, "certManager": cert_manager}}}
    return harness.run_platform(harness.aks_shape([harness.pool("t4", "Standard_NC4as_T4_v3")]), settings)


def test_crd_charts_install_before_the_controllers_that_need_them():
    plan = aks().plan
    found = releases(plan)
    assert {"cert-manager", "kserve-crd", "kserve-resources", "kserve-runtime-configs"} <= set(found)
    assert "kueue" not in found and "jupyterhub" not in found  # only what is enabled
    # kserve-resources renders cert-manager Certificate/Issuer objects and serves the
    # InferenceService webhooks: it needs both CRD sets (charts/kserve-resources @ v0.20.0).
    assert depends(found["kserve-resources"], found["kserve-crd"])
    assert depends(found["kserve-resources"], found["cert-manager"])
    # ClusterServingRuntimes are validated by the controller's webhook.
    assert depends(found["kserve-runtime-configs"], found["kserve-resources"])
    assert not depends(found["kserve-crd"], found["kserve-resources"])


def test_charts_are_pinned_oci_references():
    found = releases(aks().plan)
    for name in ("kserve-crd", "kserve-resources", "kserve-runtime-configs"):
        assert found[name].inputs["chart"] == f"oci://ghcr.io/kserve/charts/{name}"
        assert found[name].inputs["version"] == "v0.20.0"  # the charts' Chart.yaml versions carry the v
    assert found["cert-manager"].inputs["repositoryOpts"] == {"repo": "https://charts.jetstack.io"}
    assert found["cert-manager"].inputs["version"] == "v1.17.4"


def test_kserve_runs_in_standard_mode_on_the_system_pool():
    vals = values(aks().plan, "kserve-resources")["kserve"]
    controller = vals["controller"]
    # pkg/constants/constants.go @ v0.20.0: Standard (RawDeployment is its deprecated name);
    # the chart's default is Knative.
    assert controller["deploymentMode"] == "Standard"
    assert controller["tag"] == vals["version"] == "v0.20.0"
    assert controller["gateway"] == {"disableIngressCreation": True}
    assert controller["nodeSelector"] == system_pool_labels()
    assert controller["tolerations"] == [dict(sorted(harness.AKS_SYSTEM_TOLERATION.items()))]
    # kserve-runtime-configs installs no ClusterServingRuntime unless asked.
    runtimes = values(aks().plan, "kserve-runtime-configs")["kserve"]["servingruntime"]
    assert runtimes["enabled"] is True
    # values.yaml @ v0.20.0 servingruntime.vllmserver.tag is `latest`; the patch template
    # (files/runtimes/clusterservingruntimes-patch.yaml) builds image:tag from these values.
    assert f"{runtimes['vllmserver']['image']}:{runtimes['vllmserver']['tag']}" == catalog.IMAGES["kserve-vllm"]
    assert runtimes["vllmserver"]["tag"] not in ("", "latest")


def test_cert_manager_installs_its_crds_and_every_part_runs_on_the_system_pool():
    vals = values(aks().plan, "cert-manager")
    # deploy/charts/cert-manager/values.yaml @ v1.17.4: crds.enabled (installCRDs is deprecated).
    assert vals["crds"] == {"enabled": True, "keep": True}
    for part in (vals, vals["webhook"], vals["cainjector"], vals["startupapicheck"]):
        assert part["nodeSelector"] == {"kubernetes.io/os": "linux", **system_pool_labels()}
        assert part["tolerations"] == [dict(sorted(harness.AKS_SYSTEM_TOLERATION.items()))]


@pytest.mark.parametrize("mode", ["existing"])
def test_an_existing_cert_manager_is_used_not_installed(mode):
    found = releases(aks(mode).plan)
    assert "cert-manager" not in found and "kserve-resources" in found
