"""platform.workloads.serving.modelStreaming: the streaming runtime needs KServe and a model store."""

from __future__ import annotations

from ...catalog.model_streaming import NO_STORE
from ..model import StackConfig

KEY = "platform.workloads.serving.modelStreaming"


def model_streaming_problems(cfg: StackConfig) -> list[str]:
    serving = cfg.platform.workloads.serving
    if serving.model_streaming is not True:
        return []
    if not serving.enabled:
        return [f"{KEY}: true, but KServe is off; allowed: set platform.workloads.serving.enabled true, or no modelStreaming"]
    if cfg.cloud in NO_STORE:
        return [f"{KEY}: true needs the model store to stream from, and {NO_STORE[cfg.cloud]} (cloud {cfg.cloud}); allowed: false or unset"]
    return []
