"""Offline preview: `python -m preview [STACK] [--json FILE] [--manifests DIR]`.

Evaluates the real `__main__.py` for a stack under Pulumi's mock engine (no cloud
account, no Pulumi CLI), then prints the resource tree, the GPU pools with their cost,
the stack outputs and the policy findings. Exit 0: the stack is valid and no mandatory
policy fails. Exit 1: config problems or a mandatory violation. Exit 2: usage errors.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import yaml

from components.config import ConfigError, load, raw_from_pulumi

from . import dr as dr_report
from . import engine, report

DEFAULT_STACK = "dev-aws"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m preview", description=__doc__.splitlines()[0])
    parser.add_argument("stack", nargs="?", default=DEFAULT_STACK, help=f"stack name in stacks/ (default {DEFAULT_STACK})")
    parser.add_argument("--json", metavar="FILE", type=Path, help="write the plan as JSON")
    parser.add_argument("--manifests", metavar="DIR", type=Path, help="write one YAML file per Kubernetes object")
    parser.add_argument("--quiet", action="store_true", help="print only findings and the summary line")
    args = parser.parse_args(argv)
    console = report.console()

    started = time.perf_counter()
    stack, path = engine.stack_name_and_file(args.stack)
    try:
        values, secret_keys = engine.read_stack_config(args.stack)
    except FileNotFoundError:
        known = ", ".join(engine.available_stacks()) or "none"
        console.print(f"stack {args.stack!r}: no file {path}; stacks: {known}", style="red", markup=False)
        return 2
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        console.print(f"{path}{where}: not valid YAML: {problem}", style="red", markup=False)
        return 2
    except ValueError as err:  # YAML, but not a stack's config mapping
        console.print(f"{path}: not a stack file: {err}", style="red", markup=False)
        return 2

    try:
        plan = engine.run_program(stack, values, secret_keys)
    except ConfigError as err:
        for line in err.problems:
            console.print(line, style="red", markup=False)
        n = len(err.problems)
        console.print(
            f"preview failed: {n} problem{'s' if n != 1 else ''} in {path.name}; nothing was created",
            style="bold red", markup=False,
        )
        return 1

    raw, _ = raw_from_pulumi(values)
    cfg = load(raw)
    violations = report.evaluate_policies(plan, cfg.environment)
    # An idle DR standby's GPU pools are at 0 nodes: cost what is built.
    costs = report.pool_costs(dr_report.built_config(cfg, stack))
    dr_info = dr_report.summary(cfg, stack)
    elapsed = time.perf_counter() - started

    if not args.quiet:
        report.print_header(console, plan, cfg)
        report.print_tree(console, plan)
        report.print_pools(console, costs)
        report.print_outputs(console, plan)
        dr_report.print_dr(console, dr_info)
    report.print_policy(console, violations)

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(report.plan_json(plan, costs, violations, dr=dr_info), encoding="utf-8")
    if args.manifests:
        written = report.write_manifests(plan, args.manifests)
        console.print(f"wrote {written} manifests to {args.manifests}", markup=False)

    mandatory = [v for v in violations if v.level == "mandatory"]
    summary = (
        f"{len(plan.resources)} resources, {len(costs)} GPU pools, {len(violations)} policy findings "
        f"({len(mandatory)} mandatory) in {elapsed:.1f}s"
    )
    if mandatory:
        console.print(summary, markup=False)
        console.print(f"preview failed: {len(mandatory)} mandatory policy violation(s); see above", style="bold red", markup=False)
        return 1
    console.print(f"{summary}; stack {stack} is valid", style="bold green", markup=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
