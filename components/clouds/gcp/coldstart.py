"""GPU cold start on GKE: image streaming on GPU node pools.

With image streaming, a node mounts a container image from Artifact Registry and starts the
container before the image is downloaded, reading the data it touches as it needs it (GKE docs,
"Use Image streaming to pull container images", cloud.google.com/kubernetes-engine/docs/how-to/
image-streaming). Upstream facts this relies on:
- pulumi-gcp 10.2.0 container.NodePool `node_config.gcfs_config.enabled` ("GCFS configuration
  for this node"); the Terraform provider it bridges (v7) has no ForceNew on gcfs_config
  (GoogleCloudPlatform/terraform-google-conversion v7 pkg/services/container/node_config.go
  schemaGcfsConfig): turning it on updates an existing pool, it does not replace it.
- GKE's requirements: Container-Optimized OS with containerd (our `COS_CONTAINERD`), the
  Container File System API (containerfilesystem.googleapis.com) enabled in the project, and
  the images in Artifact Registry (the stack's registry is; images from other registries are
  pulled whole, as before).
"""

from __future__ import annotations

from typing import Any

IMAGE_STREAMING: dict[str, Any] = {"enabled": True}
