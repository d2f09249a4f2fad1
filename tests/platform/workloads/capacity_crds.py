"""Field tables (as in crds.py) for the custom resources that obtain GPU capacity.

- GKE ComputeClass (cloud.google.com/v1): GKE's own CRD, installed in every cluster from GKE
  1.30.3-gke.1451000; not published as a file, so the table is read from GKE's reference page
  (docs.cloud.google.com/kubernetes-engine/docs/reference/crds/computeclass): spec fields
  activeMigration, allocationStrategyDefaults, autopilot, autoscalingPolicy, buffers,
  description, nodePoolAutoCreation, nodePoolConfig, priorityDefaults, priorities,
  whenUnsatisfiable, and the nested fields below.
- Kueue ProvisioningRequestConfig and AdmissionCheck (kueue.x-k8s.io/v1beta2):
  kubernetes-sigs/kueue config/components/crd/bases/kueue.x-k8s.io_{provisioningrequestconfigs,
  admissionchecks}.yaml @ v0.19.2 (v1beta2 served and the storage version), and ClusterQueue's
  admissionChecksStrategy (kueue.x-k8s.io_clusterqueues.yaml @ v0.19.2).
"""

from __future__ import annotations

COMPUTE_CLASS = ("cloud.google.com/v1", "ComputeClass")
KUEUE = "kueue.x-k8s.io/v1beta2"

SERVED = {
    COMPUTE_CLASS: (True, True),
    (KUEUE, "ProvisioningRequestConfig"): (True, True),
    (KUEUE, "AdmissionCheck"): (True, True),
}

FIELDS: dict[tuple[str, str], dict[str, set[str]]] = {
    COMPUTE_CLASS: {
        "spec": {"activeMigration", "allocationStrategyDefaults", "autopilot", "autoscalingPolicy", "buffers", "description",
                 "nodePoolAutoCreation", "nodePoolConfig", "priorityDefaults", "priorities", "whenUnsatisfiable"},
        "spec.activeMigration": {"ensureAllDaemonSetPodsRunning", "optimizeRulePriority"},
        "spec.nodePoolAutoCreation": {"enabled", "shieldedInstanceConfig"},
        "spec.nodePoolConfig": {"autoRepair", "autoUpgrade", "confidentialNodeType", "dra", "gvnic", "imageStreaming", "imageType",
                                "ipType", "loggingConfig", "nodeLabels", "resourceManagerTags", "sandbox", "serviceAccount",
                                "taintConfig", "taints"},
        "spec.priorityDefaults": {"location", "nodeSystemConfig"},
        "spec.priorityDefaults.location": {"zones"},
        "spec.priorities[]": {"capacityCheckWaitTimeSeconds", "flexStart", "gpu", "machineFamily", "machineType",
                              "maxRunDurationSeconds", "minCores", "minCpuPlatform", "minMemoryGb", "nodepools", "placement",
                              "reservations", "spot", "storage", "tpu"},
        "spec.priorities[].gpu": {"count", "driverVersion", "type"},
        "spec.priorities[].reservations": {"affinity", "specific"},
        "spec.priorities[].reservations.specific[]": {"name", "project", "reservationBlock"},
        "spec.priorities[].storage": {"bootDiskKMSKey", "bootDiskSize", "bootDiskType", "localSSDCount", "secondaryBootDisks"},
    },
    (KUEUE, "ProvisioningRequestConfig"): {
        "spec": {"managedResources", "parameters", "podSetMergePolicy", "podSetUpdates", "provisioningClassName", "retryStrategy"},
        "spec.podSetUpdates": {"nodeSelector"},
        "spec.retryStrategy": {"backoffBaseSeconds", "backoffLimitCount", "backoffMaxSeconds"},
    },
    (KUEUE, "AdmissionCheck"): {
        "spec": {"controllerName", "parameters"},
        "spec.parameters": {"apiGroup", "kind", "name"},
    },
}

REQUIRED: dict[tuple[str, str], dict[str, set[str]]] = {
    COMPUTE_CLASS: {"spec": {"whenUnsatisfiable"}, "spec.nodePoolAutoCreation": {"enabled"},
                    "spec.activeMigration": {"optimizeRulePriority"}},
    (KUEUE, "ProvisioningRequestConfig"): {"spec": {"provisioningClassName"}},
    (KUEUE, "AdmissionCheck"): {"spec": {"controllerName"}, "spec.parameters": {"apiGroup", "kind", "name"}},
}
# ClusterQueue.spec.admissionChecksStrategy (kueue.x-k8s.io_clusterqueues.yaml @ v0.19.2).
CLUSTER_QUEUE_FIELDS = {
    "spec.admissionChecksStrategy": {"admissionChecks"},
    "spec.admissionChecksStrategy.admissionChecks[]": {"name", "onFlavors"},
}
