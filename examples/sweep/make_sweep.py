"""A hyperparameter sweep as queued Jobs: one Job per trial, all sent to the team's queue.

    python examples/sweep/make_sweep.py --trials 50 | kubectl apply -n <team-namespace> -f -

Kueue holds the Jobs suspended and starts as many as the team's ClusterQueue has GPUs for,
borrowing GPUs other teams leave idle; the rest wait their turn (BestEffortFIFO). Each
trial asks for one GPU, so a sweep of 50 fits however large the team's quota is: it only
changes how many run at once.

When the team that lent GPUs submits its own queued jobs, Kueue reclaims the quota: it
evicts borrowing trials (their Jobs are suspended and requeued, and run again from the
start). Model servers and notebooks do not reclaim anything: they run on GPUs Kueue never
hands out (queueing.reservedGpus). A trial pod evicted by anything else (a node drain, the
scheduler preempting batch priority) is retried without counting against backoffLimit:
podFailurePolicy ignores pods with the DisruptionTarget condition.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from typing import Any

import yaml

IMAGE = "pytorch/pytorch:2.13.0-cuda13.0-cudnn9-runtime@sha256:db80a41f8428644cebcb3d75b0b62df334ab6c0e75785951eb25f48bfbd42407"
LEARNING_RATES = ("0.3", "0.1", "0.03", "0.01", "0.003")
BATCH_SIZES = ("32", "64", "128", "256", "512")
SEEDS = ("1", "2")

TRIAL = r"""
import os, torch
torch.manual_seed(int(os.environ["SEED"]))
model = torch.nn.Linear(128, 10).cuda()
opt = torch.optim.SGD(model.parameters(), lr=float(os.environ["LR"]))
batch = int(os.environ["BATCH"])
for step in range(500):
    x, y = torch.randn(batch, 128).cuda(), torch.randint(0, 10, (batch,)).cuda()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    opt.zero_grad(); loss.backward(); opt.step()
print(f"trial {os.environ['TRIAL']} lr={os.environ['LR']} batch={batch} final_loss={loss.item():.4f}")
"""


def trial_job(index: int, lr: str, batch: str, seed: str, sweep: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": f"{sweep}-{index:03d}",
            "labels": {"kueue.x-k8s.io/queue-name": "default", "ml-clusters.io/sweep": sweep},
        },
        "spec": {
            # Created suspended: Kueue unsuspends it on admission (it would suspend it anyway).
            "suspend": True,
            "backoffLimit": 1,
            # A disrupted trial pod (eviction, preemption, node loss) is replaced without
            # using up backoffLimit; only the trial's own failures count (batch/v1 podFailurePolicy).
            "podFailurePolicy": {"rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]},
            "ttlSecondsAfterFinished": 86400,
            "template": {
                "metadata": {"labels": {"ml-clusters.io/sweep": sweep}},
                "spec": {
                    "restartPolicy": "Never",
                    "priorityClassName": "ml-batch-low",
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": "trial",
                        "image": IMAGE,
                        "command": ["python", "-c", TRIAL],
                        "env": [
                            {"name": "TRIAL", "value": str(index)},
                            {"name": "LR", "value": lr},
                            {"name": "BATCH", "value": batch},
                            {"name": "SEED", "value": seed},
                            {"name": "HOME", "value": "/tmp"},
                        ],
                        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                        "resources": {
                            "requests": {"cpu": "1", "memory": "4Gi", "nvidia.com/gpu": 1},
                            "limits": {"memory": "4Gi", "nvidia.com/gpu": 1},
                        },
                    }],
                },
            },
        },
    }


def sweep(trials: int, name: str = "lr-sweep") -> list[dict[str, Any]]:
    grid = itertools.cycle(itertools.product(LEARNING_RATES, BATCH_SIZES, SEEDS))
    return [trial_job(i, *next(grid), sweep=name) for i in range(trials)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--name", default="lr-sweep", help="sweep name: the Jobs' name prefix and label")
    args = parser.parse_args(argv)
    yaml.safe_dump_all(sweep(args.trials, args.name), sys.stdout, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
