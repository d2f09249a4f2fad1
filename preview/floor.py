"""The SDK's own floor for a plan: `python -m preview.floor PLAN.json`.

Registers the resources of a JSON plan (written by `python -m preview STACK --json`) with
the same types, names, parents and inputs, as generic `pulumi.CustomResource` /
`pulumi.ComponentResource` / `pulumi.ProviderResource`, under `pulumi.runtime.set_mocks`,
after importing the same provider modules the program imports. None of the project's
code runs. What the preview costs above this is what the project adds; `make bench`
compares the two (see preview/bench.py).
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.settings import ROOT
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

# Provider packages by type-token prefix (`aws:eks/cluster:Cluster` -> pulumi_aws.eks).
PACKAGES = {"aws": "pulumi_aws", "gcp": "pulumi_gcp", "azure-native": "pulumi_azure_native", "kubernetes": "pulumi_kubernetes",
            "random": "pulumi_random"}


def provider_module(type_: str) -> str | None:
    """The Python module a type token's class lives in, e.g. `pulumi_kubernetes.apps.v1`."""
    package, _, rest = type_.partition(":")
    if package not in PACKAGES:
        return None
    module = rest.split(":")[0].split("/")[0] if package != "kubernetes" else rest.split(":")[0]
    if package == "kubernetes":
        # kubernetes:apps/v1:DaemonSet -> apps.v1; kubernetes:core/v1:Secret -> core.v1; helm.sh/v3 -> helm.v3
        group, _, version = module.partition("/")
        group = group.split(".")[0]
        module = f"{group}.{version}" if version else group
    return f"{PACKAGES[package]}.{module}" if module and module != "index" else PACKAGES[package]


def import_provider_modules(types: list[str]) -> None:
    for name in sorted({m for m in map(provider_module, types) if m}):
        try:
            importlib.import_module(name)
        except ImportError:  # a custom resource kind (e.g. a ServiceMonitor) is built with apiextensions
            importlib.import_module("pulumi_kubernetes.apiextensions" if name.startswith("pulumi_kubernetes.") else name.split(".")[0])


class EchoMocks(pulumi_mocks.Mocks):
    def new_resource(self, args):
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args):
        return {}


def register(resources: list[dict[str, Any]]) -> None:
    by_urn = {r["urn"]: r for r in resources}
    kids: dict[str | None, list[dict[str, Any]]] = {}
    for r in resources:
        kids.setdefault(r["parent"] if r["parent"] in by_urn else None, []).append(r)
    made: dict[str, pulumi.Resource] = {}

    def add(parent: str | None) -> None:
        for r in kids.get(parent, []):
            opts = pulumi.ResourceOptions(parent=made[parent]) if parent else None
            type_ = r["type"]
            if type_.startswith("pulumi:providers:"):
                made[r["urn"]] = pulumi.ProviderResource(type_.split(":")[-1], r["name"], r["inputs"], opts)
            elif r["urn"] in kids or _is_component(type_):
                made[r["urn"]] = pulumi.ComponentResource(type_, r["name"], None, opts)
            else:
                made[r["urn"]] = pulumi.CustomResource(type_, r["name"], r["inputs"], opts)
            add(r["urn"])
            if isinstance(made[r["urn"]], pulumi.ComponentResource) and not isinstance(made[r["urn"]], pulumi.CustomResource):
                made[r["urn"]].register_outputs({})

    add(None)


def _is_component(type_: str) -> bool:
    return type_.split(":")[0] not in PACKAGES


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m preview.floor PLAN.json", file=sys.stderr)
        return 2
    plan = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    resources = plan["resources"]
    import_provider_modules([r["type"] for r in resources])
    pulumi.runtime.set_mocks(EchoMocks(), project=plan["project"], stack=plan["stack"], preview=False)
    # The same entry point a program runs in (a fresh Stack component, waiting for every RPC).
    ROOT.set(None)
    _sync_await(run_in_stack(lambda: register(resources)))
    print(f"{len(resources)} resources registered", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
