"""Karpenter's metrics in Prometheus, and the capacity alerts on them (EKS, GPU pools whose
provisioner is `karpenter`; capacity.py installs the controller).

The chart's own ServiceMonitor (charts/karpenter/templates/servicemonitor.yaml at v1.14.1)
renders only when `monitoring.coreos.com/v1` is already served, and Karpenter is installed
with the cluster, before the platform's kube-prometheus-stack: `helm template` with our values
and `serviceMonitor.enabled: true` gives no ServiceMonitor without `--api-versions
monitoring.coreos.com/v1`. So the backend hands the platform a ScrapeTarget instead (the
chart's Service `karpenter` in kube-system, port `http-metrics` = controller.metrics.port
8080, selected by app.kubernetes.io/name and app.kubernetes.io/instance), and the platform
makes the ServiceMonitor after its CRDs. Neither kube-system nor the monitoring namespace
has a NetworkPolicy, so Prometheus reaches the port.

Metric names and labels, each from Karpenter v1.14.1 (aws/karpenter-provider-aws at the tag,
and kubernetes-sigs/karpenter at 6e7eab7a0f48, the core its go.mod pins; the v1.14
website/content/en/v1.14/reference/metrics.md lists them all):
- karpenter_nodeclaims_disrupted_total{reason, nodepool, capacity_type}: core
  pkg/metrics/metrics.go; pkg/controllers/nodeclaim/lifecycle/launch.go counts a NodeClaim
  whose launch failed and which was deleted with reason `insufficient_capacity` (every
  offering the NodeClaim allowed was out of capacity) or `nodeclass_not_ready`.
- karpenter_cloudprovider_instance_launch_failures_total{zone, zone_id, capacity_type,
  reason}: provider pkg/providers/instance/metrics.go and instance.go, one per CreateFleet
  offering error; reason from pkg/errors/errors.go ToReasonMessage: `VCPULimitExceeded`
  (the account's vCPU quota), `SpotQuotaExceeded`, `FleetQuotaExceeded`, ...; capacity
  errors (InsufficientInstanceCapacity, ReservationCapacityExceeded) fall through to
  `LaunchFailed`.
- karpenter_cloudprovider_errors_total{controller, method, provider, error}: core
  pkg/cloudprovider/metrics/cloudprovider.go; `error` is one of NodeClaimNotFoundError,
  NodeClassNotReadyError, InsufficientCapacityError or "" (any other).
- karpenter_nodepools_usage / karpenter_nodepools_limit{nodepool, resource_type}: core
  pkg/controllers/metrics/nodepool/controller.go; resource_type is the resource name
  lower-cased with `-` as `_` (`nodes`, `nvidia.com/gpu`, `cpu`).
- karpenter_interruption_received_messages_total{message_type}: provider
  pkg/controllers/interruption/metrics.go and messages/types.go (`spot_interrupted`,
  `capacity_reservation_interrupted`, `scheduled_change`, `rebalance_recommendation`,
  `instance_stopped`, `instance_terminated`, ...).
"""

from __future__ import annotations

from typing import Any

from ...handle import ScrapeTarget
from .capacity import NAMESPACE

# The chart's Service and its selector labels (release name `karpenter`, capacity.py).
SCRAPE_TARGET = ScrapeTarget(
    name="karpenter", namespace=NAMESPACE,
    service_selector={"app.kubernetes.io/name": "karpenter", "app.kubernetes.io/instance": "karpenter"},
    port="http-metrics",
)
JOB = SCRAPE_TARGET.name  # the ServiceMonitor's job label: the Service's name
CATEGORY = "capacity"
# Launch failures that mean an account quota, not the cloud's capacity (ToReasonMessage).
QUOTA_REASONS = ("VCPULimitExceeded", "SpotQuotaExceeded", "FleetQuotaExceeded")
# Cloud provider errors the other alerts cover or that are routine (a NodeClaim whose
# instance is already gone).
COVERED_ERRORS = ("NodeClaimNotFoundError", "InsufficientCapacityError", "NodeClassNotReadyError")
# Interruptions that take a node away: a spot reclaim, a capacity reservation (Capacity Block)
# ending, an AWS Health scheduled change. Rebalance recommendations and state changes are not.
INTERRUPTIONS = ("spot_interrupted", "capacity_reservation_interrupted", "scheduled_change")


def _rule(alert: str, expr: str, for_: str, severity: str, summary: str, description: str) -> dict[str, Any]:
    rule: dict[str, Any] = {"alert": alert, "expr": expr, "labels": {"category": CATEGORY, "severity": severity},
                            "annotations": {"description": description, "summary": summary}}
    if for_:
        rule["for"] = for_
    return rule


def rule_groups() -> list[dict[str, Any]]:
    quota = "|".join(QUOTA_REASONS)
    rules = [
        _rule(
            "KarpenterDown",
            f'absent(up{{job="{JOB}",namespace="{NAMESPACE}"}} == 1)',
            "10m", "critical",
            "Karpenter is not running or not scraped: GPU pools on Karpenter get no new nodes",
            f"No Karpenter controller in {NAMESPACE} has answered Prometheus for 10 minutes. Pending GPU pods on Karpenter pools "
            f"get no nodes and interruption warnings are not handled. Check `kubectl -n {NAMESPACE} get pods -l app.kubernetes.io/name=karpenter`.",
        ),
        _rule(
            "KarpenterNodePoolOutOfCapacity",
            # A NodeClaim is deleted with this reason when every offering it allowed had no
            # capacity. One such failure is Karpenter moving to the next tier; the alert needs
            # failures in every 10-minute window for 15 minutes.
            'sum by (nodepool) (increase(karpenter_nodeclaims_disrupted_total{reason="insufficient_capacity"}[10m])) > 0',
            "15m", "warning",
            "A Karpenter NodePool keeps failing to launch nodes for lack of capacity",
            "NodePool {{ $labels.nodepool }} has had NodeClaims fail for insufficient capacity for 25 minutes: every tier of its "
            "capacity chain (reservation, spot, on-demand) is dry for its instance type in the cluster's subnets' zones. Its pods "
            "stay Pending; add a reservation, another zone or another instance type.",
        ),
        _rule(
            "KarpenterNodeClassNotReady",
            'sum by (nodepool) (increase(karpenter_nodeclaims_disrupted_total{reason="nodeclass_not_ready"}[10m])) > 0',
            "10m", "critical",
            "A Karpenter NodePool cannot launch: its EC2NodeClass is not ready",
            "NodePool {{ $labels.nodepool }} could not launch because its EC2NodeClass is not ready (AMI, subnets, security "
            "groups, instance profile or capacity reservations not resolved). See `kubectl describe ec2nodeclass {{ $labels.nodepool }}`.",
        ),
        _rule(
            "KarpenterCapacityTypeLaunchFailures",
            # Per offering: one CreateFleet call can fail several zones. capacity_type
            # "reserved" with reason LaunchFailed is the reservation running dry: Karpenter
            # marks it unavailable and launches the pool's next tier.
            f'sum by (capacity_type, reason) (increase(karpenter_cloudprovider_instance_launch_failures_total{{reason!~"{quota}"}}[15m])) > 0',
            "", "warning",
            "EC2 refused Karpenter launches of one capacity type: the pool falls back to its next tier",
            "EC2 refused {{ $value | humanize }} {{ $labels.capacity_type }} launch offering(s) in 15 minutes ({{ $labels.reason }}; "
            "LaunchFailed covers InsufficientInstanceCapacity and ReservationCapacityExceeded). A reserved tier refused means the "
            "reservation is full or ended and new nodes come from spot or on-demand at their price.",
        ),
        _rule(
            "KarpenterQuotaExceeded",
            f'sum by (capacity_type, reason) (increase(karpenter_cloudprovider_instance_launch_failures_total{{reason=~"{quota}"}}[15m])) > 0',
            "2m", "critical",
            "EC2 refused Karpenter launches for an account quota",
            "EC2 refused {{ $labels.capacity_type }} launches with {{ $labels.reason }}: the account's quota for the instance "
            "family is used up. Request the increase the preview's quota table names (Service Quotas, EC2), e.g. Running "
            "On-Demand P instances (L-417A185B).",
        ),
        _rule(
            "KarpenterCloudProviderErrors",
            f'sum by (controller, method, error) (increase(karpenter_cloudprovider_errors_total{{error!~"{"|".join(COVERED_ERRORS)}"}}[15m])) > 0',
            "15m", "warning",
            "Karpenter's calls to EC2 keep failing",
            "Karpenter's {{ $labels.controller }} controller has had {{ $labels.method }} calls fail for 15 minutes (error "
            "{{ or $labels.error \"unclassified\" }}): permissions, API limits or EC2 errors. Read the controller's log.",
        ),
        _rule(
            "KarpenterNodePoolAtLimit",
            "max by (nodepool, resource_type) (karpenter_nodepools_usage)"
            " >= on (nodepool, resource_type) max by (nodepool, resource_type) (karpenter_nodepools_limit)",
            "15m", "warning",
            "A Karpenter NodePool is at its limit",
            "NodePool {{ $labels.nodepool }} has used all of its {{ $labels.resource_type }} limit for 15 minutes (the pool's "
            "maxNodes): more pods on it stay Pending until a node is freed. Raise gpuPools[].maxNodes if that is not intended.",
        ),
        _rule(
            "KarpenterNodesInterrupted",
            f'sum by (message_type) (increase(karpenter_interruption_received_messages_total{{message_type=~"{"|".join(INTERRUPTIONS)}"}}[15m])) > 0',
            "", "warning",
            "Karpenter received interruption notices: GPU nodes are being taken away",
            "Karpenter received {{ $value | humanize }} {{ $labels.message_type }} notice(s) in 15 minutes and drains the nodes "
            "concerned (a spot reclaim gives 2 minutes' notice). Jobs on them restart from their last checkpoint.",
        ),
    ]
    return [{"name": "ml-clusters.karpenter", "rules": rules}]
