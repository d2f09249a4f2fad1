"""What warm GPU nodes (gpuPools[].warmNodes, components/platform/warm.py) cost, for the cost
table and `--compare`.

A warm node is a node of the pool kept up beside the pods it serves, so it is billed at the
pool's first capacity tier, the one its provisioner tries first (preview/capacity.py prices
it): on-demand, or spot at the catalog's reading where it has one (else at its ceiling). When that tier is a reservation (or a Capacity Block),
the reservation is billed whether its nodes run or not, so a warm node inside it costs nothing
more (the node's disk is still billed: preview/cost.py adds it where nodes have one). The stack
names a reservation but not its size, so the preview cannot tell whether the
warm nodes fit beside the pods in it; it says so. At the pool's maximum the warm nodes are
among its `maxNodes` (placeholders that find no room wait), so they add to the cost at the
pools' minimum sizes only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from components.catalog.prices import HOURS_PER_MONTH
from components.config import StackConfig

from .capacity import capacity_rows, reservation_text


@dataclass(frozen=True)
class WarmCost:
    pool: str
    nodes: int
    instance_type: str
    tier: str  # the pool's first tier, as the capacity table names it
    usd_per_node_hour: Optional[float]  # the first tier's price; None: within a reservation (no added cost)
    ceiling: bool  # spot: the price is its ceiling
    reservation: str = ""  # the first tier's reservation, as the preview names it
    estimate: bool = False  # spot at the catalog's reading (components/catalog/spot.py): indicative

    @property
    def usd_per_hour(self) -> float:
        return round((self.usd_per_node_hour or 0.0) * self.nodes, 4)

    @property
    def usd_per_month(self) -> float:
        return round(self.usd_per_hour * HOURS_PER_MONTH, 2)

    def item(self) -> str:
        """The cost table's row for them."""
        nodes = f"{self.nodes} warm node{'s' if self.nodes != 1 else ''}"
        if self.reservation:
            return f"GPU pool {self.pool}: {nodes} in reservation {self.reservation}: no added cost within it (size not in the stack)"
        return f"GPU pool {self.pool}: {nodes} x {self.instance_type}, {self.tier}{' ceiling' if self.ceiling else ' reading' if self.estimate else ''}"

    def text(self) -> str:
        """One cell of `--compare`."""
        if self.reservation:
            return f"{self.nodes} in reservation {self.reservation}: no added cost"
        return f"{self.nodes} x ${self.usd_per_node_hour or 0:,.2f}/h = ${self.usd_per_month:,.2f}/month ({self.tier})"

    def to_json(self) -> dict:
        return {"pool": self.pool, "nodes": self.nodes, "instanceType": self.instance_type, "tier": self.tier,
                "usdPerNodeHour": self.usd_per_node_hour, "ceiling": self.ceiling, "estimate": self.estimate, "reservation": self.reservation or None,
                "usdPerHour": self.usd_per_hour, "usdPerMonth": self.usd_per_month}


def warm_costs(cfg: StackConfig) -> list[WarmCost]:
    """Per GPU pool with warm nodes: their cost at the pool's first tier."""
    firsts = {row.pool: row for row in capacity_rows(cfg) if row.order == 1}
    out = []
    for pool in cfg.gpu_pools:
        first = firsts.get(pool.name)
        if not pool.warm_nodes or first is None:
            continue
        reserved = pool.capacity_chain()[0].reserved
        out.append(WarmCost(
            pool=pool.name, nodes=pool.warm_nodes, instance_type=pool.instance_type or "", tier=first.tier,
            usd_per_node_hour=None if reserved is not None else first.usd_per_node_hour, ceiling=first.ceiling,
            reservation=reservation_text(reserved) if reserved is not None else "", estimate=first.estimate,
        ))
    return out
