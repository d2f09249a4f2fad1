"""Field tables of Karpenter's custom resources at the pinned version, our own record read
from aws/karpenter-provider-aws v1.14.1 pkg/apis/crds/karpenter.sh_nodepools.yaml and
karpenter.k8s.aws_ec2nodeclasses.yaml (karpenter.sh/v1 and karpenter.k8s.aws/v1: served and
the storage versions), at the levels components/clouds/aws/capacity.py writes. A field a table
does not list is an error, as `kubectl apply --validate=strict` would report it. No upstream
CRD is stored in this repository."""

from __future__ import annotations

from typing import Any

from tests.platform.workloads.crds import _at

NODEPOOL = ("karpenter.sh/v1", "NodePool")
NODECLASS = ("karpenter.k8s.aws/v1", "EC2NodeClass")
TAINT = {"effect", "key", "timeAdded", "value"}

FIELDS: dict[tuple[str, str], dict[str, set[str]]] = {
    NODEPOOL: {
        "": {"apiVersion", "kind", "metadata", "spec"},
        "spec": {"disruption", "limits", "replicas", "template", "weight"},
        "spec.disruption": {"budgets", "consolidateAfter", "consolidationPolicy"},
        "spec.disruption.budgets[]": {"duration", "nodes", "reasons", "schedule"},
        "spec.template": {"metadata", "spec"},
        "spec.template.metadata": {"annotations", "labels"},
        "spec.template.spec": {"expireAfter", "nodeClassRef", "requirements", "startupTaints", "taints", "terminationGracePeriod"},
        "spec.template.spec.nodeClassRef": {"group", "kind", "name"},
        "spec.template.spec.requirements[]": {"key", "minValues", "operator", "values"},
        "spec.template.spec.taints[]": TAINT,
        "spec.template.spec.startupTaints[]": TAINT,
    },
    NODECLASS: {
        "": {"apiVersion", "kind", "metadata", "spec"},
        "spec": {"amiFamily", "amiSelectorTerms", "associatePublicIPAddress", "blockDeviceMappings", "capacityReservationSelectorTerms",
                 "connectionTracking", "context", "cpuOptions", "detailedMonitoring", "instanceProfile", "instanceStorePolicy",
                 "ipPrefixCount", "kubelet", "metadataOptions", "networkInterfaces", "placementGroupSelector", "role",
                 "securityGroupSelectorTerms", "subnetSelectorTerms", "tags", "userData"},
        "spec.amiSelectorTerms[]": {"alias", "id", "name", "owner", "ssmParameter", "tags"},
        "spec.blockDeviceMappings[]": {"deviceName", "ebs", "rootVolume"},
        "spec.blockDeviceMappings[].ebs": {"deleteOnTermination", "encrypted", "iops", "kmsKeyID", "snapshotID", "throughput",
                                           "volumeInitializationRate", "volumeSize", "volumeType"},
        "spec.capacityReservationSelectorTerms[]": {"id", "instanceMatchCriteria", "ownerID", "tags"},
        "spec.metadataOptions": {"httpEndpoint", "httpProtocolIPv6", "httpPutResponseHopLimit", "httpTokens"},
        "spec.securityGroupSelectorTerms[]": {"id", "name", "tags"},
        "spec.subnetSelectorTerms[]": {"id", "tags"},
    },
}
# The CRDs' `required` lists at these levels.
REQUIRED: dict[tuple[str, str], dict[str, set[str]]] = {
    NODEPOOL: {"spec": {"template"}, "spec.template": {"spec"}, "spec.template.spec": {"nodeClassRef", "requirements"},
               "spec.template.spec.nodeClassRef": {"group", "kind", "name"}, "spec.template.spec.requirements[]": {"key", "operator"},
               "spec.template.spec.taints[]": {"effect", "key"}, "spec.disruption": {"consolidateAfter"},
               "spec.disruption.budgets[]": {"nodes"}},
    NODECLASS: {"spec": {"amiSelectorTerms", "securityGroupSelectorTerms", "subnetSelectorTerms"}},
}


def errors(obj: dict[str, Any]) -> list[str]:
    """Fields the kind does not declare and required fields left out, as `path: message`."""
    key = (obj["apiVersion"], obj["kind"])
    found: list[str] = []
    for path, allowed in FIELDS[key].items():
        values = [("", obj)] if path == "" else list(_at(obj, path))
        for where, value in values:
            found += [f"{where or '<root>'}: unknown field {name!r}" for name in sorted(set(value) - allowed)]
    for path, required in REQUIRED[key].items():
        for where, value in _at(obj, path):
            found += [f"{where}: required field {name!r} is missing" for name in sorted(required - set(value))]
    # EC2NodeClass: exactly one of role / instanceProfile (the CRD's CEL rule).
    if key == NODECLASS and ("role" in obj.get("spec", {})) == ("instanceProfile" in obj.get("spec", {})):
        found.append("spec: must specify exactly one of ['role', 'instanceProfile']")
    return sorted(found)


def known(api_version: str, kind: str) -> bool:
    return (api_version, kind) in FIELDS
