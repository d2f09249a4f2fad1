"""The preview's capacity tables: each GPU pool's capacity chain with its provisioner and
prices, and the quotas the stack's most GPUs need against a new account's defaults.

Prices per node and hour come from the catalog (on-demand list prices in the cloud's price
region). A reservation is billed at the on-demand rate for as long as it is held, used or not
(EC2 On-Demand Capacity Reservations, GCP reservations, Azure capacity reservations); a
Capacity Block's price is set when it is bought, so the catalog cannot know it. Spot prices
move with the market: where the catalog has a reading for the type (components/catalog/spot.py)
the spot tier shows it as `~$` (the dearest zone of that reading, indicative); elsewhere the
on-demand price is its ceiling (EC2's default maximum spot price, Azure's default max price -1;
GCP's Spot VMs list below it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional

from rich.console import Console
from rich.markup import escape

from components import catalog
from components.catalog import quotas, spot
from components.config import StackConfig, pool_provisioners

from .fold import Col, print_line, print_table

BILLED = {
    "reserved": "while the reservation is held, used or not",
    "capacityBlock": "paid up front for the block's window",
    "spot": "per node running, at the market price (reclaimable)",
    "onDemand": "per node running",
    "flexStart": "per node running, at the flex-start price (at most 7 days a node)",
}
# GKE DWS flex-start pools (gcp.flexStartPools, components/clouds/gcp/capacity.py): their one
# tier is flex-start, priced below on-demand (the catalog keeps no flex-start price, so the
# on-demand price is its ceiling), and drawn from the preemptible GPU quota, as spot is
# (GCP Cluster Director docs, "Obtain capacity": flex-start needs preemptible quota).
FLEX_START = "flex-start (DWS, queued)"


def reservation_text(res) -> str:
    """How the preview names a reservation: an Azure capacity reservation group by its name and
    resource group (its full resource id does not fit a terminal), any other by its id or name."""
    if res.id and res.id.lower().startswith("/subscriptions/"):
        parts = res.id.split("/")
        return f"group {parts[-1]} (resource group {parts[4]})"
    return res.id or res.name or "?"


def tier_text(tier) -> str:
    """How the capacity table names a tier (reservations as reservation_text says)."""
    res = tier.reserved
    if res is not None and res.id and res.id.lower().startswith("/subscriptions/"):
        return f"reserved {reservation_text(res)}"
    return tier.label()


def _flex_start(cfg: StackConfig, pool_name: str) -> bool:
    return cfg.cloud == "gcp" and cfg.gcp is not None and pool_name in cfg.gcp.flex_start_pools


@dataclass(frozen=True)
class TierRow:
    pool: str
    provisioner: str
    order: int
    tier: str  # as the preview names it: "reserved cr-... (Capacity Block)", "spot", "on-demand"
    usd_per_node_hour: Optional[float]  # None: not known (a Capacity Block)
    ceiling: bool  # the price is a ceiling (spot), not the rate
    billed: str
    # A spot reading from the catalog (components/catalog/spot.py): indicative, it floats.
    estimate: bool = False

    def price_text(self) -> str:
        if self.usd_per_node_hour is None:
            return "set at purchase"
        return f"{'<= ' if self.ceiling else '~' if self.estimate else ''}${self.usd_per_node_hour:,.2f}"

    def to_json(self) -> dict:
        doc = asdict(self)
        return {"pool": doc["pool"], "provisioner": doc["provisioner"], "order": doc["order"], "tier": doc["tier"],
                "usdPerNodeHour": doc["usd_per_node_hour"], "ceiling": doc["ceiling"], "estimate": doc["estimate"],
                "billed": doc["billed"]}


def capacity_rows(cfg: StackConfig) -> list[TierRow]:
    """One row per tier of every GPU pool, in the order the pool's provisioner tries them."""
    if cfg.cloud == "existing":
        return []
    cat = catalog.cloud(cfg.cloud)
    provisioners = pool_provisioners(cfg)
    rows = []
    for pool in cfg.gpu_pools:
        price = cat.instance_types[pool.instance_type].usd_per_hour
        if _flex_start(cfg, pool.name):
            rows.append(TierRow(pool=pool.name, provisioner=provisioners[pool.name], order=1, tier=FLEX_START,
                                usd_per_node_hour=price, ceiling=True, billed=BILLED["flexStart"]))
            continue
        reading = spot.spot_price(cfg.cloud, pool.instance_type)
        for i, tier in enumerate(pool.capacity_chain(), start=1):
            block = tier.reserved is not None and tier.reserved.capacity_block
            kind = "capacityBlock" if block else tier.kind
            spot_reading = reading if tier.kind == "spot" else None
            rows.append(TierRow(
                pool=pool.name, provisioner=provisioners[pool.name], order=i, tier=tier_text(tier),
                usd_per_node_hour=None if block else spot_reading.high if spot_reading else price,
                ceiling=tier.kind == "spot" and spot_reading is None, billed=BILLED[kind], estimate=spot_reading is not None,
            ))
    return rows


@dataclass(frozen=True)
class QuotaRow:
    cloud: str
    quota: str  # the console's name
    code: str
    region: str  # "" for a quota of the whole project
    unit: str
    needed: int
    default: int
    pools: tuple[str, ...]
    # What states `default` (components/catalog/quotas.py), or why it is an assumption.
    default_source: str = ""

    @property
    def increase(self) -> bool:
        return self.needed > self.default

    @property
    def assumed(self) -> bool:
        return self.default_source.startswith(quotas.UNSOURCED)

    def to_json(self) -> dict:
        return {"cloud": self.cloud, "quota": self.quota, "code": self.code, "region": self.region or None, "unit": self.unit,
                "needed": self.needed, "newAccountDefault": self.default, "newAccountDefaultSource": self.default_source,
                "pools": list(self.pools), "requestIncrease": self.increase}


def quota_rows(cfg: StackConfig) -> list[QuotaRow]:
    """Per quota and region, the most the stack's GPU pools can draw at their maximum sizes:
    every tier a pool may fall back to can take the whole pool, so each needs its maximum."""
    if cfg.cloud == "existing" or cfg.region is None:
        return []
    cat = catalog.cloud(cfg.cloud)
    needed: dict[quotas.Quota, int] = {}
    pools: dict[quotas.Quota, list[str]] = {}

    def add(quota: quotas.Quota, value: int, pool: str) -> None:
        needed[quota] = needed.get(quota, 0) + value
        pools.setdefault(quota, [])
        if pool not in pools[quota]:
            pools[quota].append(pool)

    for pool in cfg.gpu_pools:
        itype = cat.instance_types[pool.instance_type]
        for tier in pool.capacity_chain():
            quota = quotas.quota_for(cfg.cloud, itype, "spot" if _flex_start(cfg, pool.name) else tier.kind)
            if quota is not None:
                add(quota, quotas.amount(quota, itype, pool.max_nodes), pool.name)
        if cfg.cloud == "gcp" and any(t.kind != "reserved" for t in pool.capacity_chain()):
            add(quotas.GCP_ALL_REGIONS, pool.max_nodes * itype.gpus, pool.name)
    return [
        QuotaRow(q.cloud, q.name, q.code, cfg.region if q.regional else "", q.unit, needed[q], q.default, tuple(pools[q]),
                 q.default_source)
        for q in needed
    ]


def print_capacity(con: Console, rows: list[TierRow]) -> None:
    if not rows:
        return
    columns = [Col("pool"), Col("provisioner"), Col("#", justify="right"), Col("tier", wrap=True),
               Col("USD/h per node", justify="right"), Col("billed", wrap=True)]
    body, last = [], None
    for r in rows:
        first = r.pool != last
        body.append([escape(r.pool) if first else "", escape(r.provisioner) if first else "", str(r.order), escape(r.tier),
                     escape(r.price_text()), escape(r.billed)])
        last = r.pool
    print_table(con, "capacity (each pool's tiers, tried in order)", columns, body, title_justify="left")


def print_quotas(con: Console, rows: list[QuotaRow]) -> None:
    if not rows:
        return
    columns = [Col("quota", wrap=True), Col("region"), Col("needed", justify="right"), Col("new account", justify="right"),
               Col("pools", wrap=True)]
    body = [[escape(f"{r.quota} ({r.code})"), escape(r.region or "all regions"), f"{r.needed} {r.unit}", f"{r.default} {r.unit}",
             escape(", ".join(r.pools))] for r in rows]
    print_table(con, "quotas at the pools' maximum sizes", columns, body, title_justify="left")
    for r in rows:
        if r.increase:
            where = f"in {r.region}" if r.region else "for the project"
            has = f"a new account is assumed to have {r.default}" if r.assumed else f"a new account has {r.default}"
            print_line(con, f"  request before `pulumi up`: {r.quota} ({r.code}) {where} to at least {r.needed} {r.unit} "
                            f"({has})", markup=False)


def capacity_json(cfg: StackConfig) -> dict:
    """The `capacity` block of `--json`: the tiers and the quotas."""
    return {"tiers": [r.to_json() for r in capacity_rows(cfg)], "quotas": [r.to_json() for r in quota_rows(cfg)]}
