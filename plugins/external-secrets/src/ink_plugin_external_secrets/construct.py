"""The ExternalSecrets, the in-cluster generation of credentials, the ClusterSecretStore and the operator."""

from __future__ import annotations

import hashlib
import math
import re
import string

from ink import kube
from ink.context import ServiceContext
from ink.models import GeneratedSecret, ResolvedSecret, SecretTemplate, SecretValue, UserSecret

STORE = "ink-vault"
# The contract with ink-plugin-vault: Helm release `vault` in namespace `vault`, its CA in Secret vault-server-tls.
VAULT_URL = "https://vault.vault.svc:8200"
VAULT_CA_SECRET = "vault-server-tls"
VAULT_NAMESPACE = "vault"
KV_MOUNT = "ink"
AUTH_MOUNT = "kubernetes"
AUTH_ROLE = "external-secrets"
# The chart's names for release "external-secrets" (fullname = release name): Vault's role is bound to this account.
SERVICE_ACCOUNT = "external-secrets"
PROPERTY = "value"  # every KV entry ink reads or writes holds its value under this property
GENERATOR_API = "generators.external-secrets.io/v1alpha1"
PUSHED = "pushed"  # ctx.cache key: KV path → GeneratedSecret, collected while Secrets are provided
USERS = "users"  # ctx.cache key: names of the user secrets the ExternalSecrets read


def remote_key(spec_id: str, generation: int) -> str:
    """The credential's KV path under the ``ink`` mount: ``<id>``, or ``<id>/g<n>`` once rotated n times."""
    return f"{spec_id}/g{generation}" if generation else spec_id


def user_key(name: str) -> str:
    return f"user/{name}"


def _go_literal(text: str) -> str:
    """Text for a Go template: only ``{{`` starts an action, so each one is written as the action {{ "{{" }}."""
    return '{{ "{{" }}'.join(text.split("{{"))


def _reference(key: str, spec: GeneratedSecret | None) -> str:
    """The template action printing fetched value ``key`` (hex of an odd length: the generator makes one more)."""
    if spec is not None and spec.alphabet == "hex" and spec.length % 2:
        return f"{{{{ .{key} | trunc {spec.length} }}}}"
    return f"{{{{ .{key} }}}}"


def _template(secret: ResolvedSecret, key: str, template: SecretTemplate, refs: dict[str, str]) -> str:
    out: list[str] = []
    for literal, field, spec_text, conversion in string.Formatter().parse(template.template):
        out.append(_go_literal(literal))
        if field is None:
            continue
        if spec_text or conversion or field not in template.values:
            raise ValueError(
                f"secret {secret.namespace}/{secret.name} key {key!r}: template placeholder {{{field}}} is not a "
                "plain name of its values; external-secrets can only substitute plain {name} placeholders"
            )
        spec = template.values[field]
        out.append(_reference(refs[_ref_id(spec, secret)], spec))
    return "".join(out)


def _ref_id(spec: GeneratedSecret, secret: ResolvedSecret) -> str:
    return remote_key(spec.id, secret.generations.get(spec.id, 0))


def external_secret(scope: kube.Construct, *, secret: ResolvedSecret, ctx: ServiceContext) -> None:
    """An ExternalSecret that makes ESO write Secret ``secret.name`` from Vault; records what must be generated."""
    pushed = ctx.cache.setdefault(PUSHED, {})
    remote: dict[str, str] = {}  # KV path → property name in the template's data (v0, v1, ... by path)
    for value in secret.sources.values():
        for spec in _generated(value):
            path = _ref_id(spec, secret)
            remote.setdefault(path, "")
            pushed[path] = spec
        if isinstance(value, UserSecret):
            remote.setdefault(user_key(value.name), "")
            ctx.cache.setdefault(USERS, set()).add(value.name)
    refs = {path: f"v{number}" for number, path in enumerate(sorted(remote))}
    data: dict[str, str] = {}
    for key, value in sorted(secret.sources.items()):
        if isinstance(value, GeneratedSecret):
            data[key] = _reference(refs[_ref_id(value, secret)], value)
        elif isinstance(value, SecretTemplate):
            data[key] = _template(secret, key, value, refs)
        elif isinstance(value, UserSecret):
            data[key] = _reference(refs[user_key(value.name)], None)
        else:
            data[key] = _go_literal(value)
    kube.api_object(
        scope,
        "external-secret",
        {
            "apiVersion": "external-secrets.io/v1",
            "kind": "ExternalSecret",
            "metadata": {"name": secret.name, "namespace": secret.namespace, "labels": dict(secret.labels)},
            "spec": {
                "refreshInterval": ctx.setting("refresh_interval"),
                "secretStoreRef": {"kind": "ClusterSecretStore", "name": STORE},
                "target": {
                    "name": secret.name,
                    "creationPolicy": "Owner",
                    "template": {
                        "engineVersion": "v2",
                        "type": secret.type,
                        "metadata": {"labels": dict(secret.labels)},
                        "data": data,
                    },
                },
                "data": [
                    {"secretKey": name, "remoteRef": {"key": path, "property": PROPERTY}}
                    for path, name in sorted(refs.items())
                ],
            },
        },
    )


def _generated(value: SecretValue) -> list[GeneratedSecret]:
    if isinstance(value, GeneratedSecret):
        return [value]
    if isinstance(value, SecretTemplate):
        return list(value.values.values())
    return []


def _name(path: str) -> str:
    """A DNS-1123 name for a KV path: readable, with a digest so distinct paths never share one."""
    slug = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")[:200]
    return f"{slug}-{hashlib.sha256(path.encode()).hexdigest()[:8]}"


def _generator_name(spec: GeneratedSecret) -> str:
    return f"{spec.alphabet}-{spec.length}"


def _generator(spec: GeneratedSecret) -> dict:
    """An ESO Password generator for ``spec``'s alphabet and length (generators.external-secrets.io Password).

    alphanumeric: letters and digits, no symbols; ESO places an exact number of digits (about the share a uniform
    draw from 62 characters would give). hex: ESO hex-encodes a password of half the length (2 characters a byte).
    """
    if spec.alphabet == "hex":
        fields = {"length": math.ceil(spec.length / 2), "digits": 0, "symbols": 0, "encoding": "hex"}
    else:
        fields = {"length": spec.length, "digits": spec.length * 10 // 62, "symbols": 0, "encoding": "raw"}
    return {**fields, "noUpper": False, "allowRepeat": True}


def generated_credentials(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    """Once per credential: a PushSecret writing a generated password to Vault if, and only if, it is not there."""
    pushed: dict[str, GeneratedSecret] = ctx.cache.get(PUSHED, {})
    if users := sorted(ctx.cache.get(USERS, ())):
        paths = ", ".join(f"{KV_MOUNT}/{user_key(name)}" for name in users)
        ctx.warn(
            f"services read user secrets from Vault: {paths}; write each with "
            f"`vault kv put {KV_MOUNT}/{user_key('<name>')} {PROPERTY}=...` (until then their Secrets are not made)"
        )
    generators = {_generator_name(spec): spec for spec in pushed.values()}
    for name, spec in sorted(generators.items()):
        kube.api_object(
            scope,
            f"generator-{name}",
            {
                "apiVersion": GENERATOR_API,
                "kind": "Password",
                "metadata": {"name": name, "namespace": ctx.namespace, "labels": ctx.labels("generator")},
                "spec": _generator(spec),
            },
        )
    for path, spec in sorted(pushed.items()):
        kube.api_object(
            scope,
            f"push-{path}",
            {
                "apiVersion": "external-secrets.io/v1alpha1",
                "kind": "PushSecret",
                "metadata": {
                    "name": _name(path),
                    "namespace": ctx.namespace,
                    "labels": ctx.labels("credential"),
                    "annotations": {"ink.homelab/credential": path},
                },
                "spec": {
                    # Written once: an existing value is never replaced (rotation writes a new path instead), and
                    # deleting the PushSecret leaves it in Vault.
                    "updatePolicy": "IfNotExists",
                    "deletionPolicy": "None",
                    "refreshInterval": ctx.setting("refresh_interval"),
                    "secretStoreRefs": [{"kind": "ClusterSecretStore", "name": STORE}],
                    "selector": {
                        "generatorRef": {"apiVersion": GENERATOR_API, "kind": "Password", "name": _generator_name(spec)}
                    },
                    "data": [
                        {"match": {"secretKey": "password", "remoteRef": {"remoteKey": path, "property": PROPERTY}}}
                    ],
                },
            },
        )


def store(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    """The ClusterSecretStore every ExternalSecret and PushSecret uses: Vault's KV v2 mount ``ink``."""
    if ctx.link("vault") is None:
        ctx.warn(
            f"no Vault installed (no service serves the endpoint kind 'vault'): ClusterSecretStore {STORE} points at "
            f"{VAULT_URL}, which does not exist, so no Secret of any service can be made; install ink-plugin-vault"
        )
    kube.api_object(
        scope,
        "cluster-secret-store",
        {
            "apiVersion": "external-secrets.io/v1",
            "kind": "ClusterSecretStore",
            "metadata": {"name": STORE, "labels": ctx.labels("store")},
            "spec": {
                "provider": {
                    "vault": {
                        "server": VAULT_URL,
                        "path": KV_MOUNT,
                        "version": "v2",
                        "caProvider": {
                            "type": "Secret",
                            "name": VAULT_CA_SECRET,
                            "namespace": VAULT_NAMESPACE,
                            "key": "ca.crt",
                        },
                        "auth": {
                            "kubernetes": {
                                "mountPath": AUTH_MOUNT,
                                "role": AUTH_ROLE,
                                "serviceAccountRef": {"name": SERVICE_ACCOUNT, "namespace": ctx.namespace},
                            }
                        },
                    }
                }
            },
        },
    )


# The image's own user (Dockerfile `USER 65534`), not the chart's 1000; the chart's security contexts already meet
# "restricted" otherwise (values.yaml), and the pod-level one it leaves empty gets the same.
POD_SECURITY = {
    "enabled": True,
    "runAsNonRoot": True,
    "runAsUser": 65534,
    "runAsGroup": 65534,
    "seccompProfile": {"type": "RuntimeDefault"},
}
CONTAINER_SECURITY = {"runAsUser": 65534}


def controller(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    tag = ctx.setting("image_tag")
    image = {"repository": "ghcr.io/external-secrets/external-secrets", "tag": tag}
    hardened = {"podSecurityContext": POD_SECURITY, "securityContext": CONTAINER_SECURITY}
    # The chart's probes, off by default: /healthz and /readyz on the controller's port "live" (8082),
    # /healthz on the webhook's and cert-controller's health port (8081; their readiness probes are on already).
    liveness = {"livenessProbe": {"enabled": True}}
    kube.helm_application(
        scope,
        ctx=ctx,
        release="external-secrets",
        repo_url="https://charts.external-secrets.io",
        chart="external-secrets",
        cluster_kinds=(
            "CustomResourceDefinition",
            "ClusterRole",
            "ClusterRoleBinding",
            "admissionregistration.k8s.io/ValidatingWebhookConfiguration",
        ),  # checked against the rendered chart (tests/test_charts.py)
        version=ctx.setting("chart_version"),
        values={
            "installCRDs": True,
            "serviceAccount": {"name": SERVICE_ACCOUNT},
            "image": image,
            "resources": kube.Resources.of(ctx.setting("resources")).manifest(),
            **hardened,
            **liveness,
            "readinessProbe": {"enabled": True},
            "webhook": {
                "image": image,
                "resources": kube.Resources.of(ctx.setting("webhook_resources")).manifest(),
                **hardened,
                **liveness,
            },
            "certController": {
                "image": image,
                "resources": kube.Resources.of(ctx.setting("cert_controller_resources")).manifest(),
                **hardened,
                **liveness,
            },
        },
        sync_wave=-20,
    )
