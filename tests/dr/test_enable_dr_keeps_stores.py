"""Turning `dr` on for an existing stack keeps every store it already has: the same URN and
the same physical name, so Pulumi updates them in place instead of moving the stack to new,
empty stores (and leaving the data behind, unreplicated)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from preview import engine
from tests.conftest import inputs

# Each cloud's stateful stores and the input that is their physical name.
STORES = {
    "aws": {"aws:s3/bucket:Bucket": "bucket", "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate": "prefix"},
    "gcp": {"gcp:storage/bucket:Bucket": "name", "gcp:artifactregistry/repository:Repository": "repositoryId"},
    "azure": {"azure-native:storage:StorageAccount": "accountName", "azure-native:containerregistry:Registry": "registryName",
              "azure-native:storage:BlobContainer": "containerName"},
}


def plan(stack: str, dr: bool) -> engine.Plan:
    values, secrets = engine.read_stack_config(stack)
    if not dr:
        values.pop(f"{engine.PROJECT}:dr")
    return engine.run_program(stack, values, secrets)


def stores(p: engine.Plan, cloud: str) -> dict[str, str]:
    return {r.urn: inputs(r)[field] for type_, field in STORES[cloud].items() for r in p.by_type(type_)}


@pytest.mark.parametrize("cloud", sorted(STORES))
def test_enabling_dr_keeps_each_store_and_its_name(cloud):
    stack = f"prod-{cloud}"
    without, with_dr = stores(plan(stack, False), cloud), stores(plan(stack, True), cloud)
    assert without, f"{stack} without dr has no stores"
    kept = {urn: name for urn, name in with_dr.items() if urn in without}
    assert kept == without, "a store changes its URN or physical name when dr is turned on"


def test_the_docs_say_what_enabling_dr_does_to_existing_objects():
    text = (Path(__file__).resolve().parents[2] / "docs" / "disaster-recovery.md").read_text()
    section = text.split("## Turning DR on for an existing stack", 1)[1].split("\n## ", 1)[0]
    # The GCP bucket's location changes (single region -> dual-region): a replacement
    # that `protect` refuses; and replication copies only objects written afterwards.
    for fact in ("custom_placement_config", "Batch Replication", "only new"):
        assert fact in section, fact
    json.dumps(section)
