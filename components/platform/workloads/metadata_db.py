"""A PostgreSQL metadata database for a workload controller (Argo Workflows' archive,
Katib's observation logs): one StatefulSet on the system pool, its volume on the retained
block class, backed up with the cluster.

- The password is generated (a Pulumi secret) into a Secret beside the database; the
  controller reads user and password from it.
- The volume is a claim on `ml-block-retain`: deleting the claim (or the release) keeps the
  disk. Velero's schedule covers the namespace (it excludes only velero and kube-*), and a
  pre-backup hook on the pod writes a consistent `pg_dump` onto the same volume first, so
  the snapshot Velero moves holds a dump that restores without WAL replay.
- Only the named client pods reach port 5432 (a NetworkPolicy on the database pods).
- The pod meets Pod Security `restricted`: the image's `postgres` user (uid 26), no
  privilege escalation, every capability dropped.

Upstream facts: the image is the one Argo Workflows' own postgres component pins
(quay.io/fedora/postgresql-16, argoproj/argo-workflows v4.0.6 manifests/components/postgres);
it is sclorg's PostgreSQL container: POSTGRESQL_USER, POSTGRESQL_PASSWORD and
POSTGRESQL_DATABASE create the application role and database, data under /var/lib/pgsql/data,
user `postgres` (uid 26), which reaches the server as its superuser over the local socket
(Argo's readiness probe runs `psql -U postgres` so). Velero v1.18 backup hooks
(`pre.hook.backup.velero.io/container`, `/command` as a JSON array, `/on-error`, `/timeout`
pod annotations, docs/main/backup-hooks.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from ..common import Scope, checkov_skips, metadata, sorted_dict, system_placement
from ..storage import BLOCK_RETAIN_CLASS
from .releases import image_parts

PORT = 5432
USER_KEY = "username"
PASSWORD_KEY = "password"
POSTGRES_UID = 26
DATA_PATH = "/var/lib/pgsql/data"
# The dump the pre-backup hook writes, on the volume beside the server's own data.
DUMP_PATH = f"{DATA_PATH}/ml-clusters-dump.sql"
REQUESTS = {"cpu": "100m", "memory": "256Mi"}
LIMITS = {"memory": "1Gi"}
HOOK_TIMEOUT = "10m"
SKIPS = {
    "CKV_K8S_40": "the image's postgres user is uid 26, which owns its data directory and maps to the superuser over the socket",
    "CKV_K8S_35": "the image creates its role from POSTGRESQL_PASSWORD in the environment only",
    "CKV_K8S_22": "the image's start scripts write its generated configuration under /var/lib/pgsql and /opt",
}


@dataclass(frozen=True)
class Database:
    """`name` (StatefulSet, Service and Secret), `namespace`, `database`, `user`, volume `size`,
    and the pod labels of the clients that may connect (each a selector in the namespace)."""

    name: str
    namespace: str
    database: str
    user: str
    size: str
    clients: Sequence[Mapping[str, str]]

    @property
    def host(self) -> str:
        return f"{self.name}.{self.namespace}.svc"

    @property
    def labels(self) -> dict[str, str]:
        return {"app.kubernetes.io/name": self.name, "app.kubernetes.io/component": "database"}


def backup_hook() -> dict[str, str]:
    """Velero pre-backup hook annotations: a dump of every database onto the volume."""
    command = ["/bin/sh", "-c", f"pg_dumpall --username=postgres --clean --file={DUMP_PATH}"]
    return {
        "pre.hook.backup.velero.io/container": "postgres",
        "pre.hook.backup.velero.io/command": json.dumps(command),
        "pre.hook.backup.velero.io/on-error": "Fail",
        "pre.hook.backup.velero.io/timeout": HOOK_TIMEOUT,
    }


def statefulset(db: Database, handle) -> dict[str, Any]:
    """StatefulSet keyword arguments."""
    repository, tag = image_parts("postgres")
    secret_env = [
        {"name": "POSTGRESQL_USER", "valueFrom": {"secretKeyRef": {"name": db.name, "key": USER_KEY}}},
        {"name": "POSTGRESQL_PASSWORD", "valueFrom": {"secretKeyRef": {"name": db.name, "key": PASSWORD_KEY}}},
    ]
    ready = ["pg_isready", "--host=127.0.0.1", f"--port={PORT}"]
    container = {
        "name": "postgres",
        "image": f"{repository}:{tag}",
        "imagePullPolicy": "IfNotPresent",
        "env": [*secret_env, {"name": "POSTGRESQL_DATABASE", "value": db.database}],
        "ports": [{"name": "postgres", "containerPort": PORT, "protocol": "TCP"}],
        "readinessProbe": {"exec": {"command": ready}, "periodSeconds": 10},
        "livenessProbe": {"exec": {"command": ready}, "initialDelaySeconds": 30, "periodSeconds": 30},
        "resources": {"requests": dict(REQUESTS), "limits": {"cpu": "1", **LIMITS}},
        "securityContext": {
            "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "privileged": False,
            "readOnlyRootFilesystem": False, "runAsNonRoot": True, "runAsUser": POSTGRES_UID,
        },
        "volumeMounts": [{"name": "data", "mountPath": DATA_PATH}],
    }
    placement = system_placement(handle)
    return {
        "metadata": metadata(db.name, db.namespace, db.name, "database", annotations=checkov_skips(SKIPS)),
        "spec": {
            "serviceName": db.name,
            "replicas": 1,
            "selector": {"matchLabels": db.labels},
            "template": {
                "metadata": {"labels": db.labels, "annotations": sorted_dict({**backup_hook(), **checkov_skips(SKIPS)})},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True, "runAsUser": POSTGRES_UID, "fsGroup": POSTGRES_UID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    **placement,
                },
            },
            "volumeClaimTemplates": [{
                "metadata": {"name": "data", "labels": db.labels},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": BLOCK_RETAIN_CLASS,
                    "resources": {"requests": {"storage": db.size}},
                },
            }],
            # A claim stays when the StatefulSet goes (and its disk stays with the class).
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
        },
    }


def service(db: Database) -> dict[str, Any]:
    return {
        "metadata": metadata(db.name, db.namespace, db.name, "database"),
        "spec": {"selector": db.labels, "ports": [{"name": "postgres", "port": PORT, "targetPort": PORT, "protocol": "TCP"}]},
    }


def network_policy(db: Database) -> dict[str, Any]:
    """Only the clients reach the database; nothing else in or out of its pods but DNS-free
    replies (the database opens no connection of its own)."""
    return {
        "metadata": metadata(f"{db.name}-clients", db.namespace, db.name, "network"),
        "spec": {
            "podSelector": {"matchLabels": db.labels},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{
                "from": [{"podSelector": {"matchLabels": dict(client)}} for client in db.clients],
                "ports": [{"port": PORT, "protocol": "TCP"}],
            }],
            "egress": [],
        },
    }


class MetadataDatabase(pulumi.ComponentResource):
    """`.ready`: what a client waits for (the StatefulSet and its Service and Secret)."""

    def __init__(self, name: str, db: Database, scope: Scope, namespace: Optional[pulumi.Resource],
                 block_class: Optional[pulumi.Resource], opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlclusters:platform:MetadataDatabase", name, None, opts)
        inner = Scope(scope.handle, self, scope.ready)
        password = random.RandomPassword(f"{name}-password", length=32, special=False, opts=pulumi.ResourceOptions(parent=self))
        self.secret = k8s.core.v1.Secret(
            f"{name}-secret",
            metadata=metadata(db.name, db.namespace, db.name, "database"),
            string_data={USER_KEY: db.user, PASSWORD_KEY: password.result},
            opts=inner.opts(namespace),
        )
        self.service = k8s.core.v1.Service(f"{name}-service", **service(db), opts=inner.opts(namespace))
        k8s.networking.v1.NetworkPolicy(f"{name}-policy", **network_policy(db), opts=inner.opts(namespace))
        self.statefulset = k8s.apps.v1.StatefulSet(
            f"{name}-statefulset", **statefulset(db, scope.handle), opts=inner.opts(namespace, self.secret, block_class),
        )
        self.ready: tuple[pulumi.Resource, ...] = (self.statefulset, self.service, self.secret)
        self.register_outputs({})
