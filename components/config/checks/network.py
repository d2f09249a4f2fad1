"""network: address ranges that are valid IPv4 CIDRs and disjoint, and how the Kubernetes API is reached."""

from __future__ import annotations

import ipaddress
from typing import Optional

from ..model import StackConfig, to_snake


def _net(value: str) -> Optional[ipaddress.IPv4Network]:
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError:
        return None
    return net if isinstance(net, ipaddress.IPv4Network) else None


def cidr_problems(cfg: StackConfig) -> list[str]:
    out = []
    named = {}
    for key in ("vpcCidr", "podCidr", "serviceCidr"):
        value = getattr(cfg.network, to_snake(key))
        net = _net(value)
        if net is None:
            out.append(f"network.{key}: {value!r} is not an IPv4 CIDR with no host bits set, e.g. 10.0.0.0/16")
            continue
        named[key] = net
    vpc = named.get("vpcCidr")
    if vpc is not None and not 16 <= vpc.prefixlen <= 20:
        out.append(f"network.vpcCidr: {str(vpc)!r} has prefix /{vpc.prefixlen}; allowed: /16 to /20")
    keys = list(named)
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            if named[a].overlaps(named[b]):
                out.append(f"network.{b}: {str(named[b])!r} overlaps network.{a} {str(named[a])!r}; the ranges must be disjoint")
    for i, value in enumerate(cfg.network.api_allowed_cidrs):
        net = _net(value)
        if net is None:
            out.append(f"network.apiAllowedCidrs[{i}]: {value!r} is not an IPv4 CIDR with no host bits set, e.g. 203.0.113.0/24")
        elif net.prefixlen == 0 and cfg.is_prod:
            out.append(f"network.apiAllowedCidrs[{i}]: {value!r} opens the Kubernetes API to the whole internet, which prod does not allow; list your office or VPN ranges")
    return out + _private_api_problems(cfg)


def _private_api_problems(cfg: StackConfig) -> list[str]:
    """An empty apiAllowedCidrs makes the API private on every cloud, and then `pulumi up`
    only works from inside the network: the stack must choose that with privateApi."""
    net = cfg.network
    if cfg.cloud == "existing":
        return []
    if net.private_api and net.api_allowed_cidrs:
        return [f"network.privateApi: true leaves no public endpoint for the {len(net.api_allowed_cidrs)} network.apiAllowedCidrs to open; allowed: remove apiAllowedCidrs, or set privateApi false"]
    if not net.private_api and not net.api_allowed_cidrs:
        return ["network.apiAllowedCidrs: empty makes the Kubernetes API private, so `pulumi up` would have to run inside the network; allowed: list the ranges that may reach the API, or set network.privateApi: true to choose a private API"]
    return []
