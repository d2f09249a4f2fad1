"""Alert receivers: routes name only receivers whose address is set, and addresses are secrets."""

from __future__ import annotations

from typing import Any

from ..model import ALERT_RECEIVER_SECRETS, SECRET_KEYS, StackConfig


def alert_problems(cfg: StackConfig) -> list[str]:
    """Alert routes name only receivers whose secret is set."""
    out = []
    receivers = cfg.alert_receivers()
    alerts = cfg.platform.monitoring.alerts
    for severity in ("critical", "warning"):
        for i, kind in enumerate(getattr(alerts, severity) or []):
            if kind not in receivers:
                key = ALERT_RECEIVER_SECRETS[kind]
                out.append(f"platform.monitoring.alerts.{severity}[{i}]: {kind!r} has no address: the secret {key} is not set; allowed: set it with `pulumi config set --secret {key} <value>`, or one of: {', '.join(receivers) or 'no receiver is set'}")
    if alerts.slack_channel and "slack" not in receivers:
        out.append("platform.monitoring.alerts.slackChannel: set but alertSlackWebhookUrl is not; allowed: set the secret alertSlackWebhookUrl, or remove slackChannel")
    if receivers and not cfg.platform.monitoring.enabled:
        out.append(f"{ALERT_RECEIVER_SECRETS[next(iter(receivers))]}: set but platform.monitoring.enabled is false, so no Alertmanager would use it; allowed: enable monitoring or remove the key")
    return out


def plain_secret_problems(raw: dict[str, Any], secret_keys: set[str]) -> list[str]:
    """Receiver addresses and the backup repository password must be Pulumi secrets: one in
    plain text is in the stack file for anyone with the repository, and in the state unencrypted."""
    out = []
    for key in sorted(SECRET_KEYS):
        if key in raw and key not in secret_keys:
            out.append(f"{key}: set in plain text; allowed: a secret, `pulumi config set --secret {key} <value>` (the stack file then holds `secure: ...`)")
    return out
