"""Kubeconfigs whose credentials come from the cloud's CLI at use time (no long-lived tokens)."""

from __future__ import annotations

from typing import Optional, Sequence

import pulumi
import yaml


def exec_kubeconfig(
    cluster_name: pulumi.Input[str],
    endpoint: pulumi.Input[str],
    ca_data: pulumi.Input[str],
    command: str,
    args: Sequence[str],
    append_cluster_name: bool = False,
    install_hint: Optional[str] = None,
) -> pulumi.Output[str]:
    """A kubeconfig (YAML text) that runs `command args...` to get a token. The caller
    marks it secret; the endpoint and CA are not secret but travel with it."""

    def render(values: list) -> str:
        name, server, ca = values
        exec_args = [*args, name] if append_cluster_name else list(args)
        user: dict = {
            "exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1",
                "command": command,
                "args": exec_args,
                "interactiveMode": "IfAvailable",
                "provideClusterInfo": False,
            }
        }
        if install_hint:
            user["exec"]["installHint"] = install_hint
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority-data": ca}}],
            "users": [{"name": name, "user": user}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
        }
        return yaml.safe_dump(doc, sort_keys=True)

    return pulumi.Output.all(cluster_name, endpoint, ca_data).apply(render)
