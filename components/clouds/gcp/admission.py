"""GKE Binary Authorization: the project's singleton policy, which admits the image
directories the program pins (the catalog's images and the pinned charts' own images) and the
stack's Artifact Registry repository, and denies everything else.

Upstream facts (pulumi-gcp 10.2.0 docstrings and the Binary Authorization API reference):
`admission_whitelist_patterns[].name_pattern` is `registry/path/to/image`; a trailing `*`
does not cross `/`, a trailing `**` also matches subdirectories. The default admission rule
takes `evaluation_mode` ALWAYS_ALLOW, REQUIRE_ATTESTATION or ALWAYS_DENY and
`enforcement_mode` ENFORCED_BLOCK_AND_AUDIT_LOG or DRYRUN_AUDIT_LOG_ONLY.
`global_policy_evaluation_mode` ENABLE admits the images GKE itself runs (Google's system
policy). A cluster follows the project policy with `binary_authorization.evaluation_mode`
PROJECT_SINGLETON_POLICY_ENFORCE.
"""

from __future__ import annotations

from typing import Iterable, Optional

import pulumi
import pulumi_gcp as gcp

from ...catalog import versions

CLUSTER_EVALUATION_MODE = "PROJECT_SINGLETON_POLICY_ENFORCE"
DOCKER_HUB = "docker.io"


def repository(image: str) -> str:
    """An image reference without its tag or digest, with Docker Hub's host spelled out
    (a first component without a dot, colon or `localhost` is a Docker Hub namespace)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)
    if ":" in last[-1]:
        name = name[: len(name) - len(last[-1])] + last[-1].split(":", 1)[0]
    first = name.split("/", 1)[0]
    if "/" not in name:
        return f"{DOCKER_HUB}/library/{name}"
    if "." not in first and ":" not in first and first != "localhost":
        return f"{DOCKER_HUB}/{name}"
    return name


def directory_pattern(image: str) -> str:
    """`registry/path/**`: the directory an image's repository sits in, and below it. A
    repository at the top of a registry (`registry.k8s.io/pause`) is admitted alone, by its
    name and any tag or digest (`*` does not cross `/`), never the whole registry."""
    name = repository(image)
    directory = name.rsplit("/", 1)[0]
    return f"{name}*" if "/" not in directory else f"{directory}/**"


def pinned_images() -> list[str]:
    images = list(versions.IMAGES.values())
    images += [f"registry.k8s.io/autoscaler/cluster-autoscaler:{tag}" for tag in versions.CLUSTER_AUTOSCALER_IMAGE_TAGS.values()]
    for repositories in versions.CHART_IMAGE_REPOSITORIES.values():
        images += list(repositories)
    return images


def admission_patterns(own_registry: str, extra: Iterable[str] = ()) -> list[str]:
    """Every directory the program pulls from, and the stack's own repository, sorted."""
    patterns = {directory_pattern(i) for i in [*pinned_images(), *extra]}
    patterns.add(own_registry.rstrip("/") + "/**")
    # A directory already admitted with its subdirectories covers the patterns below it.
    return sorted(p for p in patterns if not any(o != p and o.endswith("/**") and p.startswith(o[:-2]) for o in patterns))


def matches(pattern: str, image: str) -> bool:
    """Binary Authorization's pattern semantics, for the tests and the preview."""
    name = repository(image)
    if pattern.endswith("**"):
        return name.startswith(pattern[:-2])
    if pattern.endswith("*"):
        rest = name[len(pattern) - 1:] if name.startswith(pattern[:-1]) else None
        return rest is not None and "/" not in rest
    return name == pattern


def project_policy(name: str, project: str, own_registry: str, opts: Optional[pulumi.ResourceOptions] = None) -> gcp.binaryauthorization.Policy:
    return gcp.binaryauthorization.Policy(
        f"{name}-binary-authorization",
        project=project,
        description=f"Images of ml-clusters stack {name}: the pinned registries and {own_registry}",
        admission_whitelist_patterns=[{"name_pattern": p} for p in admission_patterns(own_registry)],
        default_admission_rule={"evaluation_mode": "ALWAYS_DENY", "enforcement_mode": "ENFORCED_BLOCK_AND_AUDIT_LOG"},
        global_policy_evaluation_mode="ENABLE",
        opts=opts,
    )
