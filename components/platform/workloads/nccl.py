"""The NCCL acceptance test per fabric pool: nccl-tests all_reduce_perf over NODES whole
nodes of the pool, admitted through Kueue in the platform namespace `fabric-acceptance`,
failing when the bus bandwidth is under PASS_FRACTION of what the catalog expects.

On demand, never on `pulumi up`: each fabric pool gets a suspended CronJob `nccl-<pool>`
holding the Job template. A platform team runs it with one command and reads the result from
the Job's status and log:

    kubectl -n fabric-acceptance create job nccl-h100-$(date +%s) --from=cronjob/nccl-h100

(`kubectl create job --from` copies the CronJob's jobTemplate, labels included, into a Job;
a suspended CronJob never starts one by itself.) A CronJob keeps the test in the cluster as
an object Kubernetes validates, that `kubectl` can start without any file at hand, and that
keeps the last runs' Jobs; Kueue admits the Job it makes like any other (the queue-name label
on the jobTemplate).

The Job is Indexed (one pod per node, hostnames `<job>-<index>.<service>` through a headless
Service). Every pod runs sshd; pod 0 also runs mpirun over all of them (OpenMPI launches its
daemons over ssh; the password comes from a generated Secret, as MPI operators generate keys),
prints nccl-tests' table and the verdict, and exits non-zero below the threshold. The Job's
successPolicy ends it when pod 0 succeeds; any failed pod fails it (backoffLimit 0).
"""

from __future__ import annotations

import shlex
from typing import Any, Sequence

from ...conventions import GPU_RESOURCE, GPU_TAINT, POOL_LABEL
from ...handle import GpuPoolFacts
from ..common import QUEUED_NAMESPACE_LABEL, checkov_skips, sorted_dict
from .queueing import API_VERSION, CPU_FLAVOR, QUEUE_LABEL, flavor_name

NAMESPACE = "fabric-acceptance"
QUEUE = "fabric-acceptance"  # the ClusterQueue and the namespace's LocalQueue
SECRET = "nccl-ssh"
APP = "nccl-allreduce"
NODES = 2
PASS_FRACTION = 0.8
SSH_PORT = 2222
PASSWORD_DIR = "/etc/nccl-ssh"
PASSWORD_FILE = f"{PASSWORD_DIR}/password"
# Large messages only: the bus bandwidth of the largest is the figure held to the threshold
# (nccl-tests doc/PERFORMANCE.md: bus bandwidth is comparable to the bottleneck link's rate).
SIZES = ("-b", "1G", "-e", "8G", "-f", "2")
ITERATIONS = ("-n", "20", "-w", "5", "-c", "0")
# Per pod: CPU and memory for sshd, mpirun and 8 ranks (the ranks mostly wait on the GPUs).
REQUESTS = {"cpu": "16", "memory": "64Gi"}
# How long a run may take, scale-up of two nodes from zero and image pulls included.
DEADLINE_SECONDS = 3600
# Kept for a week so the log can be read after the run.
TTL_SECONDS = 7 * 24 * 3600

CHECKOV_SKIPS = {
    "CKV_K8S_8": "a one-shot test run: nothing to probe for liveness",
    "CKV_K8S_9": "a one-shot test run: readiness is sshd answering, which the launcher polls itself",
    "CKV_K8S_22": "sshd writes host keys and the root password at start",
    "CKV_K8S_23": "sshd and mpirun run as root in the nccl-tests image",
    "CKV_K8S_40": "sshd and mpirun run as root in the nccl-tests image",
    "CKV_K8S_25": "IPC_LOCK: the ranks register GPU memory with the fabric's NICs",
    "CKV_K8S_37": "IPC_LOCK: the ranks register GPU memory with the fabric's NICs",
    "CKV_K8S_43": "the nccl-tests image is pinned by tag where no public source gives a digest (TAG_ONLY_IMAGES)",
    "CKV_K8S_15": "pull policy follows the pinned tag (TAG_ONLY_IMAGES)",
}


def threshold(facts: GpuPoolFacts) -> float:
    assert facts.fabric is not None
    return round(facts.fabric.expected_busbw_gbs * PASS_FRACTION, 1)


def name(pool: str) -> str:
    return f"nccl-{pool}"


def script(facts: GpuPoolFacts) -> str:
    """The pods' entrypoint: sshd everywhere; on pod 0, mpirun over every pod and the verdict."""
    assert facts.fabric is not None
    forwarded = " ".join(f"-x {k}" for k in ("PATH", "LD_LIBRARY_PATH", "NCCL_DEBUG", *sorted(facts.fabric.env)))
    test = " ".join(shlex.quote(a) for a in (facts.fabric.all_reduce_perf, *SIZES, "-g", "1", *ITERATIONS))
    return f"""set -euo pipefail
OUT=/tmp/all_reduce.txt
SSH_PASSWORD=$(cat {PASSWORD_FILE})
export SSH_PASSWORD
echo "root:${{SSH_PASSWORD}}" | chpasswd
ssh-keygen -A >/dev/null
mkdir -p /run/sshd
/usr/sbin/sshd -p {SSH_PORT} -o PermitRootLogin=yes -o PasswordAuthentication=yes -o UsePAM=no
if [ "${{JOB_COMPLETION_INDEX}}" != "0" ]; then
  exec sleep infinity  # a rank host: the Job ends when pod 0 is done
fi
cat > /tmp/askpass <<'ASKPASS'
#!/bin/sh
printf '%s\\n' "$SSH_PASSWORD"
ASKPASS
cat > /tmp/ssh <<'SSH'
#!/bin/sh
exec ssh -p {SSH_PORT} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o PreferredAuthentications=password -o NumberOfPasswordPrompts=1 "$@"
SSH
chmod 700 /tmp/askpass /tmp/ssh
export SSH_ASKPASS=/tmp/askpass SSH_ASKPASS_REQUIRE=force DISPLAY=none
export OMPI_MCA_plm_rsh_agent=/tmp/ssh PRTE_MCA_plm_ssh_agent=/tmp/ssh OMPI_MCA_plm_rsh_no_tree_spawn=1
hosts=""
for i in $(seq 0 $((NODES - 1))); do
  host="${{JOB_NAME}}-${{i}}.${{SERVICE}}"
  for attempt in $(seq 1 120); do /tmp/ssh "$host" true </dev/null 2>/dev/null && break; sleep 5; done
  hosts="${{hosts}}${{host}}:${{GPUS_PER_NODE}},"
done
mpirun=$(command -v mpirun)
"$mpirun" --allow-run-as-root --prefix "$(dirname "$(dirname "$mpirun")")" --bind-to none \\
  -np $((NODES * GPUS_PER_NODE)) -H "${{hosts%,}}" {forwarded} \\
  {test} | tee "$OUT"
""" + VERDICT


# The verdict on nccl-tests' output in $OUT: the out-of-place bus bandwidth (column 8 of
# all_reduce_perf's table rows, NVIDIA/nccl-tests src/common.cu) of the largest message.
VERDICT = """busbw=$(awk '$1 ~ /^[0-9]+$/ && NF >= 12 {b = $8} END {print b}' "$OUT")
echo "fabric: ${FABRIC}; nodes: ${NODES}; largest message bus bandwidth: ${busbw:-none} GB/s; expected ${EXPECTED_GBS} GB/s; pass at ${THRESHOLD_GBS} GB/s"
if awk -v b="${busbw:-0}" -v t="${THRESHOLD_GBS}" 'BEGIN {exit !(b >= t)}'; then
  echo "PASS"
else
  echo "FAIL: bus bandwidth below ${THRESHOLD_GBS} GB/s"
  exit 1
fi
"""


def _env(facts: GpuPoolFacts) -> list[dict[str, Any]]:
    assert facts.fabric is not None
    fixed = {
        "NODES": str(NODES), "GPUS_PER_NODE": str(facts.gpus_per_node), "SERVICE": name(facts.pool.name),
        "FABRIC": facts.fabric.name, "EXPECTED_GBS": f"{facts.fabric.expected_busbw_gbs:g}",
        "THRESHOLD_GBS": f"{threshold(facts):g}", "NCCL_DEBUG": "INFO", **facts.fabric.env,
    }
    return [
        *({"name": k, "value": v} for k, v in sorted(fixed.items())),
        {"name": "JOB_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['batch.kubernetes.io/job-name']"}}},
    ]


def pod_spec(facts: GpuPoolFacts) -> dict[str, Any]:
    fabric = facts.fabric
    assert fabric is not None
    limits = {GPU_RESOURCE: str(facts.gpus_per_node), **{k: str(v) for k, v in sorted(fabric.resources.items())}}
    container = {
        "name": "nccl",
        "image": fabric.nccl_tests_image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/bash", "-c", script(facts)],
        "env": _env(facts),
        "ports": [{"name": "ssh", "containerPort": SSH_PORT}],
        "resources": {"requests": {**REQUESTS, **limits}, "limits": {**REQUESTS, **limits}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            # sshd keeps its default capabilities (it changes user per session); NET_RAW goes.
            "capabilities": {"add": ["IPC_LOCK"], "drop": ["NET_RAW"]},
            "privileged": False,
        },
        "volumeMounts": [{"name": "dshm", "mountPath": "/dev/shm"},
                         {"name": "ssh", "mountPath": PASSWORD_DIR, "readOnly": True}],
    }
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "subdomain": name(facts.pool.name),
        "automountServiceAccountToken": False,
        "nodeSelector": {POOL_LABEL: facts.pool.name},
        "tolerations": [GPU_TAINT.toleration()],
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": [{"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": fabric.shm_size}},
                    {"name": "ssh", "secret": {"secretName": SECRET, "defaultMode": 0o400}}],
    }
    if fabric.sidecars:
        spec["initContainers"] = [dict(c) for c in fabric.sidecars]
        spec["volumes"] += [dict(v) for v in fabric.volumes]  # what the sidecars mount
    for i, (mount, host) in enumerate(sorted(fabric.host_paths.items())):
        spec["volumes"].append({"name": f"fabric-{i}", "hostPath": {"path": host, "type": "Directory"}})
        container["volumeMounts"].append({"name": f"fabric-{i}", "mountPath": mount, "readOnly": True})
    return spec


def cron_job(facts: GpuPoolFacts) -> dict[str, Any]:
    """Keyword arguments of the pool's suspended CronJob (batch/v1)."""
    fabric = facts.fabric
    assert fabric is not None
    labels = {"app.kubernetes.io/name": APP, "app.kubernetes.io/part-of": "ml-clusters", POOL_LABEL: facts.pool.name}
    template_meta: dict[str, Any] = {"labels": sorted_dict(labels)}
    if fabric.pod_annotations:
        template_meta["annotations"] = sorted_dict(dict(fabric.pod_annotations))
    annotations = {
        **checkov_skips(CHECKOV_SKIPS),
        "ml-clusters.io/run": f"kubectl -n {NAMESPACE} create job {name(facts.pool.name)}-$(date +%s) --from=cronjob/{name(facts.pool.name)}",
        "ml-clusters.io/pass-gbs": f"{threshold(facts):g}",
    }
    return {
        "metadata": {"name": name(facts.pool.name), "namespace": NAMESPACE, "labels": sorted_dict(labels), "annotations": annotations},
        "spec": {
            "schedule": "0 0 1 1 *",  # never used: suspended, started by hand
            "suspend": True,
            "concurrencyPolicy": "Forbid",
            "jobTemplate": {
                "metadata": {"labels": sorted_dict({**labels, QUEUE_LABEL: QUEUE})},
                "spec": {
                    "completionMode": "Indexed",
                    "completions": NODES,
                    "parallelism": NODES,
                    "backoffLimit": 0,
                    # batch/v1 successPolicy (GA in Kubernetes 1.33): pod 0's success is the Job's.
                    "successPolicy": {"rules": [{"succeededIndexes": "0"}]},
                    "activeDeadlineSeconds": DEADLINE_SECONDS,
                    "ttlSecondsAfterFinished": TTL_SECONDS,
                    "template": {"metadata": template_meta, "spec": pod_spec(facts)},
                },
            },
        },
    }


def service(facts: GpuPoolFacts) -> dict[str, Any]:
    """The headless Service that gives the Job's pods their DNS names (before they are ready)."""
    return {
        "metadata": {"name": name(facts.pool.name), "namespace": NAMESPACE, "labels": {"app.kubernetes.io/name": APP}},
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": True,
            "selector": {"app.kubernetes.io/name": APP, POOL_LABEL: facts.pool.name},
            "ports": [{"name": "ssh", "port": SSH_PORT, "targetPort": SSH_PORT}],
        },
    }


def network_policy() -> dict[str, Any]:
    """The test's pods talk only to each other (ssh, MPI, NCCL's bootstrap sockets)."""
    return {
        "metadata": {"name": "same-namespace-only", "namespace": NAMESPACE},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": {}}]}]},
    }


def cluster_queue(pools: Sequence[GpuPoolFacts], cohort: str) -> dict[str, Any]:
    """The acceptance test's queue. GPUs and fabric devices: none of its own (the teams'
    quotas already add up to what the pools hold), but it may borrow NODES whole nodes per
    fabric pool from the teams' idle quota in the cohort, which they reclaim by preemption.
    CPU and memory: its own, lent to nobody (lendingLimit 0)."""
    fabric_pools = [f for f in pools if f.fabric is not None]
    gpu_resources = [GPU_RESOURCE, *sorted({r for f in fabric_pools for r in f.fabric.resources})]
    flavors = []
    for facts in fabric_pools:
        per_node = {GPU_RESOURCE: facts.gpus_per_node, **facts.fabric.resources}
        flavors.append({"name": flavor_name(facts.pool.name), "resources": [
            {"name": r, "nominalQuota": "0", "borrowingLimit": str(NODES * per_node.get(r, 0))}
            for r in gpu_resources
        ]})
    cpu = str(NODES * len(fabric_pools) * int(REQUESTS["cpu"]))
    memory = f"{NODES * len(fabric_pools) * int(REQUESTS['memory'].removesuffix('Gi'))}Gi"
    return {
        "api_version": API_VERSION,
        "kind": "ClusterQueue",
        "metadata": {"name": QUEUE},
        "spec": {
            "cohortName": cohort,
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": NAMESPACE}},
            "queueingStrategy": "BestEffortFIFO",
            "resourceGroups": [
                {"coveredResources": ["cpu", "memory"], "flavors": [{"name": CPU_FLAVOR, "resources": [
                    {"name": "cpu", "nominalQuota": cpu, "lendingLimit": "0", "borrowingLimit": "0"},
                    {"name": "memory", "nominalQuota": memory, "lendingLimit": "0", "borrowingLimit": "0"},
                ]}]},
                {"coveredResources": gpu_resources, "flavors": flavors},
            ],
        },
    }


def namespace_labels_extra() -> dict[str, str]:
    """Kueue at v0.19.2 reconciles Jobs only in namespaces its managedJobsNamespaceSelector
    matches (pkg/controller/jobframework/reconciler.go): the queued-namespace label. Not a
    team namespace: no team, quota or LocalQueue `default`."""
    return {QUEUED_NAMESPACE_LABEL: "true"}


def local_queue() -> dict[str, Any]:
    return {"api_version": API_VERSION, "kind": "LocalQueue", "metadata": {"name": QUEUE, "namespace": NAMESPACE},
            "spec": {"clusterQueue": QUEUE}}
