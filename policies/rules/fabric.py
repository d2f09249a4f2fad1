"""GPU fabric pools (multi-node networking, any cloud): one zone, EFA's self-referencing
security group on EKS, no spot without a stated reason, and no prod pool that goes without
the fabric its type has unless the stack says why.

A fabric pool is a GPU pool whose nodes carry the label ml-clusters.io/fabric (the program's
convention, components/conventions.py FABRIC_LABEL; a Karpenter NodePool under
spec.template.metadata.labels). The stack's reasons travel on the pool resource: EKS node
group and AKS agent pool tags `ml-clusters/interconnect-waiver` and
`ml-clusters/interconnect-spot-reason`, Karpenter NodePool annotations of the same keys, GKE
node pool resource labels with `-` for `/` (components/conventions.py fabric_reason_tags).
Which types have a fabric comes from `catalog_data.FABRIC_TYPES`, generated from
components/catalog (a Karpenter pool's types are EC2's).

A Karpenter pool's zones and security groups are its EC2NodeClass's (the NodePool's
spec.template.spec.nodeClassRef, found in the stack by name): subnetSelectorTerms and
securityGroupSelectorTerms by id (terms by tags or name cannot be judged offline), and a
NodePool requirement on topology.kubernetes.io/zone with one value pins one zone as well.
Karpenter v1.14.1 puts every selected security group on every interface it configures
(pkg/providers/launchtemplate/launchtemplate.go generateNetworkInterfaces).

Facts: EFA does not cross Availability Zones and needs a security group that allows all
traffic from and to itself (EC2 User Guide efa-start, "Prepare an EFA-enabled security group");
GPUDirect-TCPX/TCPXO/RDMA and InfiniBand pools are compact (one zone) on GKE and AKS.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from .base import Context, Finding, Resource, get, items, resource_rule, stack_rule
from .catalog_data import FABRIC_TYPES
from .gpu import POOL_TYPES, GpuPool, gpu_pools
from .types import EKS_NODE_GROUP, KARPENTER_NODE_CLASS, KARPENTER_NODE_POOL, LAUNCH_TEMPLATE

DOMAIN = "fabric"
FABRIC_LABEL = "ml-clusters.io/fabric"
WAIVER_TAG = "ml-clusters/interconnect-waiver"
SPOT_REASON_TAG = "ml-clusters/interconnect-spot-reason"
SG_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
EFA_INTERFACE_TYPES = ("efa", "efa-only")
_LABELS = {"aws": "labels", "gcp": "nodeConfig.labels", "azure": "nodeLabels", "karpenter": "spec.template.metadata.labels"}
ZONE_LABEL = "topology.kubernetes.io/zone"


def fabric_kind(pool: GpuPool) -> Optional[str]:
    value = get(pool.props, [*_LABELS[pool.cloud].split("."), FABRIC_LABEL])
    return str(value) if value else None


def reason(pool: GpuPool, tag: str) -> Optional[str]:
    """The stack's stated reason carried on the pool (tags, or GKE resource labels)."""
    if pool.cloud == "gcp":
        value = get(pool.props, ["nodeConfig", "resourceLabels", tag.replace("/", "-")])
    elif pool.cloud == "karpenter":
        value = get(pool.props, ["metadata", "annotations", tag])
    else:
        value = get(pool.props, ["tags", tag])
    return str(value) if value else None


def type_fabric(pool: GpuPool) -> Optional[str]:
    kinds = {FABRIC_TYPES.get(pool.catalog_cloud(), {}).get(t) for t in pool.instance_types()}
    kinds.discard(None)
    return sorted(kinds)[0] if kinds else None


def node_classes(resources: Sequence[Resource]) -> dict[str, Resource]:
    """The stack's EC2NodeClasses by metadata.name (what a NodePool's nodeClassRef names)."""
    return {str(get(r.props, "metadata.name", r.name)): r for r in resources if r.type == KARPENTER_NODE_CLASS}


def node_class_of(pool: GpuPool, classes: Mapping[str, Resource]) -> tuple[str, Optional[Resource]]:
    name = str(get(pool.props, "spec.template.spec.nodeClassRef.name", ""))
    return name, classes.get(name)


def _ids(node_class: Resource, terms: str) -> Optional[list[str]]:
    """The ids a selector names; None when a term selects by tags or name (any number)."""
    found = items(node_class.props, f"spec.{terms}")
    if not all(get(term, "id") for term in found):
        return None
    return [str(get(term, "id")) for term in found]


def zones(pool: GpuPool, classes: Mapping[str, Resource]) -> tuple[Optional[int], str]:
    """Zones the pool can place nodes in (None: not pinned) and, when not pinned, why."""
    if pool.cloud == "aws":
        return len(items(pool.props, "subnetIds")), ""  # a subnet lives in one zone
    if pool.cloud == "gcp":
        locations = items(pool.props, "nodeLocations")
        return (len(locations), "") if locations else (None, "every zone of the cluster")  # unset: the cluster's zones
    if pool.cloud == "karpenter":
        counts = []
        pinned = pool._requirement(ZONE_LABEL)
        if pinned is not None:
            counts.append(len(pinned))
        name, node_class = node_class_of(pool, classes)
        subnets = _ids(node_class, "subnetSelectorTerms") if node_class is not None else None
        if subnets is not None:
            counts.append(len(subnets))
        if counts:
            return min(counts), ""
        if node_class is None:
            return None, f"whatever zones its EC2NodeClass {name} (not in the stack) selects"
        return None, f"every zone its EC2NodeClass {name} selects subnets in by tags or name"
    return max(1, len(items(pool.props, "availabilityZones"))), ""


@stack_rule(
    id="fabric-pool-one-zone",
    title="A fabric pool spans one zone",
    domain=DOMAIN,
    types=[*POOL_TYPES, KARPENTER_NODE_CLASS],
    description=f"A GPU pool with a fabric (node label {FABRIC_LABEL}) places its nodes in one zone: EKS one subnet (a Karpenter pool: its EC2NodeClass's subnetSelectorTerms by id, or a NodePool requirement on {ZONE_LABEL} with one zone), GKE one node location, AKS at most one availability zone. EFA, GPUDirect and InfiniBand traffic does not cross zones.",
    severity="high",
    level="mandatory",
    fix="Put the pool in one subnet / node location / availability zone (the program does so for every pool whose gpuPools[].interconnect resolves to a fabric; on Karpenter it selects the one subnet by id).",
)
def fabric_pool_one_zone(resources: Sequence[Resource], ctx: Context):
    classes = node_classes(resources)
    for r in resources:
        for pool in gpu_pools(r):
            kind = fabric_kind(pool)
            if kind is None:
                continue
            count, why = zones(pool, classes)
            if count is None or count > 1:
                shown = why if count is None else f"{count} zones"
                yield Finding(f"{pool.where}: the {kind} fabric pool spans {shown}; its nodes must share one zone to reach each other over the fabric.",
                              resource=r)


def _self_referencing_groups(resources: Sequence[Resource]) -> set[str]:
    """Security group ids with an all-protocol rule from itself and one to itself."""
    ingress, egress = set(), set()
    for r in resources:
        if r.type not in (SG_INGRESS_RULE, SG_EGRESS_RULE):
            continue
        group, other, protocol = get(r.props, "securityGroupId"), get(r.props, "referencedSecurityGroupId"), get(r.props, "ipProtocol")
        if group and group == other and str(protocol) in ("-1", "all"):
            (ingress if r.type == SG_INGRESS_RULE else egress).add(str(group))
    return ingress & egress


def _efa_interfaces(template: Resource) -> list[Any]:
    return [i for i in items(template.props, "networkInterfaces") if get(i, "interfaceType") in EFA_INTERFACE_TYPES]


@stack_rule(
    id="fabric-eks-efa-security-group",
    title="EFA interfaces carry a self-referencing security group",
    domain=DOMAIN,
    types=[EKS_NODE_GROUP, LAUNCH_TEMPLATE, KARPENTER_NODE_POOL, KARPENTER_NODE_CLASS, SG_INGRESS_RULE, SG_EGRESS_RULE],
    description=f"An EKS node group with EFA (node label {FABRIC_LABEL}: efa) launches from a template with EFA interfaces, and every EFA interface carries a security group with all-traffic ingress from and egress to itself; a Karpenter NodePool with EFA uses an EC2NodeClass in the stack that selects such a group by id (Karpenter puts every selected group on every interface) and, if it lays out networkInterfaces, has efa-only ones. Without the group EFA traffic fails silently.",
    severity="high",
    level="mandatory",
    fix="Add a security group with an all-protocol ingress rule from itself and an egress rule to itself (aws.vpc.SecurityGroupIngressRule/EgressRule with referencedSecurityGroupId = the group) to every EFA interface of the launch template, or by id to the Karpenter pool's EC2NodeClass securityGroupSelectorTerms.",
)
def fabric_eks_efa_security_group(resources: Sequence[Resource], ctx: Context):
    groups = _self_referencing_groups(resources)
    templates = {r.name: r for r in resources if r.type == LAUNCH_TEMPLATE}
    checked: set[str] = set()
    for r in resources:
        if r.type != EKS_NODE_GROUP or get(r.props, ["labels", FABRIC_LABEL]) != "efa":
            continue
        # The program names a pool's launch template like its node group.
        template = templates.get(r.name)
        if template is None or not _efa_interfaces(template):
            yield Finding(f"node group {r.name}: an EFA pool whose launch template has no EFA interfaces; its nodes get no fabric.", resource=r)
            continue
        checked.add(template.name)
    for name in sorted(checked | {n for n, t in templates.items() if _efa_interfaces(t)}):
        template = templates[name]
        for i, interface in enumerate(_efa_interfaces(template)):
            attached = {str(g) for g in items(interface, "securityGroups")}
            if not attached & groups:
                yield Finding(
                    f"launch template {name}: EFA interface {i} (card {get(interface, 'networkCardIndex', 0)}) carries no security group "
                    "that allows all traffic from and to itself; EFA traffic between the nodes would be dropped.",
                    resource=template,
                )
    yield from _karpenter_efa(resources, groups)


def _karpenter_efa(resources: Sequence[Resource], groups: set[str]):
    classes = node_classes(resources)
    for r in resources:
        if r.type != KARPENTER_NODE_POOL:
            continue
        for pool in gpu_pools(r):
            if fabric_kind(pool) != "efa":
                continue
            name, node_class = node_class_of(pool, classes)
            if node_class is None:
                yield Finding(f"{pool.where}: an EFA pool whose EC2NodeClass {name} is not in the stack; its security groups cannot be checked.", resource=r)
                continue
            selected = _ids(node_class, "securityGroupSelectorTerms")
            if selected is None:
                yield Finding(
                    f"EC2NodeClass {name} ({pool.where}): selects its security groups by tags or name, so none is known to allow "
                    "all traffic from and to itself; select the EFA group by id.", resource=node_class)
            elif not set(selected) & groups:
                yield Finding(
                    f"EC2NodeClass {name} ({pool.where}): selects no security group that allows all traffic from and to itself; "
                    "EFA traffic between the nodes would be dropped.", resource=node_class)
            layout = items(node_class.props, "spec.networkInterfaces")
            if layout and not any(get(i, "interfaceType") == "efa-only" for i in layout):
                yield Finding(f"EC2NodeClass {name} ({pool.where}): networkInterfaces has no efa-only interface; the EFA pool's nodes get no fabric.",
                              resource=node_class)


@resource_rule(
    id="fabric-spot-acknowledged",
    title="A fabric pool on spot says why",
    domain=DOMAIN,
    types=POOL_TYPES,
    description=f"A GPU pool with a fabric runs on spot capacity only with a stated reason (tag {SPOT_REASON_TAG}, on a Karpenter NodePool an annotation, stack key gpuPools[].interconnectSpotReason): one reclaimed node stops every rank of a multi-node job, and reclaims come together.",
    severity="medium",
    level="mandatory",
    fix="Run the pool on demand (gpuPools[].spot: false), or state why spot is acceptable in gpuPools[].interconnectSpotReason.",
)
def fabric_spot_acknowledged(r: Resource, ctx: Context):
    for pool in gpu_pools(r):
        kind = fabric_kind(pool)
        if kind is not None and pool.spot() and not reason(pool, SPOT_REASON_TAG):
            yield Finding(f"{pool.where}: the {kind} fabric pool runs on spot capacity and the stack gives no reason.")


@resource_rule(
    id="fabric-prod-pool-uses-its-fabric",
    title="Prod pools use the fabric their type has",
    domain=DOMAIN,
    types=POOL_TYPES,
    description=f"In prod, a GPU pool whose instance type has a fabric (catalog) runs with it (node label {FABRIC_LABEL}), or the stack says why not (tag {WAIVER_TAG}, on a Karpenter NodePool an annotation, stack key gpuPools[].interconnectWaiver): without it multi-node jobs talk over plain TCP.",
    severity="medium",
    level="mandatory",
    environments=["prod"],
    fix="Leave gpuPools[].interconnect at auto, or set interconnect: none with gpuPools[].interconnectWaiver saying why.",
)
def fabric_prod_pool_uses_its_fabric(r: Resource, ctx: Context):
    for pool in gpu_pools(r):
        kind = type_fabric(pool)
        if kind is None or fabric_kind(pool) is not None or reason(pool, WAIVER_TAG):
            continue
        yield Finding(
            f"{pool.where}: {', '.join(pool.instance_types())} has a fabric ({kind}), but the pool runs without it and the stack gives no reason."
        )
