"""Alertmanager's routing and receivers from ``[plugins.prometheus.alerting]``.

Nothing secret enters the Application's values: the smtp password, the ntfy token and every webhook URL
(which may carry a token) are read by Alertmanager from files (``auth_password_file``, ``url_file``,
``credentials_file``; Alertmanager v0.34.0 config/notifiers.go and notify/webhook/config.go) of Secrets the
operator mounts at ``/etc/alertmanager/secrets/<secret>/<key>`` (``alertmanagerSpec.secrets``).

ntfy: Alertmanager v0.34.0 has no ntfy receiver, so it is a webhook; ntfy renders Alertmanager's payload
with its built-in ``alertmanager`` template (``?template=alertmanager``, ntfy docs/publish.md,
"Pre-defined templates").
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ink.context import ServiceContext
from ink.models import SecretValue

SECRETS_DIR = "/etc/alertmanager/secrets"
RECEIVER = "ink"


def receiver_secret(alerting: Any) -> dict[str, SecretValue]:
    """The sealed Secret's keys: the ntfy URL and token, each webhook URL."""
    from ink_plugin_prometheus import NTFY_TOKEN

    data: dict[str, SecretValue] = {}
    if alerting.ntfy_url:
        data["ntfy-url"] = ntfy_url(alerting.ntfy_url)
        if alerting.ntfy_token:
            data["ntfy-token"] = NTFY_TOKEN
    for index, url in enumerate(alerting.webhook_urls):
        data[f"webhook-{index}"] = url
    return data


def ntfy_url(url: str) -> str:
    """The topic URL with ntfy's Alertmanager template selected (kept if the user already chose one)."""
    parts = urlsplit(url)
    if "template=" in parts.query:
        return url
    query = f"{parts.query}&template=alertmanager" if parts.query else "template=alertmanager"
    return urlunsplit(parts._replace(query=query))


def config(ctx: ServiceContext, secret_names: list[str]) -> dict[str, Any]:
    """``alertmanager.config``'s route and receivers (the chart's inhibit rules and templates stay)."""
    from ink_plugin_prometheus import RECEIVERS_SECRET

    alerting = ctx.settings.alerting  # type: ignore[attr-defined]
    receiver: dict[str, Any] = {"name": RECEIVER}
    resolved = alerting.send_resolved
    mail = ctx.bindings.get(f"smtp/{ctx.name}")
    if alerting.email_to and mail is None:
        ctx.warn("[plugins.prometheus.alerting] email_to is set but no smtp provider is enabled: no e-mail is sent")
    if alerting.email_to and mail is not None:
        email: dict[str, Any] = {
            "to": ", ".join(alerting.email_to),
            "from": mail.from_address,  # type: ignore[attr-defined]
            "smarthost": f"{mail.host}:{mail.port}",  # type: ignore[attr-defined]
            "send_resolved": resolved,
            # starttls: Alertmanager upgrades when the server offers it and require_tls (default true) insists;
            # tls: implicit TLS from the first byte; none: plain SMTP (an in-cluster relay).
            "require_tls": mail.tls != "none",  # type: ignore[attr-defined]
        }
        if mail.tls == "tls":  # type: ignore[attr-defined]
            email["force_implicit_tls"] = True
        if mail.username:  # type: ignore[attr-defined]
            password = mail.password  # type: ignore[attr-defined]
            email["auth_username"] = mail.username  # type: ignore[attr-defined]
            email["auth_password_file"] = f"{SECRETS_DIR}/{password.name}/{password.key}"
            secret_names.append(password.name)
        receiver["email_configs"] = [email]
    webhooks: list[dict[str, Any]] = []
    if alerting.ntfy_url:
        ntfy: dict[str, Any] = {"url_file": f"{SECRETS_DIR}/{RECEIVERS_SECRET}/ntfy-url", "send_resolved": resolved}
        if alerting.ntfy_token:
            ntfy["http_config"] = {
                "authorization": {"type": "Bearer", "credentials_file": f"{SECRETS_DIR}/{RECEIVERS_SECRET}/ntfy-token"}
            }
        webhooks.append(ntfy)
    for index, _ in enumerate(alerting.webhook_urls):
        webhooks.append({"url_file": f"{SECRETS_DIR}/{RECEIVERS_SECRET}/webhook-{index}", "send_resolved": resolved})
    if webhooks:
        receiver["webhook_configs"] = webhooks
        secret_names.append(RECEIVERS_SECRET)
    configured = len(receiver) > 1
    if not configured:
        ctx.warn(
            "no alert receiver is configured: alerts go nowhere (set [plugins.prometheus.alerting] email_to, "
            "ntfy_url or webhook_urls)"
        )
    return {
        "route": {
            "group_by": ["namespace", "alertname"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "12h",
            "receiver": RECEIVER if configured else "null",
            # The chart's Watchdog always fires (it proves the pipeline works); it goes nowhere, as upstream.
            "routes": [{"receiver": "null", "matchers": ['alertname = "Watchdog"']}],
        },
        "receivers": [{"name": "null"}, *([receiver] if configured else [])],
    }
