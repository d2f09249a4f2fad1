"""GKE Binary Authorization on the plan: the project policy admits every image the program
runs, from the catalog's pins, and nothing else; prod clusters enforce it.

Upstream facts (pulumi-gcp 10.2.0: container ClusterBinaryAuthorization.evaluation_mode takes
`DISABLED` or `PROJECT_SINGLETON_POLICY_ENFORCE`; binaryauthorization.Policy
`name_pattern` "supports a trailing * as a wildcard"; the Binary Authorization API reference
adds that `*` does not match `/` and a trailing `**` matches subdirectories).
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from components.catalog import versions
from components.clouds.gcp.admission import CLUSTER_EVALUATION_MODE, matches, pinned_images, repository
from tests.conftest import inputs, plan_for_stack
from tests.platform import harness

POLICY = "gcp:binaryauthorization/policy:Policy"
CLUSTER = "gcp:container/cluster:Cluster"
WORKLOADS = {"workloads": {part: {"enabled": True} for part in ("queueing", "training", "serving", "notebooks")}}


@pytest.fixture(scope="module")
def prod():
    return plan_for_stack("prod-gcp")


@pytest.fixture(scope="module")
def patterns(prod) -> list[str]:
    return [p["namePattern"] for p in inputs(prod.one(POLICY))["admissionWhitelistPatterns"]]


def images_in(value: Any) -> Iterator[str]:
    """Images named anywhere in an object: a pod spec's containers and initContainers, a Helm
    value `image: "repo:tag"`, or `image: {registry?, repository, tag?}`."""
    if isinstance(value, dict):
        for key, child in value.items():
            if key in ("containers", "initContainers", "ephemeralContainers") and isinstance(child, list):
                for container in child:
                    if isinstance(container, dict) and isinstance(container.get("image"), str):
                        yield container["image"]
            if key == "image" and isinstance(child, str) and child:
                yield child
            elif key == "image" and isinstance(child, dict) and isinstance(child.get("repository"), str):
                registry = child.get("registry")
                yield f"{registry}/{child['repository']}" if registry else child["repository"]
            yield from images_in(child)
    elif isinstance(value, list):
        for child in value:
            yield from images_in(child)


def rendered_images(plan) -> set[str]:
    return {i for r in plan.resources if r.type.startswith("kubernetes:") for i in images_in(inputs(r))}


def test_prod_clusters_enforce_the_project_policy_and_staging_does_not():
    for stack in ("prod-gcp", "prod-gcp-dr"):
        assert inputs(plan_for_stack(stack).one(CLUSTER))["binaryAuthorization"] == {"evaluationMode": CLUSTER_EVALUATION_MODE}
    assert "binaryAuthorization" not in inputs(plan_for_stack("staging-gcp").one(CLUSTER))


def test_one_policy_per_project_owned_by_the_primary(prod):
    policy = inputs(prod.one(POLICY))
    assert policy["project"] == "ml-platform-prod"
    # Everything not admitted is refused, and logged; GKE's own system images pass Google's global policy.
    assert policy["defaultAdmissionRule"] == {"evaluationMode": "ALWAYS_DENY", "enforcementMode": "ENFORCED_BLOCK_AND_AUDIT_LOG"}
    assert policy["globalPolicyEvaluationMode"] == "ENABLE"
    # The standby shares the project: it enforces the primary's policy and creates none.
    assert plan_for_stack("prod-gcp-dr").by_type(POLICY) == []


def test_the_stacks_own_registry_is_admitted(prod, patterns):
    repo = inputs(prod.one("gcp:artifactregistry/repository:Repository"))
    own = f"{repo['location']}-docker.pkg.dev/{repo['project']}/{repo['repositoryId']}"
    assert matches(next(p for p in patterns if p.startswith(own)), f"{own}/team-a/trainer:1.0")
    assert not any(matches(p, f"{repo['location']}-docker.pkg.dev/another-project/x/y:1") for p in patterns)


def test_every_pinned_image_is_admitted(patterns):
    unadmitted = [i for i in pinned_images() if not any(matches(p, i) for p in patterns)]
    assert unadmitted == []
    assert set(versions.IMAGES.values()) <= set(pinned_images())


def test_every_image_the_plans_render_is_admitted(prod, patterns):
    """Every container image in the prod plans and in a GKE platform with the whole workload
    layer on. An image from a registry the catalog does not pin fails here."""
    gke = harness.run_platform(harness.gke_shape([harness.pool("l4", "g2-standard-8")]), WORKLOADS,
                               harness.namespaces({"name": "team-a", "team": "a", "group": "team-a", "gpus": 2})).plan
    images = rendered_images(prod) | rendered_images(plan_for_stack("prod-gcp-dr")) | rendered_images(gke)
    assert len(images) >= 5, images  # the walk finds the images
    refused = sorted(i for i in images if not any(matches(p, i) for p in patterns))
    assert refused == []


def test_the_policy_refuses_what_the_catalog_does_not_pin(patterns):
    for image in ("docker.io/library/busybox:1.36", "busybox", "docker.io/someone/velero:1", "ghcr.io/kubeflow/other/x:1",
                  "registry.k8s.io/pause-but-not/x:1", "registry.k8s.io/etcd:3.5"):
        assert not any(matches(p, image) for p in patterns), image
    assert repository("velero/velero:v1.18.1") == "docker.io/velero/velero"
