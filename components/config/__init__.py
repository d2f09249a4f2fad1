"""The one typed model of a stack's config, and every check of user input, split by concern:

    model.py       the pydantic models (their docstrings generate docs/config.md)
    fields.py      walking the model by the keys a stack file spells
    read.py        the stack's config as Pulumi hands it over; `load` validates it in one pass
    errors.py      ConfigError and pydantic's findings as one line each
    resolve.py     places and needs made concrete against the catalog
    kubeconfig.py  the kubeconfig of cloud existing
    checks/        the checks across keys, one module per concern

Every check runs inside `load`, before a single resource is registered. The names other
layers use are re-exported here: `from components.config import StackConfig, load`.
"""

from __future__ import annotations

from .checks import config_warnings, semantic_problems
from .checks.access import azure_tenant_problems
from .errors import ConfigError
from .kubeconfig import PROJECT_ROOT, kubeconfig_path, read_kubeconfig
from .model import (
    ALERT_RECEIVER_SECRETS,
    DNS_LABEL_RE,
    POOL_NAME_RE,
    POOL_NAME_RULE,
    PROJECT,
    QUANTITY_RE,
    RESERVED_POOL_NAMES,
    Alerts,
    AwsIdentityProvider,
    AwsSettings,
    AzureSettings,
    BackupStore,
    CapacityTier,
    CpuPool,
    DisasterRecovery,
    ExistingSettings,
    GcpSettings,
    GpuPool,
    Mig,
    ModelServing,
    Monitoring,
    Network,
    NotebookProfile,
    NotebookSignIn,
    Notebooks,
    Platform,
    Queueing,
    Reservation,
    ServingNamespace,
    Sharing,
    StackConfig,
    SystemPool,
    TeamQueue,
    TimeSlicing,
    Training,
    Workloads,
    default_cluster_name,
    duration_hours,
    to_snake,
)
from .capacity import chain_text, pool_provisioner, pool_provisioners
from .read import load, load_from_pulumi, pulumi_config_values, raw_from_pulumi
from .resolve import resolve_config

__all__ = [
    "ALERT_RECEIVER_SECRETS", "DNS_LABEL_RE", "POOL_NAME_RE", "POOL_NAME_RULE", "PROJECT", "PROJECT_ROOT", "QUANTITY_RE",
    "RESERVED_POOL_NAMES", "Alerts", "AwsIdentityProvider", "AwsSettings", "AzureSettings", "BackupStore", "CapacityTier", "ConfigError",
    "CpuPool", "DisasterRecovery", "ExistingSettings", "GcpSettings", "GpuPool", "Mig", "ModelServing", "Monitoring",
    "Network", "NotebookProfile", "NotebookSignIn", "Notebooks", "Platform", "Queueing", "Reservation", "ServingNamespace", "Sharing", "StackConfig",
    "SystemPool", "TeamQueue", "TimeSlicing", "Training", "Workloads", "azure_tenant_problems", "chain_text", "config_warnings",
    "default_cluster_name", "duration_hours", "kubeconfig_path", "load", "load_from_pulumi", "pool_provisioner", "pool_provisioners", "pulumi_config_values",
    "raw_from_pulumi", "read_kubeconfig", "resolve_config", "semantic_problems", "to_snake",
]
