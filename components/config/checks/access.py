"""Who may reach the cluster: EKS access entries and identity provider, groups, the Azure tenant."""

from __future__ import annotations

import re
from typing import Any, Optional

from ..model import AWS_ARN_RE, AWS_STS_ARN_RE, StackConfig


def _arn_problem(where: str, arn: str) -> Optional[str]:
    sts = AWS_STS_ARN_RE.match(arn)
    if sts:
        partition, account, role = sts.groups()
        return (f"{where}: {arn!r} is an STS session ARN, which EKS access entries do not take; "
                f"allowed: the IAM role behind it, e.g. arn:{partition}:iam::{account}:role/{role} (with its path, if any)")
    if not AWS_ARN_RE.match(arn):
        return f"{where}: {arn!r} is not an IAM role or user ARN, e.g. arn:aws:iam::123456789012:role/platform-admins"
    return None


def aws_access_problems(cfg: StackConfig) -> list[str]:
    """EKS access entries: IAM ARNs only, and one entry per principal (EKS answers a second
    entry for the same principal with 409 ResourceInUseException)."""
    aws = cfg.aws
    assert aws is not None
    out = []
    admins = {}
    for i, arn in enumerate(aws.admin_principal_arns):
        problem = _arn_problem(f"aws.adminPrincipalArns[{i}]", arn)
        if problem:
            out.append(problem)
        elif arn in admins:
            out.append(f"aws.adminPrincipalArns[{i}]: {arn!r} is already listed as adminPrincipalArns[{admins[arn]}]; each principal gets one access entry")
        admins.setdefault(arn, i)
    for group, arns in sorted(aws.group_principal_arns.items()):
        if not group.strip() or group != group.strip() or group.startswith("system:"):
            out.append(f"aws.groupPrincipalArns.{group}: not a group EKS can map; allowed: a group name without surrounding spaces, not starting with system:")
        if not arns:
            out.append(f"aws.groupPrincipalArns.{group}: lists no principals; allowed: one or more IAM role or user ARNs")
        for i, arn in enumerate(arns):
            where = f"aws.groupPrincipalArns.{group}[{i}]"
            problem = _arn_problem(where, arn)
            if problem:
                out.append(problem)
            elif arn in admins:
                out.append(f"{where}: {arn!r} already has an access entry as aws.adminPrincipalArns[{admins[arn]}]; EKS takes one entry per principal; allowed: drop it here (admins see every namespace)")
    idp = aws.identity_provider
    if idp is not None and not re.match(r"^https://[^\s/]+(/\S*)?$", idp.issuer_url):
        out.append(f"aws.identityProvider.issuerUrl: {idp.issuer_url!r} is not an https URL; allowed: the provider's issuer, e.g. https://login.example.com")
    return out


def eks_group_warnings(cfg: StackConfig) -> list[str]:
    """A namespace's RoleBinding names a group; on EKS only access entries or an OIDC
    identity provider put users in groups, so a group nothing supplies is inert. A warning,
    not an error: the cluster still works, and a portable stack (one file for every cloud,
    preview --compare) cannot carry EKS-only settings."""
    if cfg.cloud != "aws":
        return []
    aws = cfg.settings("aws")
    if aws.identity_provider is not None:
        return []
    out = []
    for i, ns in enumerate(cfg.namespaces):
        if ns.group not in aws.group_principal_arns:
            out.append(
                f"namespaces[{i}].group: {ns.group!r} is given to nobody on EKS: no aws.groupPrincipalArns entry maps IAM principals to it "
                f"and no aws.identityProvider supplies groups, so its RoleBinding grants nothing; add aws.groupPrincipalArns.{ns.group}, or set aws.identityProvider"
            )
    return out


def azure_tenant_problems(raw: dict[str, Any], subscription_tenant: Optional[str]) -> list[str]:
    """Azure RBAC for Kubernetes Authorization needs the Entra tenant to be the tenant of the
    cluster's subscription (AKS docs, manage-azure-rbac), and this program always turns Azure
    RBAC on: a tenantId other than the provider's is refused."""
    azure = raw.get("azure")
    tenant = azure.get("tenantId") if isinstance(azure, dict) else None
    if not tenant or not subscription_tenant or str(tenant).lower() == subscription_tenant.lower():
        return []
    return [f"azure.tenantId: {tenant!r} is not the subscription's tenant (azure-native:tenantId {subscription_tenant!r}); "
            f"Azure RBAC for Kubernetes needs the subscription's own tenant; allowed: {subscription_tenant} or leave tenantId unset"]
