"""Cost estimate: GPU pools from the catalog's VM prices, plus everything else the stack
creates that components/catalog/prices.py can price, at the pools' minimum and maximum size."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Optional

from components import catalog
from components.catalog import prices, spot
from components.catalog.prices import HOURS_PER_MONTH
from components.config import GpuPool, StackConfig

from .capacity import reservation_text
from . import image_pull
from .warm import WarmCost, warm_costs
from .engine import Plan


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
    sharing: str = ""  # "time-slicing x4", "MIG 1g.10gb x7 (single)"; empty: whole GPUs
    # The pool's fabric (gpuPools[].interconnect resolved against the catalog); "" none.
    fabric: str = ""  # e.g. "EFA v2"
    fabric_nics: int = 0
    line_rate_gbps: int = 0
    expected_busbw_gbs: Optional[float] = None  # 2-node all_reduce_perf bus bandwidth, GB/s

    def to_json(self) -> dict:
        raw = asdict(self)
        return {_camel(k): v for k, v in raw.items()}


@dataclass(frozen=True)
class CostLine:
    item: str  # what is billed, e.g. "GPU pool h100", "NAT gateways (3)"
    usd_per_hour_min: float
    usd_per_hour_max: float
    source: str

    def to_json(self) -> dict:
        return {
            "item": self.item, "usdPerHourMin": self.usd_per_hour_min, "usdPerHourMax": self.usd_per_hour_max,
            "usdPerMonthMin": round(self.usd_per_hour_min * HOURS_PER_MONTH, 2),
            "usdPerMonthMax": round(self.usd_per_hour_max * HOURS_PER_MONTH, 2), "source": self.source,
        }


@dataclass
class StackCost:
    lines: list[CostLine] = field(default_factory=list)
    not_priced: list[str] = field(default_factory=list)
    warm: list[WarmCost] = field(default_factory=list)  # the pools' warm nodes (preview/warm.py)

    @property
    def hourly_min(self) -> float:
        return round(sum(line.usd_per_hour_min for line in self.lines), 4)

    @property
    def hourly_max(self) -> float:
        return round(sum(line.usd_per_hour_max for line in self.lines), 4)

    def to_json(self) -> dict:
        return {
            "lines": [line.to_json() for line in self.lines],
            "total": {
                "usdPerHourMin": self.hourly_min, "usdPerHourMax": self.hourly_max,
                "usdPerMonthMin": round(self.hourly_min * HOURS_PER_MONTH, 2),
                "usdPerMonthMax": round(self.hourly_max * HOURS_PER_MONTH, 2),
            },
            "notPriced": self.not_priced,
            "warmNodes": [w.to_json() for w in self.warm],
        }


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def sharing_text(pool) -> str:
    if pool.sharing is None:
        return ""
    if pool.sharing.time_slicing is not None:
        return f"time-slicing x{pool.sharing.time_slicing.replicas}"
    mig = pool.sharing.mig
    return f"MIG {mig.profile} x{prices.mig_instances(mig.profile)} ({mig.strategy})"


def fabric_fields(pool: GpuPool, cloud: str) -> dict:
    fabric = pool.fabric(cloud)
    if fabric is None:
        return {}
    return {"fabric": fabric.name, "fabric_nics": fabric.nics, "line_rate_gbps": fabric.line_rate_gbps,
            "expected_busbw_gbs": fabric.expected_busbw_gbs}


def fabric_text(name: str, nics: int, line_rate_gbps: int, busbw: Optional[float]) -> str:
    """`EFA v2, 32 NICs, 3,200 Gbit/s, 400 GB/s bus` or `no fabric`."""
    if not name:
        return "no fabric"
    return f"{name}, {nics} NICs, {line_rate_gbps:,} Gbit/s, {busbw:g} GB/s bus"


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
            # A pool whose chain starts with spot is priced at the catalog's spot reading
            # (components/catalog/spot.py, indicative: spot prices float); without one,
            # on-demand is the ceiling a spot pool can cost.
            reading = spot.spot_price(cfg.cloud, pool.instance_type) if pool.capacity_chain()[0].kind == "spot" else None
            if reading is not None:
                price, basis, date = reading.high, reading.basis, reading.read
            else:
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
                sharing=sharing_text(pool),
                **fabric_fields(pool, cfg.cloud),
            )
        )
    return out


def _disk_hourly(cloud: str, gb: int) -> float:
    price = prices.SERVICE_PRICES[cloud]["block-storage"]
    return price.usd * gb / HOURS_PER_MONTH


def stack_cost(cfg: StackConfig, plan: Plan, pools: Optional[list[PoolCost]] = None) -> StackCost:
    """Every billable item the plan creates that the catalog prices, and a list of the rest."""
    out = StackCost()
    if cfg.cloud == "existing":
        out.not_priced.append("the existing cluster: its nodes, control plane and storage are your own")
        return out
    cloud, cat = cfg.cloud, catalog.cloud(cfg.cloud)
    table = prices.SERVICE_PRICES[cloud]
    vm_source = f"VM list price, {cat.price_region}, {cat.price_date}"
    disk_source = table["block-storage"].source
    ephemeral = cloud == "azure"  # AKS pools here boot from ephemeral OS disks: no disk line
    created = {r.name for r in plan.resources}
    prefix = cfg.name_for(plan.stack)
    out.warm = warm_costs(cfg)
    warm = {w.pool: w for w in out.warm}

    for pc, pool in zip(pools if pools is not None else pool_costs(cfg), cfg.gpu_pools, strict=True):
        spot_read = pc.price_basis.startswith("spot, indicative")
        spot_note = " (spot, indicative)" if spot_read else " (spot: on-demand ceiling)" if pc.spot else ""
        out.lines.append(CostLine(f"GPU pool {pc.name}: {pc.min_nodes}-{pc.max_nodes} x {pc.instance_type}{spot_note}",
                                  pc.usd_per_hour_min or 0.0, pc.usd_per_hour_max or 0.0,
                                  pc.price_basis if spot_read else vm_source))
        if not ephemeral:
            out.lines.append(CostLine(f"GPU pool {pc.name}: node disks {pool.disk_gb} GB each",
                                      round(_disk_hourly(cloud, pool.disk_gb) * pool.min_nodes, 4),
                                      round(_disk_hourly(cloud, pool.disk_gb) * pool.max_nodes, 4), disk_source))
        throughput = image_pull.volume_throughput_usd_per_node_hour(cfg)
        if throughput:  # EKS parallel image pull: warm nodes count at the minimum, as they run beside it
            out.lines.append(CostLine(image_pull.volume_throughput_item(pc.name),
                                      round(throughput * (pool.min_nodes + pool.warm_nodes), 4),
                                      round(throughput * pool.max_nodes, 4), table["block-storage-throughput"].source))
        if pc.name in warm:
            # Kept up beside the pods the pool's minimum serves; at its maximum they are among maxNodes.
            out.lines.append(CostLine(warm[pc.name].item(), warm[pc.name].usd_per_hour, 0.0,
                                      f"{vm_source}, at the pool's first capacity tier"))
            if not ephemeral:  # a reservation holds instances, not their volumes
                out.lines.append(CostLine(f"GPU pool {pc.name}: warm node disks {pool.disk_gb} GB each",
                                          round(_disk_hourly(cloud, pool.disk_gb) * pool.warm_nodes, 4), 0.0, disk_source))
        for tier in pool.capacity_chain():
            res = tier.reserved
            if res is None:
                continue
            # A reservation bills while it is held, used or not; its size is not in the stack.
            what = reservation_text(res)
            if res.capacity_block:
                out.not_priced.append(f"Capacity Block {what} (GPU pool {pc.name}): paid up front at its purchase price")
            else:
                each = cat.instance_types[pool.instance_type].usd_per_hour
                out.not_priced.append(f"reservation {what} (GPU pool {pc.name}): billed while held, used or not, "
                                      f"at ${each:,.2f}/h per reserved {pool.instance_type}")
    system = cfg.system_pool
    system_type = system.instance_type or cat.default_system_instance_type
    price = cat.instance_types[system_type].usd_per_hour
    out.lines.append(CostLine(f"system pool: {system.min_nodes}-{system.max_nodes} x {system_type}",
                              round(price * system.min_nodes, 4), round(price * system.max_nodes, 4), vm_source))
    if not ephemeral:
        out.lines.append(CostLine(f"system pool: node disks {system.disk_gb} GB each",
                                  round(_disk_hourly(cloud, system.disk_gb) * system.min_nodes, 4),
                                  round(_disk_hourly(cloud, system.disk_gb) * system.max_nodes, 4), disk_source))
    for pool in cfg.cpu_pools:
        # A node group named for the pool, or (AKS node auto-provisioning) its NodePool.
        if not any(name in (f"{prefix}-{pool.name}", f"{prefix}-{pool.name}-nodepool") for name in created):
            out.not_priced.append(f"CPU pool {pool.name}: this backend does not create CPU pools yet")
            continue
        price = cat.instance_types[pool.instance_type].usd_per_hour
        out.lines.append(CostLine(f"CPU pool {pool.name}: {pool.min_nodes}-{pool.max_nodes} x {pool.instance_type}",
                                  round(price * pool.min_nodes, 4), round(price * pool.max_nodes, 4), vm_source))
        if not ephemeral:
            out.lines.append(CostLine(f"CPU pool {pool.name}: node disks {pool.disk_gb} GB each",
                                      round(_disk_hourly(cloud, pool.disk_gb) * pool.min_nodes, 4),
                                      round(_disk_hourly(cloud, pool.disk_gb) * pool.max_nodes, 4), disk_source))

    if cfg.tpu_pools:
        from .tpu import tpu_cost_lines, tpu_pool_costs  # preview/tpu.py builds on this module

        out.lines += tpu_cost_lines(cfg, tpu_pool_costs(cfg))
    _control_plane(out, cloud, plan, table)
    _network(out, cfg, plan, table)
    if cfg.platform.monitoring.enabled:
        gb = cfg.platform.monitoring.storage_gb
        hourly = round(prices.SERVICE_PRICES[cloud]["block-storage"].usd * gb / HOURS_PER_MONTH, 4)
        out.lines.append(CostLine(f"Prometheus volume: {gb} GB", hourly, hourly, disk_source))
    if cloud == "aws":
        keys = len(plan.by_type("aws:kms/key:Key"))
        if keys:
            hourly = round(table["kms-key"].usd * keys, 4)
            out.lines.append(CostLine(f"KMS key{'s' if keys != 1 else ''} ({keys})", hourly, hourly, table["kms-key"].source))
        if plan.by_type("aws:efs/fileSystem:FileSystem"):
            out.not_priced.append("EFS file system: billed per GB stored (about $0.30/GB-month, Standard)")
        out.not_priced.append("data transfer and NAT data processing: billed per GB")
        out.not_priced.append("CloudWatch control-plane logs: billed per GB ingested")
    elif cloud == "gcp":
        out.not_priced.append("network egress and Cloud NAT data processing: billed per GB")
    elif cloud == "azure":
        out.not_priced.append("Azure Files premium NFS shares (ml-shared): billed per provisioned GiB, at least 100 GiB per share")
        out.not_priced.append("Log Analytics ingestion: billed per GB")
        out.not_priced.append("the Standard load balancer AKS creates for outbound traffic: per rule and GB")
    _stores(out, plan)
    out.not_priced.append("persistent volumes your workloads claim: billed per GB as they are created")
    return out


# Object stores and registries (the model store, backups, images): billed per GB stored and
# per GB replicated or transferred, which a plan cannot know.
STORE_TYPES = {
    "aws:s3/bucket:Bucket": "S3 bucket",
    "gcp:storage/bucket:Bucket": "Cloud Storage bucket",
    "azure-native:storage:StorageAccount": "storage account",
    "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate": "ECR repositories",
    "gcp:artifactregistry/repository:Repository": "Artifact Registry repository",
    "azure-native:containerregistry:Registry": "container registry (its SKU's daily fee too)",
}


def _stores(out: StackCost, plan: Plan) -> None:
    for type_, label in STORE_TYPES.items():
        n = len(plan.by_type(type_))
        if n:
            what = label if n == 1 or label.endswith("repositories") else f"{label}s ({n})"
            out.not_priced.append(f"{what}: billed per GB stored, replicated and transferred")


def _control_plane(out: StackCost, cloud: str, plan: Plan, table: dict) -> None:
    if cloud == "azure":
        for r in plan.by_type("azure-native:containerservice:ManagedCluster"):
            tier = ((r.inputs.get("sku") or {}).get("tier") or "Free").lower()
            price = table["control-plane-standard" if tier == "standard" else "control-plane-free"]
            out.lines.append(CostLine(f"AKS control plane ({tier.title()} tier)", price.usd, price.usd, price.source))
        return
    clusters = plan.by_type("aws:eks/cluster:Cluster" if cloud == "aws" else "gcp:container/cluster:Cluster")
    if clusters:
        price = table["control-plane"]
        label = "EKS control plane" if cloud == "aws" else "GKE cluster management fee"
        out.lines.append(CostLine(label, price.usd * len(clusters), price.usd * len(clusters), price.source))


def _network(out: StackCost, cfg: StackConfig, plan: Plan, table: dict) -> None:
    cloud = cfg.cloud
    if cloud == "aws":
        nats = len(plan.by_type("aws:ec2/natGateway:NatGateway"))
        if nats:
            hourly = round(table["nat-gateway"].usd * nats, 4)
            out.lines.append(CostLine(f"NAT gateway{'s' if nats != 1 else ''} ({nats})", hourly, hourly, table["nat-gateway"].source))
    elif cloud == "gcp" and plan.by_type("gcp:compute/routerNat:RouterNat"):
        nodes_min = cfg.system_pool.min_nodes + sum(p.min_nodes for p in cfg.gpu_pools)
        nodes_max = cfg.system_pool.max_nodes + sum(p.max_nodes for p in cfg.gpu_pools)
        per_vm, cap = table["nat-gateway-per-vm"].usd, table["nat-gateway-cap"].usd
        out.lines.append(CostLine("Cloud NAT (per VM using it)", round(min(per_vm * nodes_min, cap), 4),
                                  round(min(per_vm * nodes_max, cap), 4), table["nat-gateway-per-vm"].source))
    balancers = [
        r for r in plan.by_type("kubernetes:core/v1:Service")
        if (r.inputs.get("spec") or {}).get("type") == "LoadBalancer"
    ]
    if balancers:
        hourly = round(table["load-balancer"].usd * len(balancers), 4)
        n = len(balancers)
        out.lines.append(CostLine(f"load balancer{'s' if n != 1 else ''} ({n})", hourly, hourly, table["load-balancer"].source))
