"""What the Pulumi engine and the providers' Read do with a pool's size on `pulumi up`,
written once so the day-2 tests replay it over the program's real plans.

Sources (read at these versions; no code copied):
- pulumi/pulumi pkg/resource/deploy/step_generator.go (tag v3.259.0 snapshot, unchanged in the
  3.27x line installed here, pulumi 3.272.0): on an update the engine calls
  processIgnoreChanges(inputs, old.Inputs, goal.IgnoreChanges), which resets each ignored
  path in the new inputs to its value in the *old inputs recorded in state*.
- pulumi/pulumi pkg/cmd/pulumi/operations/io.go getRefreshOption: without --refresh on the
  command line, `options.refresh: always` in Pulumi.yaml turns the refresh on for
  up/preview/destroy (sdk/go/common/workspace/project.json: "Set to \"always\" to refresh the
  state before performing a Pulumi operation").
- pulumi/pulumi-terraform-bridge pkg/tfbridge/schema.go ExtractInputsFromOutputs (v3.136.0):
  on refresh, every input already present in state is replaced by the live value read back
  (pulumi-aws's NodeGroup scalingConfig.desiredSize).
- pulumi/pulumi-azure-native provider/pkg/provider/provider.go Read (v3): on refresh the
  difference between the old and the new output projections is applied to the stored inputs,
  so a count the autoscaler changed becomes the recorded input of the AgentPool.
"""

from __future__ import annotations

import copy
from typing import Any


def _split(path: str) -> list[str]:
    return path.split(".")


def get_path(values: dict[str, Any], path: str) -> Any:
    node: Any = values
    for key in _split(path):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def set_path(values: dict[str, Any], path: str, value: Any) -> None:
    keys = _split(path)
    node = values
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value


def refresh(state_inputs: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    """The recorded inputs after a refresh: each path already recorded takes its live value
    (the bridge's isRefresh branch; azure-native applies the live change the same way)."""
    out = copy.deepcopy(state_inputs)
    for path, value in live.items():
        if get_path(out, path) is not None:
            set_path(out, path, value)
    return out


def inputs_sent(new_inputs: dict[str, Any], state_inputs: dict[str, Any], ignore_changes: tuple[str, ...]) -> dict[str, Any]:
    """What the engine hands the provider's Update: the program's new inputs with every
    ignored path taken from the recorded (old) inputs."""
    out = copy.deepcopy(new_inputs)
    for path in ignore_changes:
        old = get_path(state_inputs, path)
        if old is not None:
            set_path(out, path, old)
    return out
