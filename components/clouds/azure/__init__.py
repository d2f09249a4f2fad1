"""azure backend: cluster.py builds the cluster and returns its ClusterHandle."""
