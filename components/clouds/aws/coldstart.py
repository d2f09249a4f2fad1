"""GPU cold start on EKS: parallel image pull and unpack (SOCI snapshotter) on GPU pools.

The EKS-optimized AL2023 AMIs (the NVIDIA variant our GPU node groups and Karpenter pools boot)
ship the SOCI snapshotter; nodeadm's `FastImagePull` feature gate makes containerd pull an
image's layers in parallel chunks and unpack them in parallel through it. Lazy loading (SOCI
indexes pushed beside each image) is a different mode and not used here. On by default for GPU
pools; `aws.parallelImagePull: false` turns it off for a stack (docs/aws.md#gpu-cold-start).

Upstream facts this relies on (awslabs/amazon-eks-ami at v20260724, the AMI release line the
node groups follow through the SSM `recommended` parameter, cluster.py ami_release_parameter):
- nodeadm/doc/examples.md "Enabling fast image pull (experimental)": the gate is set in a
  NodeConfig (`spec.featureGates.FastImagePull: true`); it is ignored below a vCPU and memory
  threshold; at least 600 MiB/s of root-volume throughput is recommended (below that pulls may
  be slower), up to 1000 MiB/s and 16k IOPS may help.
- nodeadm/internal/api/featuregates.go: the gate defaults to false;
  nodeadm/internal/containerd/config.go UseSOCISnapshotter: used only with >= 4 vCPUs
  (4000 millicores) and >= 7 GiB of memory the kernel reports.
- nodeadm/internal/containerd/snapshotter/soci-snapshotter.config.toml: the settings nodeadm
  writes (parallel_pull_unpack on, 16mb chunks, 20 downloads and 12 unpacks per image,
  unpacked layers discarded); we keep them.
- nodeadm/doc/examples.md "Merging multiple configuration objects": nodeadm merges every
  NodeConfig of a MIME multi-part user data, so our part (the gate only) sits beside the one EKS
  writes for a managed node group with an EKS AMI type.
- templates/al2023/provisioners/install-worker.sh: the AMI installs and enables soci-snapshotter.
Karpenter (aws/karpenter-provider-aws v1.14.1, website/content/en/docs/concepts/nodeclasses.md
"spec.userData" / AL2023): userData may be a NodeConfig; Karpenter wraps it in a MIME part after
its own generated NodeConfig (whose values win for cluster, kubelet, labels and taints, none of
which we set). The EC2NodeClass CRD (pkg/apis/crds/karpenter.k8s.aws_ec2nodeclasses.yaml) takes
`ebs.throughput` (125-1000 MiB/s) and `ebs.iops` (gp3: 3000-16000).
pulumi-aws 7.51.1 ec2.LaunchTemplate: `user_data` is base64-encoded; block_device_mappings[].ebs
`throughput` (gp3, MiB/s, max 1000) and `iops`.
"""

from __future__ import annotations

import base64
from typing import Any

import yaml

from ...catalog import prices

FEATURE_GATE = "FastImagePull"
NODECONFIG_API = "node.eks.aws/v1alpha1"
NODECONFIG_CONTENT_TYPE = "application/node.eks.aws"
BOUNDARY = "ml-clusters"
# nodeadm's threshold (containerd/config.go UseSOCISnapshotter): below it the gate is ignored.
MIN_VCPUS = 4
MIN_MEMORY_GIB = 7
# The GPU pools' root volume (gp3): nodeadm's recommended minimum throughput; IOPS at gp3's
# included baseline, which allows up to 0.25 MiB/s per IOPS (750 MiB/s), so 600 is valid. The
# Karpenter blueprint (aws-samples/karpenter-blueprints blueprints/soci-snapshotter/README.md)
# names 600 MiB/s with the base 3000 IOPS as its benchmarks' starting point.
ROOT_VOLUME_THROUGHPUT_MIBPS = 600
ROOT_VOLUME_IOPS = 3000
# gp3 pricing (components/catalog/prices.py, from https://aws.amazon.com/ebs/pricing/): 3000 IOPS
# and 125 MiB/s included; provisioned throughput above that billed per MiB/s-month.
GP3_INCLUDED_THROUGHPUT_MIBPS = 125
GP3_USD_PER_MIBPS_MONTH = prices.SERVICE_PRICES["aws"]["block-storage-throughput"].usd


def node_config() -> str:
    """The NodeConfig that turns the gate on (nothing else: EKS or Karpenter supply the cluster)."""
    doc = {"apiVersion": NODECONFIG_API, "kind": "NodeConfig", "spec": {"featureGates": {FEATURE_GATE: True}}}
    return "---\n" + yaml.safe_dump(doc, sort_keys=False)


def launch_template_user_data() -> str:
    """A node group's launch template user data: a MIME multi-part document with the NodeConfig
    part, base64-encoded as the launch template takes it."""
    mime = (
        "MIME-Version: 1.0\n"
        f'Content-Type: multipart/mixed; boundary="{BOUNDARY}"\n\n'
        f"--{BOUNDARY}\n"
        f"Content-Type: {NODECONFIG_CONTENT_TYPE}\n\n"
        f"{node_config()}\n"
        f"--{BOUNDARY}--\n"
    )
    return base64.b64encode(mime.encode()).decode()


def node_class_user_data() -> str:
    """A Karpenter EC2NodeClass's `spec.userData`: the NodeConfig as is (Karpenter wraps it)."""
    return node_config()


def root_volume_ebs() -> dict[str, Any]:
    """The GPU pools' root volume performance (the same keys in a launch template's `ebs` and an
    EC2NodeClass's `blockDeviceMappings[].ebs`)."""
    return {"throughput": ROOT_VOLUME_THROUGHPUT_MIBPS, "iops": ROOT_VOLUME_IOPS}


def usable(vcpus: int, memory_gb: float) -> bool:
    """Whether nodeadm uses the gate on an instance type of this size."""
    return vcpus >= MIN_VCPUS and memory_gb >= MIN_MEMORY_GIB


def monthly_usd_per_node() -> float:
    """What the extra root-volume throughput costs per node running a whole month."""
    return round((ROOT_VOLUME_THROUGHPUT_MIBPS - GP3_INCLUDED_THROUGHPUT_MIBPS) * GP3_USD_PER_MIBPS_MONTH, 2)
