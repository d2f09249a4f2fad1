"""The TPU catalog (components/catalog/tpus.py): slices worked out from topologies, rows
that match their sources, and docs/gcp.md's TPU table drawn from it.

Sources: cloud.google.com/tpu/docs/v5e, v5p, v6e ("Configurations": topology, chips, VMs,
machine type per topology); GoogleCloudPlatform/cluster-toolkit
modules/internal/tpu-definition/main.tf (tpu_chip_count_map: chips per machine type;
tpu_accelerator_map: the GKE accelerator label per machine family)."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.catalog import tpus

DOCS = Path(__file__).resolve().parents[2] / "docs" / "gcp.md"

# cluster-toolkit tpu_chip_count_map and tpu_accelerator_map, for the machine types we use.
CHIPS_PER_MACHINE = {
    "ct5lp-hightpu-1t": 1, "ct5lp-hightpu-4t": 4, "ct5lp-hightpu-8t": 8,
    "ct5p-hightpu-4t": 4,
    "ct6e-standard-1t": 1, "ct6e-standard-4t": 4, "ct6e-standard-8t": 8,
}
ACCELERATOR_PER_FAMILY = {"ct5lp": "tpu-v5-lite-podslice", "ct5p": "tpu-v5p-slice", "ct6e": "tpu-v6e-slice"}


def doc_rows() -> list[str]:
    """docs/gcp.md's TPU table rows, one per generation."""
    rows = []
    for gen in tpus.TPU_GENERATIONS.values():
        single = ", ".join(f"{t} ({m})" for t, m in gen.single_host.items())
        zones = "; ".join(f"{r}: {', '.join(z)}" for r, z in sorted(gen.zones.items()))
        rows.append(f"| `{gen.key}` ({gen.name}) | `{gen.accelerator}` | {single} | {', '.join(gen.multi_host)} "
                    f"({gen.multi_host_machine_type}) | {zones} | ${gen.usd_per_chip_hour:.2f} |")
    return rows


@pytest.mark.parametrize("key", sorted(tpus.TPU_GENERATIONS))
def test_every_machine_type_holds_the_chips_its_topology_needs(key):
    gen = tpus.TPU_GENERATIONS[key]
    for topology, machine in gen.single_host.items():
        assert CHIPS_PER_MACHINE[machine] == tpus.chips(topology), (topology, machine)
        assert ACCELERATOR_PER_FAMILY[machine.split("-")[0]] == gen.accelerator
    assert CHIPS_PER_MACHINE[gen.multi_host_machine_type] == gen.multi_host_chips_per_vm
    for topology in gen.multi_host:
        tslice = tpus.tpu_slice(key, topology)
        # Whole VMs, more than one: nodes = chips / chips per VM.
        assert tslice.chips % gen.multi_host_chips_per_vm == 0 and tslice.nodes == tslice.chips // 4 > 1


def test_slices_from_the_sources_tables():
    # v5e 4x4: 16 chips, 4 VMs of ct5lp-hightpu-4t; v6e 16x16: 256 chips, 64 VMs;
    # v5p 2x2x2: 8 chips, 2 VMs; v5p 2x2x1: one VM (docs "Configurations" tables).
    assert (tpus.tpu_slice("v5e", "4x4").nodes, tpus.tpu_slice("v5e", "4x4").machine_type) == (4, "ct5lp-hightpu-4t")
    assert (tpus.tpu_slice("v6e", "16x16").chips, tpus.tpu_slice("v6e", "16x16").nodes) == (256, 64)
    assert (tpus.tpu_slice("v5p", "2x2x2").chips, tpus.tpu_slice("v5p", "2x2x2").nodes) == (8, 2)
    assert not tpus.tpu_slice("v5p", "2x2x1").multi_host


def test_node_range_is_slices_for_single_host_and_none_or_all_for_multi_host():
    assert tpus.node_range("v6e", "2x4", 1, 3) == (1, 3)
    assert tpus.node_range("v5e", "4x4", 0, 1) == (0, 4)
    assert tpus.node_range("v5e", "4x4", 1, 1) == (4, 4)


def test_docs_gcp_tpu_table_is_the_catalog():
    text = DOCS.read_text(encoding="utf-8")
    head = "| generation | GKE accelerator label |"
    start = text.index(head)
    table = text[start:].split("\n\n", 1)[0].splitlines()
    assert table[2:] == doc_rows()


if __name__ == "__main__":
    print("\n".join(doc_rows()))
