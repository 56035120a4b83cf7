"""The cert-manager install, the ACME ClusterIssuer, and one Certificate per claim."""

from __future__ import annotations

from typing import Any

from ink import kube
from ink.context import ServiceContext
from ink.models import INTERNAL_CA_ISSUER, CertificateClaim
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
    internal_ca(scope, ctx=ctx)


def internal_ca(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    """The in-cluster CA (claims with ``issuer="internal"``): cert-manager docs, 'CA' issuer and
    'SelfSigned' → 'Bootstrapping CA Issuers'. A self-signed issuer signs the CA's own certificate;
    the CA ClusterIssuer reads its key pair from the Secret in the cluster resource namespace, which
    is the namespace cert-manager runs in. Certificates it issues carry the CA as ``ca.crt``.
    """
    selfsigned = f"{INTERNAL_CA_ISSUER}-selfsigned"
    kube.api_object(
        scope,
        "internal-ca-selfsigned",
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "ClusterIssuer",
            "metadata": {"name": selfsigned, "labels": ctx.labels("issuer")},
            "spec": {"selfSigned": {}},
        },
    )
    kube.api_object(
        scope,
        "internal-ca-certificate",
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": {"name": INTERNAL_CA_ISSUER, "namespace": ctx.namespace, "labels": ctx.labels("issuer")},
            "spec": {
                "isCA": True,
                "commonName": INTERNAL_CA_ISSUER,
                "secretName": INTERNAL_CA_ISSUER,
                "duration": "87600h",  # ten years: rotating the root re-issues every internal certificate
                "privateKey": {"algorithm": "ECDSA", "size": 256},
                "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": selfsigned},
            },
        },
    )
    kube.api_object(
        scope,
        "internal-ca-issuer",
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "ClusterIssuer",
            "metadata": {"name": INTERNAL_CA_ISSUER, "labels": ctx.labels("issuer")},
            "spec": {"ca": {"secretName": INTERNAL_CA_ISSUER}},
        },
    )


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
                "issuerRef": {
                    "group": "cert-manager.io",
                    "kind": "ClusterIssuer",
                    "name": INTERNAL_CA_ISSUER if claim.issuer == "internal" else ctx.config.tls_issuer,
                },
            },
        },
    )
