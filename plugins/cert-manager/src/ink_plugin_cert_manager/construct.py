"""The cert-manager install, the ACME ClusterIssuer, and one Certificate per claim."""

from __future__ import annotations

from typing import Any

from ink import kube
from ink.context import ServiceContext
from ink.models import CertificateClaim
from ink_plugin_cert_manager import TOKEN_KEY, TOKEN_SECRET

CHART_REPO = "https://charts.jetstack.io"
RELEASE = "cert-manager"
LETSENCRYPT_PRODUCTION = "https://acme-v02.api.letsencrypt.org/directory"
LETSENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"


def cert_manager(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    tag = ctx.setting("image_tag")
    values: dict[str, Any] = {
        # The chart installs (and keeps, crds.keep defaults to true) the CRDs only when asked.
        "crds": {"enabled": True},
        "image": {"tag": tag},
        "webhook": {"image": {"tag": tag}},
        "cainjector": {"image": {"tag": tag}},
        "acmesolver": {"image": {"tag": tag}},
        "startupapicheck": {"image": {"tag": tag}},
    }
    nameservers = ctx.setting("dns01_recursive_nameservers")
    if nameservers:
        values["dns01RecursiveNameservers"] = ",".join(nameservers)
        values["dns01RecursiveNameserversOnly"] = True
    kube.helm_application(
        scope,
        ctx=ctx,
        release=RELEASE,
        repo_url=CHART_REPO,
        chart="cert-manager",
        # What the chart installs cluster-wide, and its leader-election Roles in kube-system (tests/test_charts.py).
        cluster_kinds=(
            "CustomResourceDefinition",
            "ClusterRole",
            "ClusterRoleBinding",
            "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration",
        ),
        other_namespaces=("kube-system",),
        version=ctx.setting("chart_version"),
        values=values,
        sync_wave=-20,
    )
    cluster_issuer(scope, ctx=ctx)


def cluster_issuer(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    name = ctx.config.tls_issuer
    staging = ctx.setting("staging")
    kube.api_object(
        scope,
        "cluster-issuer",
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "ClusterIssuer",
            "metadata": {"name": name, "labels": ctx.labels("issuer")},
            "spec": {
                "acme": {
                    "server": LETSENCRYPT_STAGING if staging else LETSENCRYPT_PRODUCTION,
                    "email": ctx.setting("email") or f"admin@{ctx.domain}",
                    # The ACME account key, created by cert-manager. An account belongs to one
                    # directory, so staging and production keep separate keys.
                    "privateKeySecretRef": {
                        "name": f"{name}-staging-account-key" if staging else f"{name}-account-key"
                    },
                    "solvers": [
                        {"dns01": {"cloudflare": {"apiTokenSecretRef": {"name": TOKEN_SECRET, "key": TOKEN_KEY}}}}
                    ],
                }
            },
        },
    )


def certificate(
    scope: kube.Construct, *, claim: CertificateClaim, ctx: ServiceContext, consumer: ServiceContext
) -> None:
    kube.api_object(
        scope,
        "certificate",
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": {"name": claim.name, "namespace": claim.namespace, "labels": consumer.labels("certificate")},
            "spec": {
                "secretName": claim.name,
                "dnsNames": list(claim.dns_names),
                "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": ctx.config.tls_issuer},
            },
        },
    )
