"""`make bench`: the preview's whole-process time against the SDK's floor (preview/floor.py).

For prod-aws and a generated stack of 64 GPU pools x 64 namespaces: write each stack's JSON
plan once, then run `python -m preview.floor PLAN` and `python -m preview STACK` alternately
(so a busy machine slows both alike), and print the median times and their ratio.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "out" / "bench"


def large_stack(pools: int = 64, namespaces: int = 64) -> dict:
    """prod-aws (its network, monitoring, alerts, DR: a stack the prod policies pass) with
    `pools` GPU pools and `namespaces` serving namespaces instead of its own."""
    doc = yaml.safe_load((ROOT / "stacks" / "Pulumi.prod-aws.yaml").read_text(encoding="utf-8"))
    types = ["g6.xlarge", "g6.2xlarge", "g6e.xlarge", "g5.xlarge"]  # one GPU each: 128 at most, within prod's budget
    doc["config"]["ml-clusters:gpuPools"] = [
        {"name": f"gpu{i:02d}", "instanceType": types[i % len(types)], "minNodes": 0, "maxNodes": 2} for i in range(pools)
    ]
    doc["config"]["ml-clusters:namespaces"] = [
        {"name": f"team{i:02d}", "team": f"team{i:02d}", "group": f"ml-team{i:02d}", "gpus": 2} for i in range(namespaces)
    ]
    # prod-aws's per-team queue settings name its own teams and pools: each generated team
    # queues its GPUs on one pool of its own, so every pool holds what its teams queue
    # (the config's capacity check).
    workloads = doc["config"].get("ml-clusters:platform", {}).get("workloads", {})
    if "queueing" in workloads:
        workloads["queueing"]["queues"] = [{"team": f"team{i:02d}", "gpus": {f"gpu{i % pools:02d}": 2}} for i in range(namespaces)]
    # prod-aws publishes its models from its own namespace: here from the first generated one.
    for model in workloads.get("serving", {}).get("gateway", {}).get("models", []):
        model["namespace"] = "team00"
    return doc


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall-clock seconds of the whole process, and its CPU seconds (user + system): on a
    shared machine the CPU time is the steadier figure."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({result.returncode}): {result.stderr.strip()}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m preview.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs of each, alternating (default 5)")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    big = OUT / "Pulumi.bench-64x64.yaml"
    big.write_text(yaml.safe_dump(large_stack(), sort_keys=False), encoding="utf-8")
    py = sys.executable
    rows = []
    for label, stack in (("prod-aws", "prod-aws"), ("64 GPU pools x 64 namespaces", str(big))):
        plan = OUT / f"{Path(stack).stem}.json"
        subprocess.run([py, "-m", "preview", stack, "--quiet", "--json", str(plan)], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        floor, preview = [], []
        for _ in range(args.rounds):
            floor.append(timed([py, "-m", "preview.floor", str(plan)]))
            preview.append(timed([py, "-m", "preview", stack]))
        count = len(json.loads(plan.read_text())["resources"])
        f, p = statistics.median(t for t, _ in floor), statistics.median(t for t, _ in preview)
        fc, pc = statistics.median(c for _, c in floor), statistics.median(c for _, c in preview)
        rows.append((p / f, pc / fc))
        print(f"{label}: {count} resources; wall floor {f:.2f}s, preview {p:.2f}s, ratio {p / f:.2f}x; "
              f"CPU floor {fc:.2f}s, preview {pc:.2f}s, ratio {pc / fc:.2f}x (medians of {args.rounds})", flush=True)
    print(f"worst ratio: wall {max(w for w, _ in rows):.2f}x, CPU {max(c for _, c in rows):.2f}x (target 1.3x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
