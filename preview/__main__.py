"""Offline preview: `python -m preview [STACK] [--full] [--json FILE] [--manifests DIR] [--compare]`.

Evaluates the real `__main__.py` for a stack under Pulumi's mock engine (no cloud
account, no Pulumi CLI), then prints a summary, the GPU pools, the cost, the time to
ready, the disaster-recovery posture (when the stack has one) and the policy findings;
`--full` adds the resource tree and the stack outputs. Exit 0: the stack is valid and no
mandatory policy fails. Exit 1: config problems (YAML syntax included) or a mandatory
violation. Exit 2: usage errors (no such stack).
With --compare it evaluates the stack on aws, gcp and azure instead and prints them side
by side (preview/compare.py); exit 0 when at least one cloud can run it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import yaml

from components.config import ConfigError, load, raw_from_pulumi

from . import capacity, choices, compare, engine, prerequisites, ready, report, tpu
from . import dr as dr_report

DEFAULT_STACK = "dev-aws"


def _write_problems(path: Path, stack: str, file: Path, problems: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"stack": stack, "file": str(file), "valid": False, "problems": problems}
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m preview", description=__doc__.splitlines()[0])
    parser.add_argument("stack", nargs="?", default=DEFAULT_STACK,
                        help=f"stack name in stacks/, or a stack file's path (default {DEFAULT_STACK})")
    parser.add_argument("--full", action="store_true", help="also print the resource tree, counts per type and the stack outputs")
    parser.add_argument("--json", metavar="FILE", type=Path, help="write the plan as JSON (or the config problems, when invalid)")
    parser.add_argument("--manifests", metavar="DIR", type=Path,
                        help="write one YAML file per Kubernetes object and each Helm release's values (stale files removed)")
    parser.add_argument("--quiet", action="store_true", help="print only findings and the summary line")
    parser.add_argument("--compare", action="store_true", help="evaluate the stack on aws, gcp and azure and print them side by side")
    args = parser.parse_args(argv)
    console = report.console()

    started = time.perf_counter()
    stack, path = engine.stack_name_and_file(args.stack)

    def fail(problems: list[str]) -> int:
        for line in problems:
            console.print(line, style="red", markup=False)
        if args.json:
            _write_problems(args.json, stack, path, problems)
        console.print(
            f"preview failed: {report.plural(len(problems), 'problem')} in {path.name}; nothing was created",
            style="bold red", markup=False,
        )
        return 1

    try:
        values, secret_keys = engine.read_stack_config(args.stack)
    except FileNotFoundError:
        known = ", ".join(engine.available_stacks()) or "none"
        console.print(f"stack {args.stack!r}: no file {path}; stacks: {known}", style="red", markup=False)
        return 2
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        return fail([f"{path}{at}: not valid YAML: {problem}"])
    except engine.StackFileError as err:
        return fail([f"{path}{line}" for line in err.problems])

    if args.compare:
        return compare.run(console, stack, values, secret_keys, args.json)

    try:
        plan = engine.run_program(stack, values, secret_keys)
    except ConfigError as err:
        return fail(err.problems)

    raw, _ = raw_from_pulumi(values)
    cfg = load(raw)
    violations = report.evaluate_policies(plan, cfg.environment)
    # An idle DR standby's GPU pools are at 0 nodes: cost what is built.
    built = dr_report.built_config(cfg, stack)
    pools = report.pool_costs(built)
    cost = report.stack_cost(built, plan, pools)
    dr_info = dr_report.summary(cfg, stack)
    ttr = ready.estimate(plan, [p.name for p in cfg.gpu_pools], [p.name for p in cfg.tpu_pools])
    tpu_costs = tpu.tpu_pool_costs(built)
    elapsed = time.perf_counter() - started

    if not args.quiet:
        report.print_header(console, plan, cfg)
        choices.print_choices(console, cfg.choices)
        if args.full:
            report.print_tree(console, plan)
        report.print_pools(console, pools)
        tpu.print_tpu_pools(console, tpu_costs)
        capacity.print_capacity(console, capacity.capacity_rows(built))
        capacity.print_quotas(console, capacity.quota_rows(built))
        prerequisites.print_prerequisites(console, cfg)
        report.print_cost(console, cost)
        report.print_time_to_ready(console, ttr)
        dr_report.print_dr(console, dr_info)
        if plan.outputs.get("notebooks"):
            report.print_line(console, f"notebooks: {plan.outputs['notebooks']}", markup=False)
        if args.full:
            report.print_outputs(console, plan)
    report.print_policy(console, violations)
    # What the program logged with pulumi.log.warn (e.g. documentation CIDRs): valid, but
    # probably not meant. `pulumi up` shows the same lines.
    for warning in plan.warnings:
        console.print(f"warning: {warning}", style="yellow", markup=False)

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(report.plan_json(plan, pools, violations, cost, ttr, dr=dr_info, choices=choices.choices_json(cfg.choices),
                                                tpu_pools=[c.to_json() for c in tpu_costs], capacity=capacity.capacity_json(built)), encoding="utf-8")
    if args.manifests:
        objects, values_files = report.write_manifests(plan, args.manifests)
        console.print(f"wrote {report.plural(objects, 'manifest')} and {report.plural(values_files, 'Helm values file')} "
                      f"to {args.manifests}", markup=False)

    mandatory = [v for v in violations if v.level == "mandatory"]
    summary = (
        f"{report.plural(len(plan.resources), 'resource')}, {report.plural(len(pools), 'GPU pool')}, "
        f"{report.plural(len(violations), 'policy finding')} ({len(mandatory)} mandatory) in {elapsed:.1f}s"
    )
    if mandatory:
        console.print(summary, markup=False)
        console.print(f"preview failed: {report.plural(len(mandatory), 'mandatory policy violation')}; see above",
                      style="bold red", markup=False)
        return 1
    console.print(f"{summary}; stack {stack} is valid", style="bold green", markup=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
