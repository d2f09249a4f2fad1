"""The preview's prerequisites list: what the stack's pools need done outside the stack (a
cloud account setting no stack owns), with how to do it and how to check it."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from components.catalog.prerequisites import Prerequisite, prerequisites_for
from components.config import StackConfig

from .fold import Col, print_table


def stack_prerequisites(cfg: StackConfig) -> list[tuple[Prerequisite, list[str]]]:
    pools = {p.name: f.kind for p in cfg.gpu_pools if (f := p.fabric(cfg.cloud)) is not None}
    return prerequisites_for(cfg.cloud, pools)


def print_prerequisites(con: Console, cfg: StackConfig) -> None:
    items = stack_prerequisites(cfg)
    if not items:
        return
    rows = [[escape(", ".join(pools)), escape(p.what), escape(p.do), escape(p.check)] for p, pools in items]
    print_table(con, "prerequisites (outside this stack, once per account)",
                [Col("pools"), Col("what", wrap=True), Col("do", wrap=True), Col("check", wrap=True)],
                rows, title_justify="left")
