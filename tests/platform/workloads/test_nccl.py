"""The NCCL acceptance test per fabric pool (components/platform/workloads/nccl.py), on
prod-aws's EFA pool `h100`: on demand, admitted through Kueue in the platform namespace, and
failing below 80% of the catalog's expected bus bandwidth.

Upstream facts relied on:
- kubernetes/kubectl pkg/cmd/create/create_job.go (createJobFromCronJob): `kubectl create job
  --from=cronjob/X` copies the jobTemplate's spec, labels and annotations into a new Job; a
  CronJob with spec.suspend true starts none itself (batch/v1 CronJobSpec.suspend).
- Kubernetes batch/v1 Job: completionMode Indexed sets JOB_COMPLETION_INDEX and the hostname
  `<job>-<index>` (with spec.subdomain, DNS through the headless Service); successPolicy
  (GA in 1.33) ends the Job when the named indexes succeed.
- kubernetes-sigs/kueue v0.19.2: the job reconciler skips namespaces that
  managedJobsNamespaceSelector does not match (pkg/controller/jobframework/reconciler.go);
  a Job carries its LocalQueue as the label kueue.x-k8s.io/queue-name.
- NVIDIA/nccl-tests: all_reduce_perf's table rows are size, count, type, redop, root, then
  out-of-place time, algbw, busbw (GB/s), #wrong, then in-place (src/common.cu).
"""

from __future__ import annotations

import subprocess
from functools import cache

import pytest

from components import catalog, conventions
from components.catalog import versions
from components.clouds.aws.fabric import EFA_RESOURCE
from components.platform.workloads import nccl, queueing
from tests.conftest import inputs, plan_for_stack
from tests.platform.test_schema import check
from tests.platform.workloads.helpers import depends, objects

P5 = catalog.cloud("aws").fabric("p5.48xlarge")


@cache
def prod_aws():
    return plan_for_stack("prod-aws")


def cron():
    resource, obj = objects(prod_aws(), "CronJob")["fabric-acceptance/nccl-h100"]
    return resource, obj


def pod():
    return cron()[1]["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def env():
    return {e["name"]: e.get("value") for e in pod()["containers"][0]["env"]}


def test_one_test_per_fabric_pool_and_none_for_the_others():
    assert sorted(objects(prod_aws(), "CronJob")) == ["fabric-acceptance/nccl-h100"]
    assert "fabric-acceptance/nccl-l4infer" not in objects(prod_aws(), "Service")


def test_on_demand_not_on_every_up():
    _, obj = cron()
    assert obj["spec"]["suspend"] is True and obj["spec"]["concurrencyPolicy"] == "Forbid"
    # No Job exists until someone runs it.
    assert not objects(prod_aws(), "Job")
    assert obj["metadata"]["annotations"]["ml-clusters.io/run"] == (
        "kubectl -n fabric-acceptance create job nccl-h100-$(date +%s) --from=cronjob/nccl-h100")


def test_the_job_spans_two_whole_nodes_of_the_pool_with_their_fabric():
    spec = cron()[1]["spec"]["jobTemplate"]["spec"]
    assert nccl.NODES >= 2
    assert spec["completionMode"] == "Indexed" and spec["completions"] == spec["parallelism"] == nccl.NODES
    assert spec["backoffLimit"] == 0 and spec["successPolicy"] == {"rules": [{"succeededIndexes": "0"}]}
    p = pod()
    assert p["nodeSelector"] == {conventions.POOL_LABEL: "h100"} and p["subdomain"] == "nccl-h100"
    (container,) = p["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "8"
    assert container["resources"]["limits"][EFA_RESOURCE] == str(P5.nics) == "32"
    assert container["securityContext"]["capabilities"]["add"] == ["IPC_LOCK"]
    shm = next(v for v in p["volumes"] if v["name"] == "dshm")
    assert shm["emptyDir"]["medium"] == "Memory"
    assert {"name": "dshm", "mountPath": "/dev/shm"} in container["volumeMounts"]
    assert env()["FI_PROVIDER"] == "efa" and env()["FI_EFA_USE_DEVICE_RDMA"] == "1" and env()["NCCL_DEBUG"] == "INFO"


def test_the_image_is_the_fabrics_pinned_nccl_tests_image():
    image = pod()["containers"][0]["image"]
    assert image == versions.NCCL_TESTS_IMAGES["efa"] == catalog.IMAGES["nccl-tests-efa"]
    assert "nccl-tests-efa" in versions.FABRIC_IMAGE_KEYS and "nccl-tests-efa" in versions.TAG_ONLY_IMAGES


def test_the_pass_mark_is_80_percent_of_the_catalogs_expected_bus_bandwidth():
    assert nccl.PASS_FRACTION == 0.8
    assert float(env()["EXPECTED_GBS"]) == P5.expected_busbw_gbs
    assert float(env()["THRESHOLD_GBS"]) == pytest.approx(0.8 * P5.expected_busbw_gbs)
    assert cron()[1]["metadata"]["annotations"]["ml-clusters.io/pass-gbs"] == env()["THRESHOLD_GBS"]


def test_the_script_runs_all_reduce_perf_over_every_gpu_of_both_nodes():
    script = pod()["containers"][0]["command"][2]
    assert "/opt/nccl-tests/build/all_reduce_perf -b 1G -e 8G -f 2 -g 1" in script
    assert "-np $((NODES * GPUS_PER_NODE))" in script and env()["NODES"] == "2" and env()["GPUS_PER_NODE"] == "8"
    # The fabric's environment reaches every rank.
    assert "-x FI_EFA_USE_DEVICE_RDMA -x FI_PROVIDER" in script
    assert script.rstrip().endswith(nccl.VERDICT.rstrip())
    syntax = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
    assert syntax.returncode == 0, syntax.stderr


def _row(size: int, busbw: float) -> str:
    # A table row in all_reduce_perf's layout (13 columns); numbers made up for the test.
    return f"  {size:>12} {size // 4:>12}  float  sum  -1  1000.0  100.00  {busbw:.2f}  0  1000.0  100.00  {busbw:.2f}  0"


@pytest.mark.parametrize("largest, code", [(330.0, 0), (320.0, 0), (319.9, 1)])
def test_the_job_fails_below_the_pass_mark(tmp_path, largest, code):
    out = tmp_path / "all_reduce.txt"
    out.write_text("\n".join([
        "# nThread 1 nGpus 1 minBytes 1073741824 maxBytes 8589934592",
        "h100-0:17:17 [0] NCCL INFO NET/OFI Selected provider is efa",
        _row(1 << 30, 500.0),  # a smaller message may be faster: only the largest counts
        _row(1 << 33, largest),
        "# Avg bus bandwidth    : 400.0",
    ]) + "\n")
    run = subprocess.run(["bash", "-c", nccl.VERDICT], capture_output=True, text=True, env={
        "OUT": str(out), "THRESHOLD_GBS": "320", "EXPECTED_GBS": "400", "FABRIC": "EFA v2", "NODES": "2", "PATH": "/usr/bin:/bin",
    })
    assert run.returncode == code, run.stdout + run.stderr
    assert f"largest message bus bandwidth: {largest:.2f} GB/s" in run.stdout
    assert ("PASS" if code == 0 else "FAIL: bus bandwidth below 320 GB/s") in run.stdout


def test_no_table_is_a_failure(tmp_path):
    out = tmp_path / "all_reduce.txt"
    out.write_text("mpirun: could not reach the other node\n")
    run = subprocess.run(["bash", "-c", nccl.VERDICT], capture_output=True, text=True,
                         env={"OUT": str(out), "THRESHOLD_GBS": "320", "PATH": "/usr/bin:/bin"})
    assert run.returncode == 1 and "bandwidth: none GB/s" in run.stdout


def test_admitted_through_kueue_in_the_platform_namespace():
    plan = prod_aws()
    job_labels = cron()[1]["spec"]["jobTemplate"]["metadata"]["labels"]
    assert job_labels[queueing.QUEUE_LABEL] == nccl.QUEUE
    _, lq = objects(plan, "LocalQueue")["fabric-acceptance/fabric-acceptance"]
    assert lq["spec"] == {"clusterQueue": nccl.QUEUE}
    _, ns = objects(plan, "Namespace")["fabric-acceptance"]
    # Kueue manages jobs only in namespaces its selector matches; this one matches.
    selector = yaml_config()["managedJobsNamespaceSelector"]["matchLabels"]
    assert all(ns["metadata"]["labels"].get(k) == v for k, v in selector.items())
    # Root sshd and IPC_LOCK: the namespace allows them (a platform namespace, not a team's).
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    assert "ml-clusters.io/serving" not in ns["metadata"]["labels"]


def yaml_config():
    import yaml
    return yaml.safe_load(queueing.manager_config())


def test_its_queue_borrows_two_nodes_of_the_pool_from_the_teams():
    _, cq = objects(prod_aws(), "ClusterQueue")[nccl.QUEUE]
    _, research = objects(prod_aws(), "ClusterQueue")["research"]
    assert cq["spec"]["cohortName"] == research["spec"]["cohortName"]
    assert cq["spec"]["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": nccl.NAMESPACE}}
    cpu_group, gpu_group = cq["spec"]["resourceGroups"]
    assert gpu_group["coveredResources"] == ["nvidia.com/gpu", EFA_RESOURCE]
    (flavor,) = gpu_group["flavors"]
    assert flavor["name"] == "gpu-h100"
    assert flavor["resources"] == [
        {"name": "nvidia.com/gpu", "nominalQuota": "0", "borrowingLimit": str(nccl.NODES * 8)},
        {"name": EFA_RESOURCE, "nominalQuota": "0", "borrowingLimit": str(nccl.NODES * P5.nics)},
    ]
    # Its pods' CPU and memory fit its own quota, lent to nobody.
    requests = pod()["containers"][0]["resources"]["requests"]
    for r in cpu_group["flavors"][0]["resources"]:
        assert r["lendingLimit"] == "0"
        assert r["nominalQuota"] == {"cpu": str(nccl.NODES * int(requests["cpu"])), "memory": f"{nccl.NODES * 64}Gi"}[r["name"]]


def test_order_device_plugin_queue_secret_and_service_before_the_test():
    plan = prod_aws()
    resource, _ = cron()
    plugin = plan.one("kubernetes:helm.sh/v3:Release", "ml-prod-aws-efa-device-plugin")
    lq, _ = objects(plan, "LocalQueue")["fabric-acceptance/fabric-acceptance"]
    cq, _ = objects(plan, "ClusterQueue")[nccl.QUEUE]
    secret, _ = objects(plan, "Secret")["fabric-acceptance/nccl-ssh"]
    service, _ = objects(plan, "Service")["fabric-acceptance/nccl-h100"]
    ns, _ = objects(plan, "Namespace")["fabric-acceptance"]
    for before in (plugin, lq, secret, service, ns):
        assert depends(resource, before), before.name
    assert depends(lq, cq)
    flavor, _ = objects(plan, "ResourceFlavor")["gpu-h100"]
    assert depends(cq, flavor)


def test_the_pods_find_each_other_and_nobody_else_reaches_them():
    _, svc = objects(prod_aws(), "Service")["fabric-acceptance/nccl-h100"]
    assert svc["spec"]["clusterIP"] == "None" and svc["spec"]["publishNotReadyAddresses"] is True
    labels = cron()[1]["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in svc["spec"]["selector"].items())
    _, policy = objects(prod_aws(), "NetworkPolicy")["fabric-acceptance/same-namespace-only"]
    assert policy["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": {}}]}]}
    # The ssh password is a generated secret, mounted as a file (not an environment variable).
    _, secret = objects(prod_aws(), "Secret")["fabric-acceptance/nccl-ssh"]
    assert set(secret["stringData"]) == {"password"}
    assert {"name": "ssh", "secret": {"secretName": nccl.SECRET, "defaultMode": 0o400}} in pod()["volumes"]


@pytest.mark.parametrize("version", catalog.KUBERNETES_VERSIONS)
def test_the_test_objects_validate_strictly(version):
    plan = prod_aws()
    ours = [r for r in plan.resources if r.type.startswith("kubernetes:") and r.custom
            and (inputs(r).get("metadata", {}).get("namespace") == nccl.NAMESPACE
                 or inputs(r).get("metadata", {}).get("name") in (nccl.NAMESPACE, nccl.QUEUE))]
    kinds = sorted({inputs(r)["kind"] for r in ours})
    assert kinds == ["ClusterQueue", "CronJob", "LocalQueue", "Namespace", "NetworkPolicy", "Secret", "Service"]
    for r in ours:
        check(r, version)
