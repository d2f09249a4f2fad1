"""Service annotations for an existing cluster's load balancers: none known. Whatever makes
LoadBalancer Services there (MetalLB, a cloud's controller, kube-vip) takes its own
annotations, which the stack supplies (platform.workloads.serving.gateway.serviceAnnotations)."""

INTERNAL: dict[str, str] = {}
PUBLIC: dict[str, str] = {}
