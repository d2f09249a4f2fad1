"""Places: cloud-neutral names for where a cluster runs, mapped to each cloud's nearest
region in the catalog. A stack that says `region: us-east` lands in us-east-1 on AWS,
us-east4 on GCP and eastus on Azure. Data only; components/catalog/resolve.py reads it.

Metro areas per the providers' region lists (AWS "Regions and Availability Zones", Google
Cloud "Geography and regions", Azure "Azure geographies"):
us-east-1, us-east4, eastus: Northern Virginia.  us-east-2: Ohio (AWS's nearest to Iowa);
us-central1, centralus: Iowa.  us-west-2, us-west1: Oregon; westus3: Arizona (the catalog's
zonal Azure region nearest to Oregon).  eu-west-1: Ireland; europe-west4, westeurope: the
Netherlands.
ap-northeast-1, asia-northeast1: Tokyo.  asia-southeast1: Singapore.
A cloud without a region near a place has no entry for it; the config check says so.
"""

from __future__ import annotations

PLACES: dict[str, dict[str, str]] = {
    "us-east": {"aws": "us-east-1", "gcp": "us-east4", "azure": "eastus"},
    "us-central": {"aws": "us-east-2", "gcp": "us-central1", "azure": "centralus"},
    "us-west": {"aws": "us-west-2", "gcp": "us-west1", "azure": "westus3"},
    "europe-west": {"aws": "eu-west-1", "gcp": "europe-west4", "azure": "westeurope"},
    "asia-northeast": {"aws": "ap-northeast-1", "gcp": "asia-northeast1"},
    "asia-southeast": {"gcp": "asia-southeast1"},
}
