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


def provider_class(type_: str):
    """The provider SDK class a type token names (`aws:eks/cluster:Cluster` ->
    pulumi_aws.eks.Cluster), loading the module that defines it as the program does."""
    package, _, rest = type_.partition(":")
    if package == "pulumi" and rest.startswith("providers:"):
        name = rest.split(":", 1)[1]
        return importlib.import_module(PACKAGES[name]).Provider if name in PACKAGES else None
    if package not in PACKAGES:
        return None
    module, _, kind = rest.rpartition(":")
    if package == "kubernetes":
        group, _, version = module.partition("/")
        group = {"helm.sh": "helm"}.get(group, group.split(".")[0] if "." not in group or group.endswith("k8s.io") else "")
        try:
            return getattr(importlib.import_module(f"pulumi_kubernetes.{group}.{version}"), kind)
        except (ImportError, AttributeError, ValueError):  # a custom resource kind (ServiceMonitor, ...)
            return importlib.import_module("pulumi_kubernetes.apiextensions").CustomResource
    sub = module.split("/")[0]
    base = importlib.import_module(PACKAGES[package])
    owner = base if sub == "index" else getattr(base, sub.replace("-", "_"), None) or importlib.import_module(f"{PACKAGES[package]}.{sub}")
    return getattr(owner, kind, None)


def import_provider_modules(types: list[str]) -> None:
    for type_ in sorted(set(types)):
        provider_class(type_)


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
