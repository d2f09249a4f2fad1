"""One shape for every KMS key policy this program writes (cluster secrets, model store,
replica): the account statement, the stack's named administrators, then the key's users.

The account statement is KMS's own default ("Allows access to the AWS account and enables IAM
policies", AWS KMS developer guide, "Default key policy"): without it IAM policies grant
nothing on the key, so only principals named in the policy could ever update or delete it,
and a second deployer or a CI role is locked out (review D3). terraform-aws-modules/eks
v21.19.0 keeps it on by default (`kms_key_enable_default_policy = true`). The policy does not
name whoever runs `pulumi up`: it is the same for every deployer, so it never flips between runs.
"""

from __future__ import annotations

import json
from typing import Iterable

# KMS actions of a key administrator (no use of the key for data).
KMS_ADMIN_ACTIONS = [
    "kms:CancelKeyDeletion", "kms:Create*", "kms:Delete*", "kms:Describe*", "kms:Disable*", "kms:Enable*",
    "kms:Get*", "kms:List*", "kms:Put*", "kms:Revoke*", "kms:RotateKeyOnDemand", "kms:ScheduleKeyDeletion",
    "kms:TagResource", "kms:UntagResource", "kms:Update*",
]


def account_root(partition: str, account: str) -> str:
    return f"arn:{partition}:iam::{account}:root"


def key_policy(partition: str, account: str, admins: Iterable[str], statements: Iterable[dict]) -> str:
    """The key policy document: IAM in this account decides (the account statement), the
    listed admins administer it explicitly, and `statements` grant its users."""
    out: list[dict] = [{
        "Sid": "AccountIamPolicies",
        "Effect": "Allow",
        "Principal": {"AWS": account_root(partition, account)},
        "Action": "kms:*",
        "Resource": "*",
    }]
    admins = sorted(set(admins))
    if admins:
        out.append({"Sid": "KeyAdministrators", "Effect": "Allow", "Principal": {"AWS": admins}, "Action": KMS_ADMIN_ACTIONS, "Resource": "*"})
    out.extend(statements)
    return json.dumps({"Version": "2012-10-17", "Statement": out}, sort_keys=True)
