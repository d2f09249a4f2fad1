"""What a stack needs done outside it before `pulumi up` can give a pool its fabric: settings of
the cloud account that one stack does not own (a subscription-wide feature registration),
each with how to do it, how to check it, and its source. The offline preview lists those a
stack's pools need (preview/prerequisites.py); docs/<cloud>.md say the same."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Prerequisite:
    cloud: str
    fabric_kind: str  # catalog FABRIC_KINDS: the pools of this kind need it
    what: str
    do: str  # the command that does it (once per account)
    check: str  # the command that shows it is done, and what it shows then
    source: str


PREREQUISITES: tuple[Prerequisite, ...] = (
    # Without it the pool's VMs need not land on one InfiniBand network: NCCL falls back to TCP.
    Prerequisite(
        cloud="azure",
        fabric_kind="infiniband",
        what="subscription feature Microsoft.ContainerService/AKSInfinibandSupport registered "
             "(the pool's VMs land on one InfiniBand network)",
        do="az feature register --namespace Microsoft.ContainerService --name AKSInfinibandSupport; "
           "az provider register --namespace Microsoft.ContainerService",
        check="az feature show --namespace Microsoft.ContainerService --name AKSInfinibandSupport "
              "--query properties.state -o tsv  (Registered)",
        source="Azure/aks-rdma-infiniband @ 700dabb website/docs/getting-started/02-prerequisites.md "
               "(Register AKS Infiniband Support Feature); tests/setup-infra/deploy-aks.sh",
    ),
)


def prerequisites_for(cloud: str, pools: dict[str, str]) -> list[tuple[Prerequisite, list[str]]]:
    """The prerequisites of a stack's fabric pools ({pool name: fabric kind}), each with the
    pools that need it, in catalog order."""
    out = []
    for item in PREREQUISITES:
        needing = sorted(name for name, kind in pools.items() if item.cloud == cloud and kind == item.fabric_kind)
        if needing:
            out.append((item, needing))
    return out
