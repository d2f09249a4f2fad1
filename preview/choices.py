"""What the catalog chose for a stack while it loaded (a place's region, pools by need), and why."""

from __future__ import annotations

from typing import Iterable

from rich.console import Console
from rich.markup import escape

from components.catalog.resolve import Choice

from .fold import Col, print_table


def print_choices(con: Console, choices: Iterable[Choice]) -> None:
    choices = list(choices)
    if not choices:
        return
    columns = [Col("key"), Col("asked", wrap=True), Col("chosen"), Col("why", wrap=True)]
    print_table(con, "chosen by the catalog", columns, [[escape(c.key), escape(c.asked), escape(c.chosen), escape(c.why)] for c in choices])


def choices_json(choices: Iterable[Choice]) -> list[dict[str, str]]:
    return [c.to_json() for c in choices]
