"""Parallel image pull on a GPU pool, read from the plan (preview/ready.py cold_starts).

A pool pulls images in parallel when the user data its nodes boot with turns nodeadm's
`FastImagePull` gate on: the launch template a node group depends on, or the EC2NodeClass a
Karpenter NodePool depends on (components/catalog/timings.py PARALLEL_PULL_INPUTS). The user
data is read as nodeadm reads it (awslabs/amazon-eks-ami v20260724 nodeadm/doc/examples.md): a
MIME multi-part document whose `application/node.eks.aws` parts are NodeConfigs, or a NodeConfig
on its own (what Karpenter takes); a launch template holds it base64-encoded.
"""

from __future__ import annotations

import base64
import binascii
import email
from typing import Any, Iterable

import yaml

from components.catalog import timings
from components.catalog.prices import HOURS_PER_MONTH
from components.clouds.aws import coldstart
from components.clouds.aws.coldstart import FEATURE_GATE, NODECONFIG_CONTENT_TYPE
from components.config import StackConfig

from .engine import PlannedResource, input_at



def _decoded(user_data: str) -> str:
    """The user data as text: base64 (a launch template's) decoded, anything else as is."""
    try:
        text = base64.b64decode(user_data, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return user_data
    return text if text.lstrip().startswith(("MIME-Version", "---", "apiVersion")) else user_data


def _node_configs(text: str) -> list[dict]:
    """The NodeConfig documents in user data: each NodeConfig part of a MIME document, or the
    text itself as YAML."""
    if text.lstrip().startswith("MIME-Version"):
        message = email.message_from_string(text)
        parts = [p.get_payload() for p in message.walk() if p.get_content_type() == NODECONFIG_CONTENT_TYPE]
    else:
        parts = [text]
    docs: list[dict] = []
    for part in parts:
        try:
            docs += [d for d in yaml.safe_load_all(part) if isinstance(d, dict) and d.get("kind") == "NodeConfig"]
        except yaml.YAMLError:
            continue
    return docs


def gate_on(user_data: Any) -> bool:
    """Whether user data turns FastImagePull on (the last NodeConfig that sets it wins, as nodeadm merges)."""
    if not isinstance(user_data, str):
        return False
    value = None
    for doc in _node_configs(_decoded(user_data)):
        gates = input_at(doc, "spec.featureGates")
        if isinstance(gates, dict) and FEATURE_GATE in gates:
            value = gates[FEATURE_GATE]
    return value is True


def parallel_pull(pool: PlannedResource, resources: Iterable[PlannedResource]) -> bool:
    """Whether the node pool resource `pool` boots its nodes with parallel image pull."""
    holder = timings.PARALLEL_PULL_INPUTS.get(pool.type)
    if holder is None:
        return False
    type_, path = holder
    deps = set(pool.dependencies)
    return any(r.type == type_ and r.urn in deps and gate_on(input_at(r.inputs, path)) for r in resources)


def volume_throughput_usd_per_node_hour(cfg: StackConfig) -> float:
    """What the GPU pools' root-volume throughput for parallel pull adds per node and hour (EKS
    with `aws.parallelImagePull`, its default; components/clouds/aws/coldstart.py), else 0."""
    if cfg.cloud != "aws" or not cfg.settings("aws").parallel_image_pull:
        return 0.0
    return coldstart.monthly_usd_per_node() / HOURS_PER_MONTH


def volume_throughput_item(pool: str) -> str:
    """The cost table's row for a pool's extra root-volume throughput."""
    extra = coldstart.ROOT_VOLUME_THROUGHPUT_MIBPS - coldstart.GP3_INCLUDED_THROUGHPUT_MIBPS
    return f"GPU pool {pool}: root volume throughput +{extra} MiB/s each (parallel image pull)"
