"""Catalog rows a cost estimate and a GPU budget depend on, pinned to their public sources.

docs/config.md's GPU table and policies/rules/catalog_data.py are generated from the catalog,
so they follow any edit; these rows do not. A changed price or GPU count must change here
too, with the source it was read from.
"""

from __future__ import annotations

import pytest

from components import catalog

# (cloud, instance type, GPU model key, GPUs per node, on-demand USD/h in the price region)
# AWS: EC2 instance types pages (accelerated computing) and EC2 On-Demand pricing, us-east-1,
#      Linux, read 2026-10-01 (P family after AWS's June 2025 price reduction).
# GCP: Compute Engine GPU machine types (accelerator-optimized A2/A3, G2) and VM pricing,
#      us-central1, read 2026-10-01.
# Azure: NC/ND series sizes pages and Linux VM pricing, eastus, read 2026-10-01.
REFERENCE = [
    ("aws", "g6.xlarge", "l4", 1, 0.8048),
    ("aws", "g6e.xlarge", "l40s", 1, 1.861),
    ("aws", "p4d.24xlarge", "a100", 8, 21.9576),
    ("aws", "p5.48xlarge", "h100", 8, 55.04),
    ("aws", "p5en.48xlarge", "h200", 8, 63.296),
    ("gcp", "g2-standard-4", "l4", 1, 0.7068),
    ("gcp", "a2-highgpu-1g", "a100", 1, 3.6734),
    ("gcp", "a3-highgpu-8g", "h100", 8, 88.2539),
    ("azure", "Standard_NC4as_T4_v3", "t4", 1, 0.526),
    ("azure", "Standard_NC24ads_A100_v4", "a100-80gb", 1, 3.673),
    ("azure", "Standard_ND96isr_H100_v5", "h100", 8, 98.32),
]


@pytest.mark.parametrize("cloud, name, gpu, gpus, usd", REFERENCE, ids=[r[1] for r in REFERENCE])
def test_catalog_row_matches_its_source(cloud, name, gpu, gpus, usd):
    row = catalog.cloud(cloud).instance_types[name]
    assert (row.gpu, row.gpus, row.usd_per_hour) == (gpu, gpus, usd)


def test_price_reference_regions_and_date():
    assert {c: (cat.price_region, cat.price_date) for c, cat in catalog.CLOUDS.items()} == {
        "aws": ("us-east-1", "2026-10-01"), "gcp": ("us-central1", "2026-10-01"), "azure": ("eastus", "2026-10-01")}
