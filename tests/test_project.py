"""Project files a user and `pulumi` depend on: Pulumi.yaml, pins, catalog data, docs."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from components import catalog
from components.config import StackConfig
from components.config_reference import END, PAGE, START, render, rows

ROOT = Path(__file__).resolve().parents[1]


def test_pulumi_yaml_declares_a_python_project_with_stacks_dir():
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "ml-clusters"
    assert project["runtime"]["name"] == "python"
    assert project["runtime"]["options"]["virtualenv"] == ".venv"
    assert project["stackConfigDir"] == "stacks"


def test_pulumi_yaml_config_uses_only_types_pulumi_accepts_and_real_keys():
    # Pulumi's project schema types config as string, integer, boolean or array only.
    config = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    aliases = {f.alias for f in StackConfig.model_fields.values()}
    for key, spec in config.items():
        assert key in aliases, key
        assert spec["type"] in ("string", "integer", "boolean", "array"), key
        assert spec.get("description"), key
    assert "default" not in config["cloud"]  # required: Pulumi refuses a stack without it


def test_every_requirement_is_pinned():
    lines = [ln.strip() for ln in (ROOT / "requirements.txt").read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    assert lines and all(re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][A-Za-z0-9.+-]*", ln) for ln in lines), lines


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in ci and "make test" in readme and "make preview" in readme


def test_catalog_rows_are_consistent():
    for cloud, cat in catalog.CLOUDS.items():
        assert cat.default_system_instance_type in cat.instance_types
        assert cat.instance_types[cat.default_system_instance_type].gpu is None
        for name, itype in cat.instance_types.items():
            assert itype.usd_per_hour > 0, name
            assert (itype.gpu is None) == (itype.gpus == 0), name
            if itype.gpu:
                assert itype.gpu in catalog.GPU_MODELS, name
                assert cat.regions_offering(name), f"{cloud} {name} is offered nowhere"
                assert set(cat.regions_offering(name)) <= set(cat.regions), name
        for region in cat.regions.values():
            assert region.pair is None or region.pair in cat.regions, region.name
    for key in catalog.KUBERNETES_VERSIONS:
        assert key in catalog.CLUSTER_AUTOSCALER_IMAGE_TAGS
        assert catalog.CLUSTER_AUTOSCALER_IMAGE_TAGS[key].startswith(f"v{key}.")


def test_images_are_pinned_to_a_version():
    for name, image in catalog.IMAGES.items():
        if "@sha256:" in image and ":" not in image.split("@", 1)[0].rsplit("/", 1)[-1]:
            continue  # pinned by digest alone, as its upstream manifest names it (GKE's NRI injector)
        repo, _, tag = image.split("@", 1)[0].rpartition(":")
        assert repo and tag and tag != "latest", name


def test_config_reference_page_is_generated_from_the_model():
    assert PAGE == ROOT / "docs" / "config.md"
    page = PAGE.read_text()
    section = page.split(START, 1)[1].split(END, 1)[0].strip()
    assert section == render().strip(), "run: python -m components.config_reference"


def test_every_config_key_is_documented():
    undocumented = [key for key, _, _, _, description in rows() if not description]
    assert undocumented == []
