"""Service annotations for the load balancers AKS makes (the serving gateway's proxies).

A LoadBalancer Service gets a public IP on the cluster's Standard Load Balancer by default;
`service.beta.kubernetes.io/azure-load-balancer-internal: "true"` puts it on the internal
load balancer in the node subnet (AKS docs, "Use an internal load balancer")."""

INTERNAL_LB_ANNOTATION = "service.beta.kubernetes.io/azure-load-balancer-internal"
INTERNAL = {INTERNAL_LB_ANNOTATION: "true"}
PUBLIC: dict[str, str] = {}
