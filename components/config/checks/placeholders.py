"""Values that only documentation uses: no real deployment works with them.

A stack copied from an example keeps its account ids, issuer URLs, group addresses and API
ranges until someone replaces them, and the clouds then fail late and obscurely (an IAM
principal that does not exist, an issuer nobody can reach, an API nobody can call). So every
string in the stack is checked for the values the standards and the clouds' docs reserve:

- RFC 5737 IPv4 ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) and RFC 3849's IPv6
  2001:db8::/32, in a CIDR or an address;
- RFC 2606 / RFC 6761 names (example.com, example.net, example.org, and anything under
  .example, .test, .invalid), in a URL, an e-mail address or a host name;
- the AWS account ids AWS's own documentation uses (123456789012, 111122223333,
  444455556666, 777788889999) in an ARN or alone;
- the all-zero UUID, where an Azure tenant, subscription or group id belongs;
- the all-zero EC2 capacity reservation id (`cr-00000000000000000`), where a pool's reserved
  tier names an ODCR or Capacity Block the team has not bought yet;
- an Azure resource id under the all-zero subscription (a capacity reservation group the team
  has not bought yet);
- a GKE reservation named `placeholder` or `<anything>-placeholder` in a pool's reserved tier
  (GCP has no reserved example names; this is the program's own marker).

Outside prod each is a warning naming the key. In prod it is a config error, except in the
offline preview, which shows the reference stacks (they carry such values on purpose) and says
that a real deployment refuses them. A secret's value is never printed, only its key.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Iterator

from ..model import DOCUMENTATION_RANGES, StackConfig

DOCUMENTATION_V6 = ipaddress.ip_network("2001:db8::/32")
RESERVED_DOMAINS = ("example.com", "example.net", "example.org")
RESERVED_TLDS = ("example", "test", "invalid")
AWS_DOCUMENTATION_ACCOUNTS = ("123456789012", "111122223333", "444455556666", "777788889999")
ZERO_UUID = "00000000-0000-0000-0000-000000000000"
ZERO_CAPACITY_RESERVATION = "cr-" + "0" * 17

_HOST_RE = re.compile(r"(?:://|@)([A-Za-z0-9.-]+)")
_ACCOUNT_RE = re.compile(r"(?:^|:)([0-9]{12})(?::|$)")


def _leaves(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _leaves(item, f"{path}[{i}]")
    elif isinstance(value, str):
        yield path, value


def _reserved_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in RESERVED_DOMAINS) or host.rsplit(".", 1)[-1] in RESERVED_TLDS


def why_placeholder(value: str) -> str:
    """Why `value` is a documentation placeholder, or '' when it is not."""
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        net = None
    if net is not None:
        if net.version == 4 and any(net.overlaps(doc) for doc in DOCUMENTATION_RANGES):
            return "is a documentation range (RFC 5737) that no real client comes from"
        if net.version == 6 and net.overlaps(DOCUMENTATION_V6):
            return "is a documentation range (RFC 3849) that no real client comes from"
        return ""
    hosts = _HOST_RE.findall(value) or ([value] if "." in value and " " not in value else [])
    if any(_reserved_host(h) for h in hosts):
        return "names a reserved example domain (RFC 2606) that no real service answers for"
    if any(a in AWS_DOCUMENTATION_ACCOUNTS for a in _ACCOUNT_RE.findall(value)):
        return "holds an AWS account id from AWS's documentation, not one of yours"
    if value.lower() == ZERO_UUID:
        return "is the all-zero UUID, not a real tenant, subscription or object id"
    if value == ZERO_CAPACITY_RESERVATION:
        return "is the all-zero capacity reservation id, not a reservation of yours"
    if value.lower().startswith(f"/subscriptions/{ZERO_UUID}/"):
        return "is under the all-zero subscription id, not a resource of yours"
    return ""


_RESERVATION_NAME_PATH = re.compile(r"^gpuPools\[\d+\]\.capacity\[\d+\]\.reserved\.name$")


def why_placeholder_at(path: str, value: str) -> str:
    """Placeholders only a key's meaning reveals: a GKE reservation named `placeholder`."""
    if _RESERVATION_NAME_PATH.match(path) and re.split(r"[-/]", value)[-1] == "placeholder":
        return "marks a reservation nobody has bought yet (a name ending in placeholder)"
    return ""


def placeholder_lines(raw: dict[str, Any], secret_keys: set[str]) -> list[str]:
    """One line per placeholder in `raw` (the stack's keys as the stack file spells them)."""
    out = []
    for path, value in _leaves({key: raw[key] for key in sorted(raw)}, ""):
        why = why_placeholder(value) or why_placeholder_at(path, value)
        if not why:
            continue
        top = re.split(r"[.\[]", path, maxsplit=1)[0]
        shown = "(secret)" if top in secret_keys else repr(value)
        allowed = ALLOWED_INSTEAD.get(re.sub(r"\[\d+\]", "", path), "a value of your own")
        out.append(f"{path}: {shown} {why}; allowed: {allowed}")
    return out


# What to put instead, where the key says more than "a value of your own".
ALLOWED_INSTEAD = {
    "network.apiAllowedCidrs": "your office, VPN or CI egress range, or nobody reaches the API",
    "gpuPools.capacity.reserved.id": ("the id of a reservation you hold (aws: an ODCR or Capacity Block, cr- and 17 hex digits; "
                                      "azure: a capacity reservation group's resource id), or drop the reserved tier"),
    "gpuPools.capacity.reserved.name": "the name of a GCE reservation you hold (or projects/<project>/reservations/<name>), or drop the reserved tier",
}


def placeholder_problems(cfg: StackConfig, raw: dict[str, Any], secret_keys: set[str], real_deployment: bool) -> list[str]:
    """Config errors: placeholders in a prod stack that is really being deployed."""
    return placeholder_lines(raw, secret_keys) if cfg.is_prod and real_deployment else []


def placeholder_warnings(cfg: StackConfig, raw: dict[str, Any], secret_keys: set[str], real_deployment: bool) -> list[str]:
    """Warnings: placeholders outside prod, and in a prod stack the offline preview shows,
    saying that a real deployment refuses them."""
    if not cfg.is_prod:
        return placeholder_lines(raw, secret_keys)
    if real_deployment:
        return []
    return [f"{line}; a real deployment of this prod stack refuses it" for line in placeholder_lines(raw, secret_keys)]
