"""GPU cold start on AKS: artifact streaming on the node classes of node auto-provisioning.

With artifact streaming a node mounts an image from Azure Container Registry as a block device
(OverlayBD) and starts the container before the image is downloaded, fetching the blocks it
reads (learn.microsoft.com/azure/aks/artifact-streaming-overview). Where it can be set:
- Agent pools: not in the pinned pulumi-azure-native 3.29.0 (containerservice API 2025-09-01,
  no preview API versions shipped): `AgentPool` has no artifact-streaming field. Nothing is on.
- Node auto-provisioning (capacity.py NodeAutoProvisioning): AKSNodeClass
  `spec.artifactStreaming.enabled` (karpenter.azure.com/v1beta1; Azure/karpenter-provider-azure
  has it from v1.10.0, pkg/apis/v1beta1/aksnodeclass.go). At v1.14.2 the provider passes it to
  the node's ArtifactStreamingProfile on both provisioning paths (pkg/providers/imagefamily/
  customscriptsbootstrap/provisionclientbootstrap.go, pkg/providers/instance/
  aksmachineinstancehelpers.go), never for arm64 nodes (ArtifactStreaming.IsEnabled), and,
  set explicitly, it leaves arm64 sizes out of the pool (pkg/providers/instancetype/
  instancetypes.go isInstanceTypeSupportedByArtifactStreaming). Its default moved between
  releases (v1.10.0: on; v1.10.1: on for Ubuntu only; v1.10.2 onwards: off), and AKS runs its
  own release, so both values are written out.

What we turn on, and why:
- GPU pools (Ubuntu): on, on amd64 sizes (every GPU size in the catalog). The serving image is the largest the platform pulls
  (timings.IMAGE_SIZE_GB), and an image with no streaming artifact is pulled as before: the
  node resolves a pull by tag to the image's streaming variant where ACR holds one
  (artifact-streaming-overview), which leaves every other pull unchanged.
- CPU pools (Azure Linux): off. The provider turned its default off for Azure Linux "until fully
  supported" (PR #1600, v1.10.1) before turning it off everywhere (PR #1611, v1.10.2), and the
  CPU images are a few GB at most.

What a team does for an image to stream (learn.microsoft.com/azure/aks/artifact-streaming):
the registry on the Premium tier, a streaming artifact per image (`az acr artifact-streaming
create`) or per repository for new pushes (`az acr artifact-streaming update
--enable-streaming`), linux/amd64 images, pulled by tag (a pull by digest does not stream).
"""

from __future__ import annotations

from typing import Any

# Whether a pool kind's nodes stream images (capacity.IMAGE_FAMILY's keys).
STREAMS_IMAGES: dict[str, bool] = {"gpu": True, "cpu": False}


def artifact_streaming(kind: str, arch: str) -> dict[str, Any]:
    """AKSNodeClass spec.artifactStreaming for a pool of `kind` on a size of `arch` (the catalog's):
    never on for an arm64 size, which the provider would then leave out of the pool."""
    return {"enabled": STREAMS_IMAGES[kind] and arch != "arm64"}


__all__ = ["STREAMS_IMAGES", "artifact_streaming"]
