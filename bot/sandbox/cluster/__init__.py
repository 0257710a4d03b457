"""pimbot as a cluster of real processes: the twins in this process, pimbot replicas as
subprocesses (`pimbot serve`, or `serve_clocked` to share a movable clock) behind a router that
stands in for Azure Bot Service's load balancer, and one database. The process tests and
`bench/ack_latency.py` drive it."""

from bot.sandbox.cluster.cluster import Cluster, cluster, crowd_tenant

__all__ = ["Cluster", "cluster", "crowd_tenant"]
