"""Entry point of the CrossGuard pack: `pulumi preview --policy-pack policies`.

Constructing the PolicyPack starts the analyzer's gRPC server and blocks, so this is the
only module that does it; tests and the offline preview import `policies.crossguard`,
`policies.rules` and `policies.offline` instead and never import this file.
"""

from pulumi_policy import EnforcementLevel, PolicyPack

try:  # the CLI runs the pack with policies/ itself on sys.path
    from crossguard import PACK_NAME, build_policies
except ImportError:  # run from the repo root: python -m policies
    from policies.crossguard import PACK_NAME, build_policies

PolicyPack(
    name=PACK_NAME,
    policies=build_policies(),
    # Each policy sets its own default; this applies only to a policy that does not.
    enforcement_level=EnforcementLevel.ADVISORY,
    description="GPU-ready Kubernetes on EKS, GKE and AKS: cluster hardening, GPU pools and Kubernetes objects.",
)
