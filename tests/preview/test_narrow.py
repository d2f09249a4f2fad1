"""The preview in an 80- and a 100-column terminal (issue 25): tables fold, nothing is cut.

Every reference stack, as `COLUMNS=80 python -m preview STACK` (and `--compare`) prints it:
each GPU pool's name, instance type, GPU model, sharing mode and prices appear whole, in the
pool's own row or block; each cost line (the CPU pools among them), each DR store and each
compared pool keep every word whole; no line is wider than the terminal except the
whole-line messages (report.console); no ellipsis anywhere. The expected values come from
the JSON the same run writes (the data the report prints), not from literals.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from rich.cells import cell_len

from preview import engine
from preview.__main__ import main
from preview.fold import Col, print_table

WIDTHS = (80, 100)
STACKS = engine.available_stacks()
PREVIEW = Path(__file__).resolve().parents[2] / "preview"
# Printed whole however wide, so each reads, greps and copies as written: program warnings,
# policy findings and their fix, compare's problems and notes, the summary line.
WHOLE_LINE = re.compile(r"^(warning: |  \[[\w-]+\] |      fix: |(aws|gcp|azure): )| stack \S+ is valid$")

_plans: dict = {}


@pytest.fixture(autouse=True)
def evaluate_each_config_once(monkeypatch):
    """The real program under the mock engine, memoised per config: both widths (and a
    compare's own cloud) share one evaluation."""
    real = engine.run_program

    def cached(stack, config, secret_keys=None, *args, **kwargs):
        key = (stack, json.dumps(config, sort_keys=True), tuple(secret_keys or ()), args, tuple(sorted(kwargs)))
        if key not in _plans:
            _plans[key] = real(stack, config, secret_keys, *args, **kwargs)
        return _plans[key]

    monkeypatch.setattr(engine, "run_program", cached)


@pytest.fixture
def terminal():
    """Sets COLUMNS for one test. Not `monkeypatch` by name: tests/conftest.py evaluates the
    program afresh for a test that takes monkeypatch (it may patch the program); these only
    change the terminal's width, so the run's shared plans serve them."""
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def render(capsys, terminal, width: int, *argv: str) -> list[str]:
    terminal.setenv("COLUMNS", str(width))
    code = main(list(argv))
    out = capsys.readouterr()
    assert code in (0, 1), out.out + out.err
    return (out.out + out.err).splitlines()


def usd(value) -> str:
    return "-" if value is None else f"${value:,.2f}"


def assert_fits(lines: list[str], width: int) -> None:
    assert not [line for line in lines if "…" in line], "an ellipsis cuts a cell"
    wide = [line for line in lines if cell_len(line) > width and not WHOLE_LINE.search(line)]
    assert not wide, f"wider than {width} columns:\n" + "\n".join(wide)


def assert_whole(lines: list[str], *texts: str, where: str = "") -> None:
    """Each text on one line as it is; each word of it at least whole."""
    for text in texts:
        words = text.split()
        missing = [w for w in words if not any(w in line for line in lines)]
        assert not missing, f"{where}: {text!r} is cut: {missing} not found whole"


def rows_of(lines: list[str], start: int, names: list[str]) -> dict[str, list[str]]:
    """The lines of each named row (or block) of the table whose title is at `start`: from
    the line that names it to the next row's, or the table's end (a line at column 0)."""
    found: dict[str, int] = {}
    at = start + 1
    for name in names:
        pattern = re.compile(rf"(^|[\s│]){re.escape(name)}($|[\s│])")
        while not pattern.search(lines[at]):
            at += 1
        found[name] = at
    out = {}
    for i, name in enumerate(names):
        end = found[names[i + 1]] if i + 1 < len(names) else len(lines)
        block = [lines[found[name]]]
        for line in lines[found[name] + 1:end]:
            if not line.startswith(" "):
                break
            block.append(line)
        out[name] = block
    return out


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_reads_whole_in_a_narrow_terminal(stack, width, capsys, terminal, tmp_path):
    lines = render(capsys, terminal, width, stack, "--json", str(tmp_path / "plan.json"))
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert_fits(lines, width)

    pools = plan["gpu_pools"]
    title = lines.index("GPU pools")
    names = [p["name"] for p in pools] + (["total"] if pools[0]["cloud"] != "existing" else [])
    blocks = rows_of(lines, title, names)
    for p in pools:
        values = [p["name"], p["instanceType"], p["gpuModel"], str(p["gpusPerNode"]), p["sharing"] or "-"]
        if p["cloud"] != "existing":
            values += [f"{p['minNodes']}-{p['maxNodes']}", usd(p["usdPerHourMin"]), usd(p["usdPerHourMax"])]
        for value in values:
            assert any(value in line for line in blocks[p["name"]]), f"GPU pool {p['name']}: {value!r} not whole in {blocks[p['name']]}"
    if "total" in blocks:
        total = f"{sum(p['gpusPerNode'] * p['maxNodes'] for p in pools)} max"
        assert any(total in line for line in blocks["total"]), blocks["total"]

    # The cost lines: the GPU, system and CPU pools (name, instance type) and every price.
    for line in plan["cost"]["lines"]:
        prices = [usd(line[k]) for k in ("usdPerHourMin", "usdPerHourMax", "usdPerMonthMin", "usdPerMonthMax")]
        assert_whole(lines, line["item"], *prices, where="cost")
    for item in plan["cost"]["notPriced"]:
        assert_whole(lines, item, where="not priced")

    if plan["dr"] is not None:
        for store in plan["dr"]["stores"]:
            assert_whole(lines, *(store[k] for k in ("store", "lives", "replica", "mechanism", "rpo")), where="DR")
    for step in plan["timeToReady"]["criticalPath"]:
        assert_whole(lines, step["type"], step["urn"].rsplit("::", 1)[1], where="time to ready")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_compares_whole_in_a_narrow_terminal(stack, width, capsys, terminal, tmp_path):
    lines = render(capsys, terminal, width, stack, "--compare", "--json", str(tmp_path / "compare.json"))
    doc = json.loads((tmp_path / "compare.json").read_text())
    assert_fits(lines, width)
    for cloud in doc["clouds"]:
        for pool in cloud["pools"]:
            assert_whole(lines, pool["key"], pool["name"], pool["instanceType"] or "-", where=cloud["cloud"])
        for key in ("usdPerHourMin", "usdPerHourMax", "usdPerMonthMin", "usdPerMonthMax"):
            assert_whole(lines, usd(cloud[key]), where=cloud["cloud"])


# --- the helper itself -----------------------------------------------------------------------


def test_no_table_is_printed_but_through_the_fold_helper():
    direct = [
        f"{path.name}:{n}" for path in sorted(PREVIEW.glob("*.py")) if path.name != "fold.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if re.search(r"\bTable\(|rich\.table", line)
    ]
    assert not direct, f"tables built outside preview/fold.py: {direct}"


COLS = [Col("pool"), Col("instance type"), Col("GPU"), Col("sharing"), Col("USD/h max", justify="right"),
        Col("note", wrap=True)]
ROWS = [["l4infer", "g6.2xlarge", "NVIDIA L4", "time-slicing x4", "$5.87", "sliced four ways for inference"],
        ["h100", "p5.48xlarge", "NVIDIA H100 80GB", "-", "$220.16", "training"]]


def printed(width: int) -> list[str]:
    from rich.console import Console

    con = Console(width=width, highlight=False, soft_wrap=True, record=True, file=io.StringIO())
    print_table(con, "GPU pools", COLS, ROWS, title_justify="left")
    return con.export_text().splitlines()


def test_a_table_that_fits_is_printed_as_rich_prints_it():
    from rich.console import Console
    from rich.table import Table

    con = Console(width=160, highlight=False, soft_wrap=True, record=True, file=io.StringIO())
    table = Table(title="GPU pools", show_edge=False, title_justify="left")
    for col in COLS:
        table.add_column(col.header, justify=col.justify)
    for row in ROWS:
        table.add_row(*row)
    con.print(table)
    assert printed(160) == con.export_text().splitlines()


@pytest.mark.parametrize("width", [84, 72, 40])
def test_a_narrow_table_squeezes_then_folds_into_blocks_and_never_cuts(width):
    lines = printed(width)
    assert_fits(lines, width)
    for row in ROWS:
        for value in row[:5]:
            assert any(value in line for line in lines), (value, lines)
        assert_whole(lines, row[5])
    boxed = any("│" in line for line in lines)
    assert boxed == (width > 72), lines  # 84: squeezed (the note wraps); 72 and 40: one block per row
    if not boxed:
        assert lines[1].strip() == "l4infer" and "sharing: time-slicing x4" in "\n".join(lines)
