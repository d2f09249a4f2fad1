"""Runtime images are pinned by digest, or listed as tag-only with the reason and named in the docs."""

from __future__ import annotations

import re
from pathlib import Path

from components import catalog
from components.catalog import versions
from components.platform.workloads.releases import image_parts
from examples.sweep.make_sweep import IMAGE as SWEEP_IMAGE

ROOT = Path(__file__).resolve().parents[3]
DIGEST = re.compile(r"^[^@\s]+:[^@:/\s]+@sha256:[0-9a-f]{64}$")


def test_every_runtime_image_is_digest_pinned_or_a_documented_tag_only_image():
    docs = (ROOT / "docs" / "workloads.md").read_text()
    held = (*versions.RUNTIME_IMAGE_KEYS, *versions.FABRIC_IMAGE_KEYS)
    assert set(versions.TAG_ONLY_IMAGES) <= set(held)
    digest_pinned = []
    for key in held:
        image = catalog.IMAGES[key]
        if key in versions.TAG_ONLY_IMAGES:
            # Tag-only on purpose: not digest-pinned after all, a reason given, named in the docs.
            assert "@" not in image, f"{key} has a digest: drop it from TAG_ONLY_IMAGES"
            assert versions.TAG_ONLY_IMAGES[key].strip(), key
            assert f"`{image}`" in docs, f"docs/workloads.md does not name the tag-only image {image}"
        else:
            assert DIGEST.match(image), f"{key} ({image}) is neither tag@digest nor in TAG_ONLY_IMAGES"
            digest_pinned.append(key)
    assert digest_pinned, "no runtime image carries a digest"


def test_the_runtime_images_cover_what_team_pods_run():
    """Every image key the workload layer renders into a team's pods is a runtime image."""
    sources = "\n".join(p.read_text() for p in (ROOT / "components/platform/workloads").glob("*.py"))
    used = set(re.findall(r'(?:_image|image_parts)\("([a-z0-9-]+)"\)', sources))
    controllers = {"kueue", "jobset", "trainer-controller-manager", "kserve-controller", "kube-rbac-proxy",
                   "postgres", "katib-controller", "katib-db-manager"}
    assert used - controllers == set(versions.RUNTIME_IMAGE_KEYS)


def test_a_digest_stays_on_the_tag_the_charts_render():
    repository, tag = image_parts("torch-runtime")
    assert f"{repository}:{tag}" == catalog.IMAGES["torch-runtime"] and "@sha256:" in tag
    assert "@" not in repository and tag.split("@")[0] != ""


def test_the_sweep_example_runs_the_torch_runtime_image():
    assert SWEEP_IMAGE == catalog.IMAGES["torch-runtime"]
