"""Whether the stack's plan streams model weights (the GPU cold start's model-load part,
preview/ready.py): it holds the streaming ClusterServingRuntime with vLLM's streamer argument
(timings.MODEL_STREAMING_RUNTIME), as the image pull reads a pool's own input. Read from the
plan, so the estimate is what the stack builds."""

from __future__ import annotations

from typing import Iterable

from components.catalog import timings

from .engine import PlannedResource, input_at


def weights_streamed(resources: Iterable[PlannedResource]) -> bool:
    type_, name, argument = timings.MODEL_STREAMING_RUNTIME
    for r in resources:
        if r.type != type_ or input_at(r.inputs, "metadata.name") != name:
            continue
        containers = input_at(r.inputs, "spec.containers") or []
        if any(argument in (c.get("args") or []) for c in containers if isinstance(c, dict)):
            return True
    return False
