"""Service annotations for the load balancers GKE makes (the serving gateway's proxies).

A LoadBalancer Service is an external passthrough Network Load Balancer by default; the
annotation `networking.gke.io/load-balancer-type: Internal` makes it an internal passthrough
one in the cluster's VPC (GKE docs, "LoadBalancer Service parameters")."""

INTERNAL = {"networking.gke.io/load-balancer-type": "Internal"}
PUBLIC: dict[str, str] = {}
