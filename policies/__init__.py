"""The ml-clusters CrossGuard policy pack.

Rules are plain functions in `policies.rules`; `policies/__main__.py` is the only place
that builds the `PolicyPack` (constructing one starts a gRPC server and blocks), and
`policies.offline` runs the same rules in-process for the offline preview and tests.
This module deliberately does nothing on import.
"""
