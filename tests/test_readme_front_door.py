"""README.md is the front door: short, the two commands, an example stack that loads, and a
link to every page in docs/ (from the README itself or from the docs/README.md index)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from components.config import load, raw_from_pulumi
from preview import engine
from tests.test_docs_links import links

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 300


def linked_pages(source: Path) -> set[Path]:
    found = set()
    for _, target in links(source.read_text(encoding="utf-8")):
        path = target.split("#", 1)[0]
        if path and "://" not in path:
            found.add((source.parent / path).resolve())
    return found


def front_door_problems(root: Path = ROOT) -> list[str]:
    readme, index = root / "README.md", root / "docs" / "README.md"
    problems = []
    lines = len(readme.read_text(encoding="utf-8").splitlines())
    if lines > MAX_LINES:
        problems.append(f"README.md has {lines} lines; at most {MAX_LINES}: move the detail to docs/")
    reachable = linked_pages(readme)
    if index.resolve() in reachable:
        reachable |= linked_pages(index)
    for page in sorted((root / "docs").rglob("*.md")):
        if page.resolve() not in reachable and page != index:
            problems.append(f"{page.relative_to(root)} is linked from neither README.md nor docs/README.md")
    if index.is_file() and index.resolve() not in reachable:
        problems.append("docs/README.md is not linked from README.md")
    return problems


def test_readme_is_short_and_reaches_every_docs_page():
    assert (ROOT / "docs" / "README.md").is_file()
    assert front_door_problems() == []


def test_every_docs_page_is_linked_from_the_readme_itself():
    # The table in README.md names every page, so a newcomer needs no second hop.
    missing = sorted(p.name for p in (ROOT / "docs").glob("*.md") if p.resolve() not in linked_pages(ROOT / "README.md"))
    assert missing == []


def test_a_long_readme_or_an_orphan_page_is_reported(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A\n", encoding="utf-8")
    (tmp_path / "docs" / "b.md").write_text("# B\n", encoding="utf-8")
    (tmp_path / "docs" / "README.md").write_text("# Docs\n\n- [A](a.md)\n", encoding="utf-8")
    (tmp_path / "README.md").write_text("# x\n\n[docs](docs/README.md)\n", encoding="utf-8")
    assert front_door_problems(tmp_path) == ["docs/b.md is linked from neither README.md nor docs/README.md"]
    (tmp_path / "README.md").write_text("# x\n" + "line\n" * MAX_LINES + "[b](docs/b.md)\n", encoding="utf-8")
    assert front_door_problems(tmp_path) == [
        f"README.md has {MAX_LINES + 2} lines; at most {MAX_LINES}: move the detail to docs/",
        "docs/a.md is linked from neither README.md nor docs/README.md",
        "docs/README.md is not linked from README.md",
    ]


def section(name: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text[text.index(f"<!-- section:{name} -->"):text.index(f"<!-- /section:{name} -->")]


def test_the_example_stack_loads_as_a_stack_file():
    (block,) = re.findall(r"```yaml\n(.*?)```", section("example"), flags=re.S)
    example = yaml.safe_load(block)["config"]
    values = {**engine.project_defaults(), **{k: engine.config_string(v) for k, v in example.items()}}
    cfg = load(raw_from_pulumi(values)[0])
    assert (cfg.cloud, cfg.region, cfg.environment) == ("aws", "us-east-1", "dev")
    assert [p.instance_type for p in cfg.gpu_pools] == ["g6.xlarge"] and cfg.gpu_pools[0].min_nodes == 0
    dev = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev-aws.yaml").read_text(encoding="utf-8"))["config"]
    assert set(example) <= set(dev)  # a shorter dev-aws, as the README says


def test_the_quick_start_names_every_stack_in_stacks():
    named = set(re.search(r"`stacks/Pulumi\.<stack>\.yaml`:(.*?)\);", section("quickstart"), flags=re.S).group(1).replace("\n", " ").split(","))
    named = {n.strip().strip("`") for n in named}
    files = {p.name[len("Pulumi."):-len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.*.yaml")}
    assert named == files
    assert "make preview" in section("quickstart") and "make test" in section("quickstart")
