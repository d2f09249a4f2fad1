"""GPU pool cost estimate from the catalog's on-demand prices."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional

from components import catalog
from components.config import StackConfig


@dataclass(frozen=True)
class PoolCost:
    name: str
    cloud: str
    instance_type: str
    gpu_model: str
    gpus_per_node: int
    min_nodes: int
    max_nodes: int
    spot: bool
    usd_per_hour_min: Optional[float]
    usd_per_hour_max: Optional[float]
    price_basis: str
    price_region: Optional[str]
    price_date: Optional[str]

    def to_json(self) -> dict:
        raw = asdict(self)
        return {_camel(k): v for k, v in raw.items()}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def pool_costs(cfg: StackConfig) -> list[PoolCost]:
    out = []
    for pool in cfg.gpu_pools:
        if cfg.cloud == "existing":
            itype = catalog.find_instance_type(pool.instance_type)
            assert itype is not None, pool.instance_type  # config validation checked it
            price = region = date = None
            basis = "own hardware"
        else:
            cat = catalog.cloud(cfg.cloud)
            itype = cat.instance_types[pool.instance_type]
            price, region, date = itype.usd_per_hour, cat.price_region, cat.price_date
            # Spot prices move hourly; on-demand is the ceiling a spot pool can cost.
            basis = "spot, on-demand ceiling" if pool.spot else "on-demand"
        out.append(
            PoolCost(
                name=pool.name,
                cloud=cfg.cloud,
                instance_type=pool.instance_type,
                gpu_model=catalog.gpu_model(itype.gpu).name if itype.gpu else "",
                gpus_per_node=itype.gpus,
                min_nodes=pool.min_nodes,
                max_nodes=pool.max_nodes,
                spot=pool.spot,
                usd_per_hour_min=None if price is None else round(price * pool.min_nodes, 4),
                usd_per_hour_max=None if price is None else round(price * pool.max_nodes, 4),
                price_basis=basis,
                price_region=region,
                price_date=date,
            )
        )
    return out
