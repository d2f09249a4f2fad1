"""Every link in README.md and docs/ goes somewhere: a relative link names a file that exists,
a `#fragment` names a heading of the target page (GitHub's anchors), and an external link is
at least a well-formed http(s) URL (there is no network here to follow it)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Headings the README had before its sections moved to docs/ (issue 25). A link to one of these
# on README.md is a link to text that now lives elsewhere.
MOVED_FROM_README = {
    "stack-config-reference": "docs/config.md",
    "portable-stacks-one-file-any-cloud": "docs/portable.md",
    "aws-eks": "docs/aws.md",
    "google-cloud-gke": "docs/gcp.md",
    "azure-aks": "docs/azure.md",
    "platform-layer": "docs/platform.md",
    "existing-clusters-cloud-existing": "docs/existing.md",
    "disaster-recovery": "docs/disaster-recovery.md",
    "runbook": "docs/disaster-recovery.md",
    "workload-layer": "docs/workloads.md",
    "a-team-walkthrough": "docs/workloads.md",
    "policy-pack": "docs/policies.md",
    "rules": "docs/policies.md",
    "offline-preview": "docs/preview.md",
    "speed": "docs/development.md",
    "layout": "docs/development.md",
}

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
# [text](target) and ![alt](target), with an optional "title"; the target may be <bracketed>.
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(\S+)")
AUTOLINK = re.compile(r"<(https?://[^>\s]*)>")


def doc_files(root: Path = ROOT) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


def prose_lines(text: str):
    """(line number, line) outside fenced code blocks, with inline code spans blanked out."""
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield number, INLINE_CODE.sub(lambda m: " " * len(m.group(0)), line)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: the rendered text (link targets, backticks and emphasis
    markers gone) lowercased, every character that is not a letter, digit, underscore, hyphen
    or space dropped, spaces turned into hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"<[^>]+>", "", text)
    text = text.replace("`", "").replace("*", "").lower()
    text = "".join(ch for ch in text if ch.isalnum() or ch in "_- ")
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading's anchor in a page; a repeated one gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    found = set()
    fenced = False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        match = None if fenced else HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    found |= set(re.findall(r"<a\s+(?:name|id)=\"([^\"]+)\"", text))
    return found


def links(text: str) -> list[tuple[int, str]]:
    out = []
    for number, line in prose_lines(text):
        for match in INLINE_LINK.finditer(line):
            out.append((number, match.group(1).strip("<>")))
        for match in REFERENCE_DEF.finditer(line):
            out.append((number, match.group(1).strip("<>")))
        for match in AUTOLINK.finditer(line):
            out.append((number, match.group(1)))
    return out


def check_link(source: Path, target: str, root: Path = ROOT) -> str | None:
    """What is wrong with one link of `source`, or None."""
    parts = urlsplit(target)
    if parts.scheme in ("http", "https"):
        if not parts.netloc or "." not in parts.netloc or " " in target:
            return f"malformed URL {target!r}"
        return None
    if parts.scheme == "mailto":
        return None if "@" in parts.path else f"malformed mailto {target!r}"
    if parts.scheme or parts.netloc:
        return f"unexpected link scheme in {target!r}"
    path = unquote(parts.path)
    if path.startswith("/"):
        return f"absolute path {target!r}: use a path relative to {source.name}"
    destination = (source.parent / path).resolve() if path else source.resolve()
    if not destination.exists():
        return f"{target!r}: no such file {destination.relative_to(root.resolve()) if destination.is_relative_to(root.resolve()) else destination}"
    fragment = unquote(parts.fragment)
    if not fragment:
        return None
    if destination.is_dir() or destination.suffix != ".md":
        return f"{target!r}: an anchor into something that is not a Markdown page"
    if destination == (root / "README.md").resolve() and fragment in MOVED_FROM_README and fragment not in anchors(
        destination.read_text(encoding="utf-8")
    ):
        return f"{target!r}: that README section moved to {MOVED_FROM_README[fragment]}"
    if fragment not in anchors(destination.read_text(encoding="utf-8")):
        return f"{target!r}: no heading with anchor #{fragment} in {destination.name}"
    return None


def broken_links(files: list[Path], root: Path = ROOT) -> list[str]:
    problems = []
    for source in files:
        for number, target in links(source.read_text(encoding="utf-8")):
            problem = check_link(source, target, root)
            if problem:
                problems.append(f"{source.relative_to(root)}:{number}: {problem}")
    return problems


def test_every_link_in_the_readme_and_docs_resolves():
    files = doc_files()
    assert len(files) > 10 and all(f.is_file() for f in files)
    assert sum(len(links(f.read_text(encoding="utf-8"))) for f in files) > 50  # the parser finds them
    assert broken_links(files) == []


def test_slugs_follow_githubs_rules():
    assert slug("Existing clusters (`cloud: existing`)") == "existing-clusters-cloud-existing"
    assert slug("Portable stacks: one file, any cloud") == "portable-stacks-one-file-any-cloud"
    assert slug("GPU pools (any cloud) (5)") == "gpu-pools-any-cloud-5"
    assert slug("AWS / EKS (13)") == "aws--eks-13"
    assert slug("A pod that gets one GPU on a chosen pool, on any cloud") == "a-pod-that-gets-one-gpu-on-a-chosen-pool-on-any-cloud"
    assert slug("`platform.workloads` and [the docs](x.md)") == "platformworkloads-and-the-docs"
    page = "# Notes\n\n## Setup\n\n```sh\n# Setup\n```\n\n## Setup\n\n### Setup\n"
    assert anchors(page) == {"notes", "setup", "setup-1", "setup-2"}  # the fenced comment is no heading


def _site(tmp_path: Path, readme: str, page: str) -> list[str]:
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text(readme, encoding="utf-8")
    (tmp_path / "docs" / "page.md").write_text(page, encoding="utf-8")
    return broken_links(doc_files(tmp_path), tmp_path)


GOOD_PAGE = "# Page\n\n## Runbook steps\n\nBack to the [front door](../README.md#ml-clusters).\n"


def test_a_sound_site_passes(tmp_path):
    readme = "# ml-clusters\n\nSee [the runbook](docs/page.md#runbook-steps) and <https://www.pulumi.com/docs/>.\n"
    assert _site(tmp_path, readme, GOOD_PAGE) == []


@pytest.mark.parametrize(
    "link, problem",
    [
        ("[gone](docs/missing.md)", "no such file docs/missing.md"),
        ("[typo](docs/page.md#runbok-steps)", "no heading with anchor #runbok-steps in page.md"),
        ("[self](#nowhere)", "no heading with anchor #nowhere in README.md"),
        ("[old](README.md#disaster-recovery)", "that README section moved to docs/disaster-recovery.md"),
        ("[old](#stack-config-reference)", "that README section moved to docs/config.md"),
        ("[web](https://)", "malformed URL"),
        ("[web](http://localhost path)", ""),  # not a link at all: a space ends the target
        ("[abs](/docs/page.md)", "absolute path"),
        ("[ftp](ftp://example.com/x)", "unexpected link scheme"),
        ("![img](docs/nope.png)", "no such file docs/nope.png"),
        ("[ref]: docs/absent.md", "no such file docs/absent.md"),
    ],
)
def test_a_broken_link_is_reported(tmp_path, link, problem):
    readme = f"# ml-clusters\n\n{link}\n"
    reported = _site(tmp_path, readme, GOOD_PAGE)
    if not problem:
        assert reported == []
        return
    assert len(reported) == 1 and reported[0].startswith("README.md:3: ") and problem in reported[0], reported


def test_a_broken_anchor_in_a_docs_page_names_the_page_and_line(tmp_path):
    page = GOOD_PAGE + "\nSee [the top](../README.md#quick-start).\n"
    assert _site(tmp_path, "# ml-clusters\n", page) == [
        "docs/page.md:7: '../README.md#quick-start': no heading with anchor #quick-start in README.md"]


def test_links_in_code_are_not_links(tmp_path):
    readme = "# ml-clusters\n\n`[a](missing.md)`\n\n```md\n[b](missing.md)\n```\n"
    assert _site(tmp_path, readme, GOOD_PAGE) == []
