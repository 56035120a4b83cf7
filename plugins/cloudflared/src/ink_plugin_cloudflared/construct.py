"""The connector Deployment, its config.yaml and the disruption budget.

Upstream facts (cloudflare/cloudflared Dockerfile; cloudflare/argo-tunnel-examples
named-tunnel-k8s/cloudflared.yaml; developers.cloudflare.com, tunnel configuration file):
- The image runs as 65532:65532 with ENTRYPOINT ["cloudflared", "--no-autoupdate"].
- A locally-managed tunnel reads `tunnel`, `credentials-file`, `metrics` and `ingress` from
  config.yaml; the last ingress rule must be a catch-all (`service: http_status:404`).
- The metrics server answers GET /ready with 200 only while connected to Cloudflare's edge.
- `originRequest.originServerName` is the name cloudflared sends as SNI and expects in the
  origin's certificate; the original Host header is passed through.
"""

from __future__ import annotations

import yaml

from ink import kube
from ink.context import ServiceContext
from ink.models import Route
from ink_plugin_cloudflared import CREDENTIALS_KEY, CREDENTIALS_SECRET, PLACEHOLDER_TUNNEL_ID

IMAGE = "docker.io/cloudflare/cloudflared"
NAME = "cloudflared"
USER = 65532  # the image's `nonroot` user
METRICS_PORT = 2000
CONFIG_DIR = "/etc/cloudflared/config"
CREDS_DIR = "/etc/cloudflared/creds"


def public_hostnames(ctx: ServiceContext) -> list[str]:
    """Every hostname a service routes with public=True, sorted (core makes hosts unique)."""
    return sorted({f"{need.host}.{ctx.domain}" for need in ctx.needs if isinstance(need, Route) and need.public})


def ingress_rules(ctx: ServiceContext) -> list[dict]:
    origin = ctx.settings.origin_service
    rules: list[dict] = []
    for hostname in public_hostnames(ctx):
        rule: dict = {"hostname": hostname, "service": origin}
        if origin.startswith("https://"):
            # SNI and certificate name: the ingress controller picks the route's certificate by it.
            request: dict = {"originServerName": hostname}
            if ctx.settings.no_tls_verify:
                request["noTLSVerify"] = True
            rule["originRequest"] = request
        rules.append(rule)
    rules.append({"service": "http_status:404"})  # mandatory catch-all, always last
    return rules


def config_yaml(ctx: ServiceContext) -> str:
    config = {
        "tunnel": ctx.settings.tunnel_id,
        "credentials-file": f"{CREDS_DIR}/{CREDENTIALS_KEY}",
        # Serves /metrics and /ready.
        "metrics": f"0.0.0.0:{METRICS_PORT}",
        # An update inside a pod is lost on restart; the image tag is the version.
        "no-autoupdate": True,
        "ingress": ingress_rules(ctx),
    }
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=False)


def tunnel(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings = ctx.settings
    if settings.tunnel_id == PLACEHOLDER_TUNNEL_ID:
        ctx.warn(
            "tunnel_id is the placeholder: the connector cannot start. Create the tunnel once with "
            "`cloudflared tunnel create homelab`, then set [plugins.cloudflared] tunnel_id to its UUID and "
            "provide the credentials file it wrote as INK_SECRET_CLOUDFLARE_TUNNEL_CREDENTIALS"
        )
    if not public_hostnames(ctx):
        ctx.warn("no service declares a public route: the tunnel answers every request with 404")

    # Read only at start: a changed route list rolls the pods (ConfigFiles' checksum).
    files = {"config.yaml": config_yaml(ctx)}
    config = kube.ConfigFiles(name=NAME, volume="config", mount_path=CONFIG_DIR, files=files)
    creds = kube.SecretFiles(name=CREDENTIALS_SECRET, volume="creds", mount_path=CREDS_DIR, keys=[CREDENTIALS_KEY])
    connector = kube.Container(
        name="connector",
        image=f"{IMAGE}:{settings.image_tag}",
        # The image's entrypoint is `cloudflared --no-autoupdate`.
        args=["tunnel", "--config", f"{CONFIG_DIR}/config.yaml", "run"],
        ports=[kube.Port(name="metrics", number=METRICS_PORT)],
        health=kube.HttpProbe(path="/ready", port=METRICS_PORT),
        resources=kube.Resources.of(settings.resources),
        mounts=[config, creds],  # no scratch folder: cloudflared writes nothing to disk
    )
    # Spread the replicas over nodes, so one node going down keeps the tunnel up.
    component = kube.Component(
        name="connector", object_name=NAME, replicas=settings.replicas, user=USER, spread=True, containers=[connector]
    )
    kube.Workloads(scope, NAME, ctx=ctx, components=[component])
