"""The Traefik install, its default TLS store, and the IngressRoute (and Middleware) per route."""

from __future__ import annotations

import re
from typing import Any

from ink import kube
from ink.context import ServiceContext
from ink.models import AuthBinding, Route
from ink_plugin_traefik import WILDCARD_CERTIFICATE

CHART_REPO = "https://traefik.github.io/charts"
RELEASE = "traefik"
API_VERSION = "traefik.io/v1alpha1"
ENTRY_POINT = "websecure"
# Above the default priority of any rule on the same host (Traefik uses the rule's length), so
# the identity provider's outpost path wins over the application's catch-all route.
OUTPOST_PRIORITY = 1000
# The UID/GID the chart runs Traefik as (podSecurityContext in its values.yaml).
TRAEFIK_USER = 65532


def traefik(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    kube.helm_application(
        scope,
        ctx=ctx,
        release=RELEASE,
        repo_url=CHART_REPO,
        chart="traefik",
        cluster_kinds=(
            "CustomResourceDefinition",
            "ClusterRole",
            "ClusterRoleBinding",
            "IngressClass",
        ),  # checked against the rendered chart (tests/test_charts.py)
        version=ctx.setting("chart_version"),
        values=values(ctx),
        sync_wave=-20,
    )
    if ctx.setting("default_certificate"):
        # Traefik uses only the TLSStore named "default" (one per cluster), and reads its
        # Secret from the store's namespace: the wildcard certificate's Secret lives here too.
        kube.api_object(
            scope,
            "tls-store",
            {
                "apiVersion": API_VERSION,
                "kind": "TLSStore",
                "metadata": {"name": "default", "namespace": ctx.namespace, "labels": ctx.labels("tls")},
                "spec": {
                    "defaultCertificate": {"secretName": ctx.certificate(WILDCARD_CERTIFICATE).secret_name},
                },
            },
        )


def values(ctx: ServiceContext) -> dict[str, Any]:
    replicas = ctx.setting("replicas")
    kubernetes_ingress = ctx.setting("kubernetes_ingress")
    # Chart v40 reads the Service's type only from service.spec (copied into the Service's spec).
    service: dict[str, Any] = {"spec": {"type": "LoadBalancer"}}
    if ctx.setting("load_balancer_ip"):
        service["annotations"] = {"metallb.io/loadBalancerIPs": ctx.setting("load_balancer_ip")}
    prometheus: dict[str, Any] = {"service": {"enabled": True}}
    if ctx.setting("service_monitor"):
        prometheus["serviceMonitor"] = {"enabled": True}
    chart_values: dict[str, Any] = {
        "image": {"registry": "docker.io", "repository": "traefik", "tag": ctx.setting("image_tag")},
        "deployment": {"replicas": replicas},
        "ingressClass": {
            "enabled": kubernetes_ingress,
            "isDefaultClass": True,
            "name": ctx.config.ingress_class,
        },
        "providers": {
            # Forward-auth outpost rules route to the identity provider's Service in its own namespace.
            "kubernetesCRD": {"enabled": True, "allowCrossNamespace": True},
            "kubernetesIngress": {"enabled": kubernetes_ingress},
        },
        # Chart v39 moved redirections under ports.<name>.http; its schema rejects the old place.
        "ports": {
            "web": {
                "http": {"redirections": {"entryPoint": {"to": ENTRY_POINT, "scheme": "https", "permanent": True}}}
            },
        },
        "metrics": {"prometheus": prometheus},
        "service": service,
        # The chart's defaults lack the seccomp profile the namespace's "restricted" level requires.
        "podSecurityContext": {
            "runAsNonRoot": True,
            "runAsUser": TRAEFIK_USER,
            "runAsGroup": TRAEFIK_USER,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "resources": kube.Resources.of(ctx.setting("resources")).manifest(),
        "global": {"checkNewVersion": False, "sendAnonymousUsage": False},
    }
    if replicas > 1:
        chart_values["podDisruptionBudget"] = {"enabled": True, "maxUnavailable": 1}
    return chart_values


def _slug(path: str) -> str:
    """``/map-storage/`` → ``map-storage``: a path prefix as part of an object name."""
    return "-".join(part for part in re.split(r"[^a-z0-9]+", path.lower()) if part) or "root"


def ingress_route(scope: kube.Construct, *, route: Route, ctx: ServiceContext, consumer: ServiceContext) -> None:
    host = f"Host(`{route.host}.{ctx.domain}`)"
    match = host if route.path == "/" else f"{host} && PathPrefix(`{route.path}`)"
    main: dict[str, Any] = {
        "kind": "Rule",
        "match": match,
        "services": [{"name": route.service, "port": route.port}],
    }
    routes = [main]
    guarded = [main]  # the rules forward-auth covers
    labels = consumer.labels("ingress")
    for extra in route.paths:
        # Traefik's default priority is the rule's length: a longer prefix wins over the host's catch-all.
        service: dict[str, Any] = {"name": extra.service, "port": extra.port}
        if extra.sticky_cookie:
            # The cookie names the pod that served the client first (Traefik's sticky sessions).
            cookie = {"name": extra.sticky_cookie, "httpOnly": True, "secure": True, "sameSite": "lax"}
            service["sticky"] = {"cookie": cookie}
        rule: dict[str, Any] = {
            "kind": "Rule",
            "match": f"{host} && {'Path' if extra.exact else 'PathPrefix'}(`{extra.path}`)",
            "services": [service],
        }
        if extra.strip_prefix:
            strip = f"{route.host}-strip-{_slug(extra.path)}"
            kube.api_object(
                scope,
                f"middleware-{strip}",
                {
                    "apiVersion": API_VERSION,
                    "kind": "Middleware",
                    "metadata": {"name": strip, "namespace": route.namespace, "labels": labels},
                    "spec": {"stripPrefix": {"prefixes": [extra.path]}},
                },
            )
            rule["middlewares"] = [{"name": strip}]
        routes.append(rule)
        if extra.forward_auth:
            guarded.append(rule)
    auth = consumer.bindings.get(f"auth/{route.host}")
    if isinstance(auth, AuthBinding) and auth.kind == "forward-auth":
        if not auth.forward_auth_url:
            raise ValueError(
                f"the forward-auth binding of {route.owner}'s host {route.host!r} (from {auth.provider!r}) "
                "has no forward_auth_url"
            )
        middleware = f"{route.host}-forward-auth"
        forward_auth: dict[str, Any] = {"address": auth.forward_auth_url, "trustForwardHeader": True}
        if auth.forward_auth_headers:
            forward_auth["authResponseHeaders"] = list(auth.forward_auth_headers)
        kube.api_object(
            scope,
            "middleware",
            {
                "apiVersion": API_VERSION,
                "kind": "Middleware",
                "metadata": {"name": middleware, "namespace": route.namespace, "labels": labels},
                "spec": {"forwardAuth": forward_auth},
            },
        )
        # Forward-auth first, on every path of the host (before a prefix is stripped).
        for rule in guarded:
            rule["middlewares"] = [{"name": middleware}, *rule.get("middlewares", [])]
        outpost = auth.outpost_service
        if auth.outpost_path and outpost is not None:
            # The identity provider answers its callback path on the application's own host.
            routes.insert(
                0,
                {
                    "kind": "Rule",
                    "match": f"{host} && PathPrefix(`{auth.outpost_path}`)",
                    "priority": OUTPOST_PRIORITY,
                    "services": [{"name": outpost.name, "namespace": outpost.namespace, "port": outpost.port}],
                },
            )
    kube.api_object(
        scope,
        "ingress-route",
        {
            "apiVersion": API_VERSION,
            "kind": "IngressRoute",
            "metadata": {"name": route.host, "namespace": route.namespace, "labels": labels},
            "spec": {
                "entryPoints": [ENTRY_POINT],
                "routes": routes,
                # No secretName: the TLSStore "default" (the wildcard certificate) is served.
                "tls": {},
            },
        },
    )
