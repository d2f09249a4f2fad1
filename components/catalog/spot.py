"""Spot prices per GPU instance type, where a public source gives them, for the preview's
capacity chain and cost (preview/capacity.py, preview/cost.py).

Spot prices float: EC2 moves them per Availability Zone with supply and demand at any time,
GCP changes Spot VM prices up to once a day, Azure's spot prices vary per region and size.
Every figure here is a single reading, indicative only, and the on-demand price stays the
ceiling a spot node can cost (EC2's default maximum price is the on-demand price; Azure's
default max price -1 is the pay-as-you-go price). Like the on-demand prices, they are for the
cloud's price reference region (catalog `price_region`).

What the public sources give, and how firm each is:
- AWS: EC2 publishes no static spot price list. The Spot pricing page
  (aws.amazon.com/ec2/spot/pricing/) renders a live feed (the lowest price per type in a
  region), and the history is per Availability Zone through the console or the
  DescribeSpotPriceHistory API, which needs an account. The figures below are the us-east-1
  rows of skypilot-org/skypilot-catalog catalogs/v7/aws/vms.csv (commit 001367d2, a scheduled
  fetch of DescribeSpotPriceHistory by that project), read 2026-12-06: `low`/`high` are the
  cheapest and dearest Availability Zone in that reading. The stored copy carries no date.
  Its on-demand column matches this catalog's (2026-10-01) for the g6 and g6e types below, but
  shows p4d.24xlarge at $32.77 and p5.48xlarge at $98.32, the prices before AWS's June 2025
  cut, so it is older than that cut: P types are left out, and the G figures are indicative.
- GCP: Compute Engine publishes Spot VM prices per region on cloud.google.com/spot-vms/pricing
  (per vCPU, GB of memory and GPU). The stored copies of that page read here show the vCPU and
  memory rates but not the GPU rates, so no GCP machine type has a spot figure yet.
- Azure: spot prices are in the retail prices (prices.azure.com, "Spot" meters) and on the
  Linux VM pricing page; no stored copy of either was available here, so no Azure size has a
  spot figure yet.
Where no figure exists the preview shows the on-demand price as the spot tier's ceiling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

SPOT_VARIES = "spot prices float (per zone, with supply and demand); this is one reading, indicative"


@dataclass(frozen=True)
class SpotPrice:
    """One reading of a type's spot price in the cloud's price reference region, USD per node-hour."""

    low: float  # the cheapest zone in the reading
    high: float  # the dearest zone: what the preview prices a spot node at
    region: str
    source: str
    read: str  # the date the figure was read (ISO)

    @property
    def basis(self) -> str:
        """How the preview names the figure's basis, e.g. in the cost estimate."""
        return f"spot, indicative ({self.region} zones ${self.low:,.2f}-${self.high:,.2f}; {self.source}, read {self.read})"


_AWS_SOURCE = "skypilot-org/skypilot-catalog catalogs/v7/aws/vms.csv commit 001367d2 (EC2 spot price history), undated"
_AWS_READ = "2026-12-06"


def _aws(low: float, high: float) -> SpotPrice:
    return SpotPrice(low, high, "us-east-1", _AWS_SOURCE, _AWS_READ)


# (cloud, instance type) -> its spot price in the cloud's price reference region.
SPOT_PRICES: dict[tuple[str, str], SpotPrice] = {
    # us-east-1, per zone in the reading (use1-az1, az2, az4, az6).
    ("aws", "g6.xlarge"): _aws(0.3879, 0.4173),
    ("aws", "g6.2xlarge"): _aws(0.3689, 0.4520),
    ("aws", "g6.48xlarge"): _aws(2.9627, 4.0711),
    ("aws", "g6e.12xlarge"): _aws(4.2359, 6.0265),
    ("aws", "g6e.48xlarge"): _aws(6.5237, 10.8041),
}


def spot_price(cloud: str, instance_type: str) -> Optional[SpotPrice]:
    """The catalog's spot reading for a type, or None where no public source gave one."""
    return SPOT_PRICES.get((cloud, instance_type))
