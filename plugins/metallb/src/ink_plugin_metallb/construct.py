"""The MetalLB install, its address pool and the layer 2 advertisement of that pool."""

from __future__ import annotations

from typing import Any

from ink import kube, tls
from ink.context import ServiceContext
from ink_plugin_metallb import METRICS_READER, METRICS_TLS, METRICS_TOKEN, metrics_server_name, scraped

CHART_REPO = "https://metallb.github.io/metallb"
RELEASE = "metallb"


def metallb(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    tag = ctx.setting("image_tag")
    values: dict[str, Any] = {
        "controller": {"image": {"repository": "quay.io/metallb/controller", "tag": tag}},
        "speaker": {"image": {"repository": "quay.io/metallb/speaker", "tag": tag}},
        # Layer 2 needs no BGP daemon; 0.16 deploys FRR-K8s on every node unless told not to.
        "frrk8s": {"enabled": ctx.setting("frr_k8s")},
    }
    if scraped(ctx):
        # A certificate the scraper can verify, instead of the self-signed one (mounted at --metrics-cert-dir).
        values["tls"] = {"controllerMetricsTLSSecret": METRICS_TLS, "speakerMetricsTLSSecret": METRICS_TLS}
        metrics_access(scope, ctx=ctx)
    kube.helm_application(
        scope,
        ctx=ctx,
        release=RELEASE,
        repo_url=CHART_REPO,
        chart="metallb",
        cluster_kinds=(
            "CustomResourceDefinition",
            "ClusterRole",
            "ClusterRoleBinding",
            "ValidatingWebhookConfiguration",
        ),  # checked by tests/test_charts.py
        version=ctx.setting("chart_version"),
        values=values,
        sync_wave=-20,
    )
    pool = ctx.setting("pool_name")
    pool_spec: dict[str, Any] = {"addresses": list(ctx.setting("addresses"))}
    if ctx.setting("avoid_buggy_ips"):
        pool_spec["avoidBuggyIPs"] = True
    kube.api_object(
        scope,
        "ip-address-pool",
        {
            "apiVersion": "metallb.io/v1beta1",
            "kind": "IPAddressPool",
            "metadata": {"name": pool, "namespace": ctx.namespace, "labels": ctx.labels("address-pool")},
            "spec": pool_spec,
        },
    )
    advertisement: dict[str, Any] = {"ipAddressPools": [pool]}
    if ctx.setting("interfaces"):
        advertisement["interfaces"] = list(ctx.setting("interfaces"))
    kube.api_object(
        scope,
        "l2-advertisement",
        {
            "apiVersion": "metallb.io/v1beta1",
            "kind": "L2Advertisement",
            "metadata": {"name": pool, "namespace": ctx.namespace, "labels": ctx.labels("address-pool")},
            "spec": advertisement,
        },
    )


def metrics_access(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    """What the scraper presents to the controller's metrics endpoint: its certificate's CA and a token.

    The token is a ServiceAccount's that may only `get` /metrics (a non-resource URL: ClusterRole only); the
    token controller fills the Secret in the cluster, so no credential is in the output. The metrics provider
    reads it from this namespace (MetricsTarget.bearer_token).
    """
    namespace = ctx.namespace
    tls.internal_certificate(
        scope,
        "metrics-certificate",
        ctx=ctx,
        name=METRICS_TLS,
        namespace=namespace,
        dns_names=(metrics_server_name(ctx),),
        component="metrics",
    )
    labels = ctx.labels("metrics")
    kube.api_object(
        scope,
        "metrics-reader-account",
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": METRICS_READER, "namespace": namespace, "labels": labels},
            "automountServiceAccountToken": False,
        },
    )
    kube.api_object(
        scope,
        "metrics-reader-token",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": METRICS_TOKEN,
                "namespace": namespace,
                "labels": labels,
                "annotations": {"kubernetes.io/service-account.name": METRICS_READER},
            },
            "type": "kubernetes.io/service-account-token",
        },
    )
    kube.api_object(
        scope,
        "metrics-reader-role",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": METRICS_READER, "labels": labels},
            "rules": [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}],
        },
    )
    kube.api_object(
        scope,
        "metrics-reader-binding",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": METRICS_READER, "labels": labels},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": METRICS_READER},
            "subjects": [{"kind": "ServiceAccount", "name": METRICS_READER, "namespace": namespace}],
        },
    )
