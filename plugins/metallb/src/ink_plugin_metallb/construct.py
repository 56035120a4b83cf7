"""The MetalLB install, its address pool and the layer 2 advertisement of that pool."""

from __future__ import annotations

from typing import Any

from ink import kube
from ink.context import ServiceContext

CHART_REPO = "https://metallb.github.io/metallb"
RELEASE = "metallb"


def metallb(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    tag = ctx.setting("image_tag")
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
        values={
            "controller": {"image": {"repository": "quay.io/metallb/controller", "tag": tag}},
            "speaker": {"image": {"repository": "quay.io/metallb/speaker", "tag": tag}},
            # Layer 2 needs no BGP daemon; 0.16 deploys FRR-K8s on every node unless told not to.
            "frrk8s": {"enabled": ctx.setting("frr_k8s")},
        },
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
