"""The layering of components/ and policies/: nothing imports a layer above its own.

    catalog < config < handle, conventions, dr < clouds, platform < cluster

Read from the source with `ast` (every import, also those inside functions), so a lazy
import cannot hide an upward dependency. The policy pack runs under the Pulumi CLI with
only policies/ importable, so its modules import nothing of the program at all.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Module (dotted, a prefix matches its submodules) -> its layer; a higher layer may import
# a lower or the same one, never a higher one.
LAYERS: dict[str, int] = {
    "components.catalog": 0,
    "components.config": 1,
    "components.config_reference": 1,  # generates the README's reference from the model
    "components.handle": 2,
    "components.conventions": 2,
    "components.dr": 2,  # the DR plan: derived from the config, read by clouds and platform
    "components.clouds": 3,
    "components.platform": 3,
    "components.cluster": 4,
}
# Top-level packages of this repository that no module of components/ may import.
OUTSIDE_COMPONENTS = ("policies", "preview", "__main__")
# The policy pack's generator runs from the repo root and reads the catalog; the pack never loads it.
POLICY_GENERATORS = {"policies.gen_catalog"}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, absolute dotted module) of every import in `path`; `from X import name` counts
    as X.name when that is a module of the repository, else as X."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                is_module = (root / Path(*sub.split("."))).with_suffix(".py").is_file() or (root / Path(*sub.split("."))).is_dir()
                out.append((node.lineno, sub if is_module else target))
    return list(dict.fromkeys(out))


def layer_of(module: str) -> int | None:
    best = None
    for prefix, layer in LAYERS.items():
        if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, layer)
    return best[1] if best else None


def violations(root: Path = ROOT) -> list[str]:
    out = []
    for path in sorted((root / "components").rglob("*.py")):
        name = module_name(path, root)
        own = layer_of(name)
        for line, target in imported_modules(path, root):
            where = f"{path.relative_to(root)}:{line}"
            if target.split(".")[0] in OUTSIDE_COMPONENTS:
                out.append(f"{where}: {name} imports {target}, outside components/")
                continue
            theirs = layer_of(target)
            if own is not None and theirs is not None and theirs > own:
                out.append(f"{where}: {name} (layer {own}) imports {target} (layer {theirs})")
    pack_names = {p.stem for p in (root / "policies").iterdir() if p.suffix == ".py" or (p / "__init__.py").is_file()}
    for path in sorted((root / "policies").rglob("*.py")):
        name = module_name(path, root)
        if name in POLICY_GENERATORS or ".venv" in path.parts:
            continue
        for line, target in imported_modules(path, root):
            top = target.split(".")[0]
            if top in ("components", "preview", "__main__") or (top not in ("policies", *pack_names) and (root / top).exists()):
                out.append(f"{path.relative_to(root)}:{line}: {name} imports {target}; the pack runs with only policies/ importable")
    return out


def test_every_module_of_components_has_a_layer():
    missing = [module_name(p, ROOT) for p in sorted((ROOT / "components").rglob("*.py")) if layer_of(module_name(p, ROOT)) is None]
    assert missing == ["components"], f"give these modules a layer in LAYERS: {missing}"


def test_no_module_imports_a_layer_above_it():
    assert violations() == []


def test_the_check_sees_an_upward_import(tmp_path):
    """An import inside a function counts, as config's old lazy import of the pack's cron did."""
    (tmp_path / "components" / "config").mkdir(parents=True)
    (tmp_path / "policies" / "rules").mkdir(parents=True)
    for package in ("components", "components/config", "policies", "policies/rules"):
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "policies" / "rules" / "cron.py").write_text("")
    (tmp_path / "components" / "cluster.py").write_text("")
    (tmp_path / "components" / "config" / "checks.py").write_text(
        "def f():\n    from policies.rules.cron import max_interval_minutes\n    from ..cluster import x\n"
    )
    found = violations(tmp_path)
    assert len(found) == 2
    assert "outside components/" in found[0] and "components.cluster (layer 4)" in found[1]
