"""TPU slice pools in the preview: their table and cost lines, priced per chip-hour from the
catalog (components/catalog/tpus.py). A TPU chip-hour is billed with its host VM."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from rich.console import Console
from rich.markup import escape

from components.catalog import prices, tpus
from components.catalog.prices import HOURS_PER_MONTH
from components.config import StackConfig

from .cost import CostLine, _camel
from .fold import Col, print_table


@dataclass(frozen=True)
class TpuPoolCost:
    name: str
    generation: str
    topology: str
    machine_type: str
    chips_per_node: int
    nodes_per_slice: int
    min_nodes: int
    max_nodes: int
    spot: bool
    reservation: str
    usd_per_hour_min: float
    usd_per_hour_max: float
    price_basis: str
    price_region: str
    price_date: str

    @property
    def chips_max(self) -> int:
        return self.chips_per_node * self.max_nodes

    def to_json(self) -> dict:
        return {_camel(k): v for k, v in asdict(self).items()}


def tpu_pool_costs(cfg: StackConfig) -> list[TpuPoolCost]:
    out = []
    for pool in cfg.tpu_pools:
        tslice = tpus.tpu_slice(pool.generation, pool.topology)
        low, high = tpus.node_range(pool.generation, pool.topology, pool.min_slices, pool.max_slices)
        per_node = tslice.generation.usd_per_chip_hour * tslice.chips_per_vm
        out.append(TpuPoolCost(
            name=pool.name, generation=pool.generation, topology=pool.topology, machine_type=tslice.machine_type,
            chips_per_node=tslice.chips_per_vm, nodes_per_slice=tslice.nodes, min_nodes=low, max_nodes=high,
            spot=pool.spot, reservation=pool.reservation or "",
            usd_per_hour_min=round(per_node * low, 4), usd_per_hour_max=round(per_node * high, 4),
            price_basis=tpus.SPOT_PRICE_BASIS if pool.spot else "on-demand",
            price_region=tpus.PRICE_REGION, price_date=tpus.PRICE_DATE,
        ))
    return out


def tpu_cost_lines(cfg: StackConfig, costs: list[TpuPoolCost]) -> list[CostLine]:
    disk = prices.SERVICE_PRICES[cfg.cloud]["block-storage"]
    lines = []
    for c, pool in zip(costs, cfg.tpu_pools, strict=True):
        spot = " (spot: on-demand ceiling)" if c.spot else ""
        chips = c.chips_per_node
        lines.append(CostLine(f"TPU pool {c.name}: {c.min_nodes}-{c.max_nodes} x {c.machine_type} ({chips} {c.generation} chips each){spot}",
                              c.usd_per_hour_min, c.usd_per_hour_max, f"{tpus.PRICE_SOURCE}, {tpus.PRICE_DATE}"))
        per_node = disk.usd * pool.disk_gb / HOURS_PER_MONTH
        lines.append(CostLine(f"TPU pool {c.name}: node disks {pool.disk_gb} GB each",
                              round(per_node * c.min_nodes, 4), round(per_node * c.max_nodes, 4), disk.source))
    return lines


def _usd(value: float) -> str:
    return f"${value:,.2f}"


def print_tpu_pools(con: Console, costs: list[TpuPoolCost]) -> None:
    if not costs:
        return
    headers = ["pool", "TPU", "topology", "machine type", "chips", "nodes", "spot", "USD/h min", "USD/h max"]
    rows = []
    for c in costs:
        kind = "multi-host" if c.nodes_per_slice > 1 else "single-host"
        rows.append([escape(cell) for cell in (
            c.name, c.generation, f"{c.topology} ({kind})", c.machine_type, str(c.chips_max),
            f"{c.min_nodes}-{c.max_nodes}", "yes" if c.spot else "no", _usd(c.usd_per_hour_min), _usd(c.usd_per_hour_max),
        )])
    rows.append(["total", "", "", "", f"{sum(c.chips_max for c in costs)} max", "", "",
                 _usd(sum(c.usd_per_hour_min for c in costs)), _usd(sum(c.usd_per_hour_max for c in costs))])
    columns = [Col(h, justify="right" if h.startswith(("chips", "USD")) else "left") for h in headers]
    print_table(con, "TPU pools", columns, rows, title_justify="left")
