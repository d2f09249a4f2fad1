"""Tables and lines that fold to the terminal's width instead of cutting (issue 25).

The rule: every table the preview prints goes through `print_table`, and every other line
that may be wider than the terminal (headings, notes under a table, the time-to-ready path)
through `print_line`. A new column (fabric, capacity chain, cold start, ...) is one more
`Col` in a `print_table` call; never build a rich `Table` and print it yourself, and never
let a cell be ellipsised (tests/preview/test_narrow.py checks every stack at 80 and 100
columns, and that no module but this one builds a Table).

`print_table` picks the first of three layouts that shows every cell whole:

1. natural: the table as rich lays it out when every cell fits on one line (what a wide
   terminal has always shown, byte for byte);
2. squeezed: narrower columns, the widest shrunk first, but none below its floor: a `wrap`
   column (prose) to its longest word, any other column to its longest cell, so values
   (names, instance types, GPU models, sharing, prices) stay on one line and prose wraps
   between words; headers wrap between words;
3. blocks: when even the floors do not fit, one block per row: the first cell as a heading,
   then the other cells as `header: value` fields, packed onto lines and wrapped between
   fields, a long field between its words.

Not folded, by rule (report.console's soft wrap): whole-line messages a user greps or copies
as written (config problems, policy findings and their fix, program warnings, compare's
problems and notes, the summary line); the terminal wraps those.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Sequence

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

Justify = Literal["left", "center", "right"]
CELL_PADDING = 2  # rich's default: one space either side of a cell
BLOCK_INDENT = 2  # a block's heading; its fields are indented twice this
FIELD_SEPARATOR = "; "
WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Col:
    """A column: `wrap` for prose that may wrap between words; any other cell (a name, a type,
    a price) always stays on one line."""

    header: str
    justify: Justify = "left"
    wrap: bool = False


def _longest_word(text: str) -> int:
    return max((cell_len(w) for w in text.split()), default=0)


def _squeeze(natural: list[int], floors: list[int], room: int) -> list[int]:
    """Column widths within `room`: the widest column above its floor loses a column at a time."""
    widths = list(natural)
    excess = sum(widths) - room
    while excess > 0:
        shrinkable = [i for i, w in enumerate(widths) if w > floors[i]]
        widest = max(shrinkable, key=lambda i: (widths[i], i))
        widths[widest] -= 1
        excess -= 1
    return widths


def print_table(
    con: Console, title: str, columns: Sequence[Col], rows: Sequence[Sequence[str]], *,
    title_justify: Justify = "center",
) -> None:
    """Print a table (cells in rich markup) whole at the console's width: natural, squeezed or
    as blocks (see the module's docstring). Any table the preview prints goes through here."""
    plain = [[con.render_str(cell).plain for cell in row] for row in rows]
    headers = [c.header for c in columns]
    natural = [max([cell_len(h), *(cell_len(r[i]) for r in plain)]) for i, h in enumerate(headers)]
    floors = [
        max([_longest_word(h), *((_longest_word(r[i]) if col.wrap else cell_len(r[i])) for r in plain)])
        for i, (h, col) in enumerate(zip(headers, columns, strict=True))
    ]
    separators = len(columns) - 1
    room = con.width - CELL_PADDING * len(columns) - separators
    if sum(floors) > room:
        _print_blocks(con, title, headers, plain)
        return
    title_fits = cell_len(title) <= con.width
    if not title_fits:
        print_line(con, title, style="table.title", markup=False, hang=2)
    table = Table(title=title if title_fits else None, show_edge=False, title_justify=title_justify)
    for col in columns:
        # Wrappable, for the header's sake: a cell no wider than its column never wraps.
        table.add_column(col.header, justify=col.justify, overflow="fold")
    for row in rows:
        table.add_row(*row)
    if sum(natural) > room:
        # rich's own narrowing (what wide terminals have always shown) when it keeps every
        # floor; else ours. (`_calculate_column_widths`: rich's, pinned in requirements.txt.)
        rich_widths = table._calculate_column_widths(con, con.options.update_width(con.width - separators))
        if any(w - CELL_PADDING < f for w, f in zip(rich_widths, floors, strict=True)):
            for col, width in zip(table.columns, _squeeze(natural, floors, room), strict=True):
                col.width = width
    con.print(table)


def _print_blocks(con: Console, title: str, headers: list[str], rows: list[list[str]]) -> None:
    print_line(con, title, style="table.title", markup=False, hang=2)
    indent = " " * (2 * BLOCK_INDENT)
    end = FIELD_SEPARATOR.rstrip()  # ends a line that the row's next line continues
    for row in rows:
        print_line(con, " " * BLOCK_INDENT + row[0], style="bold", markup=False, hang=2 * BLOCK_INDENT)
        fields = [f"{h}: {v}" if h else v for h, v in zip(headers[1:], row[1:], strict=True) if v]
        line = ""
        for field in fields:
            joined = f"{line}{FIELD_SEPARATOR}{field}" if line else field
            if line and cell_len(indent + joined + end) > con.width:
                print_line(con, indent + line + end, markup=False, hang=len(indent) + 2)
                joined = field
            line = joined
        if line:
            print_line(con, indent + line, markup=False, hang=len(indent) + 2)


def _breaks(plain: str, width: int, hang: int) -> list[int]:
    """Where to start each further line so each fits in `width` (after `hang` spaces): between
    words only; a word wider than a line stays whole on its own."""
    breaks: list[int] = []
    start, lead = 0, 0
    for word in WORD.finditer(plain):
        if plain[start:word.start()].strip() and lead + cell_len(plain[start:word.end()]) > width:
            breaks.append(word.start())
            start, lead = word.start(), hang
    return breaks


def print_line(con: Console, text: str, *, hang: int = 4, style: str = "", markup: bool = True) -> None:
    """Print one line of rich markup; wider than the console, wrap it between words, each
    further line indented `hang` spaces. A line that fits prints as it always has."""
    rendered = con.render_str(text, style=style, markup=markup)
    if rendered.cell_len <= con.width:
        con.print(rendered)
        return
    lines = rendered.divide(_breaks(rendered.plain, con.width, hang))
    for i, line in enumerate(lines):
        line.rstrip()
        con.print(Text(" " * hang) + line if i else line)
