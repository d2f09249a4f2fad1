"""Field tables of Karpenter's custom resources at the pinned version, our own record read
from aws/karpenter-provider-aws v1.14.1 pkg/apis/crds/karpenter.sh_nodepools.yaml and
karpenter.k8s.aws_ec2nodeclasses.yaml (karpenter.sh/v1 and karpenter.k8s.aws/v1: served and
the storage versions), at the levels components/clouds/aws/capacity.py writes. A field a table
does not list is an error, as `kubectl apply --validate=strict` would report it. No upstream
CRD is stored in this repository.

AKSNodeClass (karpenter.azure.com/v1beta1, served and storage) from Azure/karpenter-provider-azure
v1.14.2 pkg/apis/crds/karpenter.azure.com_aksnodeclasses.yaml, with its enums and ranges at the
fields components/clouds/azure/capacity.py writes; the NodePool table above holds for AKS node
auto-provisioning too (that release's karpenter.sh_nodepools.yaml declares the same fields:
it builds on Karpenter core v1.14.0)."""

from __future__ import annotations

from typing import Any

from tests.platform.workloads.crds import _at

NODEPOOL = ("karpenter.sh/v1", "NodePool")
NODECLASS = ("karpenter.k8s.aws/v1", "EC2NodeClass")
AKS_NODECLASS = ("karpenter.azure.com/v1beta1", "AKSNodeClass")
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
        "spec.networkInterfaces[]": {"deviceIndex", "interfaceType", "networkCardIndex"},
        "spec.placementGroupSelector": {"id", "name"},
        "spec.securityGroupSelectorTerms[]": {"id", "name", "tags"},
        "spec.subnetSelectorTerms[]": {"id", "tags"},
    },
    AKS_NODECLASS: {
        "": {"apiVersion", "kind", "metadata", "spec"},
        "spec": {"artifactStreaming", "fipsMode", "gpu", "imageFamily", "kubelet", "linuxOSConfig", "localDNS", "maxPods",
                 "osDiskSizeGB", "security", "tags", "vnetSubnetID"},
        "spec.security": {"encryptionAtHost"},
        "spec.gpu": {"mode"},
    },
}
# AKSNodeClass enums and integer ranges (the CRD's enum / minimum / maximum).
AKS_ENUMS = {"imageFamily": {"Ubuntu", "Ubuntu2204", "Ubuntu2404", "AzureLinux"}}
AKS_RANGES = {"osDiskSizeGB": (30, 2048), "maxPods": (10, 250)}
# The CRDs' `required` lists at these levels.
REQUIRED: dict[tuple[str, str], dict[str, set[str]]] = {
    NODEPOOL: {"spec": {"template"}, "spec.template": {"spec"}, "spec.template.spec": {"nodeClassRef", "requirements"},
               "spec.template.spec.nodeClassRef": {"group", "kind", "name"}, "spec.template.spec.requirements[]": {"key", "operator"},
               "spec.template.spec.taints[]": {"effect", "key"}, "spec.disruption": {"consolidateAfter"},
               "spec.disruption.budgets[]": {"nodes"}},
    NODECLASS: {"spec": {"amiSelectorTerms", "securityGroupSelectorTerms", "subnetSelectorTerms"},
                "spec.networkInterfaces[]": {"deviceIndex", "interfaceType", "networkCardIndex"}},
    AKS_NODECLASS: {},
}
# spec.networkInterfaces[].interfaceType's enum.
INTERFACE_TYPES = {"interface", "efa-only"}


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
    if key == AKS_NODECLASS:
        spec = obj.get("spec", {})
        found += [f"spec.{k}: {spec[k]!r} is not one of {sorted(v)}" for k, v in AKS_ENUMS.items() if k in spec and spec[k] not in v]
        found += [f"spec.{k}: {spec[k]!r} is outside {lo}-{hi}" for k, (lo, hi) in AKS_RANGES.items()
                  if k in spec and not (isinstance(spec[k], int) and lo <= spec[k] <= hi)]
        found += [f"spec.tags: {t!r} is not a string" for t, v in (spec.get("tags") or {}).items() if not isinstance(v, str)]
    if key == NODECLASS:
        found += _network_interface_errors(obj.get("spec", {}).get("networkInterfaces") or [])
        selector = obj.get("spec", {}).get("placementGroupSelector")
        if selector is not None and len({"id", "name"} & set(selector)) != 1:
            found.append("spec.placementGroupSelector: exactly one of ['name', 'id']")
    return sorted(found)


def _network_interface_errors(layout: list[dict[str, Any]]) -> list[str]:
    """The CRD's enum and CEL rules on spec.networkInterfaces: a primary `interface` at card 0
    device 0, no card/device pair twice, at most one efa-only interface per card."""
    found = [f"spec.networkInterfaces[{i}].interfaceType: {n.get('interfaceType')!r} is not one of {sorted(INTERFACE_TYPES)}"
             for i, n in enumerate(layout) if n.get("interfaceType") not in INTERFACE_TYPES]
    if layout and not any((n.get("networkCardIndex"), n.get("deviceIndex"), n.get("interfaceType")) == (0, 0, "interface") for n in layout):
        found.append("spec.networkInterfaces: must include a primary interface with interfaceType='interface'")
    pairs = [(n.get("networkCardIndex"), n.get("deviceIndex")) for n in layout]
    efa_cards = [n.get("networkCardIndex") for n in layout if n.get("interfaceType") == "efa-only"]
    if len(set(pairs)) != len(pairs) or len(set(efa_cards)) != len(efa_cards):
        found.append("spec.networkInterfaces: duplicate networkCardIndex and deviceIndex pairs, or two efa devices on a card")
    return found


def known(api_version: str, kind: str) -> bool:
    return (api_version, kind) in FIELDS
