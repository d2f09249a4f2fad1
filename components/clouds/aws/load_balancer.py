"""Service annotations for the load balancers EKS makes (the serving gateway's proxies).

No AWS Load Balancer Controller is installed: the Service controller in EKS's cloud
controller manager (kubernetes/cloud-provider-aws, the legacy `service.beta.kubernetes.io/aws-load-balancer-*`
annotations) makes the load balancer. `aws-load-balancer-type: nlb` asks it for a Network
Load Balancer (TCP passthrough: Envoy terminates TLS) instead of a Classic ELB;
`aws-load-balancer-internal` makes it internal (`-scheme` is the same for the AWS Load
Balancer Controller, kept so the Service reads the same under either controller)."""

NLB = {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}
INTERNAL = {
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
    "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
    **NLB,
}
PUBLIC = dict(NLB)
