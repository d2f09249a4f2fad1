"""What the catalog chose for a stack while it loaded (a place's region, pools by need), and why."""

from __future__ import annotations

from typing import Iterable

from rich.console import Console
from rich.table import Table

from components.catalog.resolve import Choice


def print_choices(con: Console, choices: Iterable[Choice]) -> None:
    choices = list(choices)
    if not choices:
        return
    table = Table(title="chosen by the catalog", show_edge=False)
    for col in ("key", "asked", "chosen", "why"):
        table.add_column(col, overflow="fold")
    for c in choices:
        table.add_row(c.key, c.asked, c.chosen, c.why)
    con.print(table)


def choices_json(choices: Iterable[Choice]) -> list[dict[str, str]]:
    return [c.to_json() for c in choices]
