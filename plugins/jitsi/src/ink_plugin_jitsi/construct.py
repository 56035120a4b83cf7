"""Jitsi Meet's four components, written with the workload vocabulary.

Upstream facts (jitsi/docker-jitsi-meet at stable-11146-2): every image is s6-overlay on Debian
with ``USER s6`` (uid 1000, the first user ``adduser`` makes), ``S6_READ_ONLY_ROOT=1``, and the
compose file runs each with ``read_only: true`` and tmpfs on ``/run`` and ``/tmp``. Each
component's cont-init script (``rootfs/etc/s6-overlay/scripts/config``) copies ``/config`` and
renders its templates into ``/run/<component>``; prosody also needs ``/var/lib/prosody`` writable
(``check-writable``). s6 refuses a world-writable ``/run`` (an emptyDir) unless
``S6_YES_I_WANT_A_WORLD_WRITABLE_RUN_BECAUSE_KUBERNETES`` is set, as jitsi-helm does.
"""

from __future__ import annotations

from ink import kube
from ink.context import ServiceContext
from ink.models import SecretKeyRef
from ink_plugin_jitsi import HTTP_PORT, JICOFO_REST, JVB_PORT, JVB_REST, PROSODY_HTTP, SECRET, WEB_PORT, JitsiSettings

REGISTRY = "ghcr.io/jitsi"
# Internal XMPP domains: upstream's defaults (env.example, prosody templates). They are names
# inside prosody, not DNS names; only XMPP_SERVER is resolved.
XMPP_DOMAIN = "meet.jitsi"
PROSODY_C2S = 5222
# nginx (web) resolves proxy_pass hosts itself, at request time and without resolv.conf's search
# list, so prosody's name must be fully qualified. k3s' (and kubeadm's) default cluster domain.
CLUSTER_DOMAIN = "cluster.local"


def _scratch(run_size: str) -> list[kube.Scratch]:
    return [
        kube.Scratch(name="run", mount_path="/run", size_limit=run_size),
        kube.Scratch(name="tmp", mount_path="/tmp", size_limit="64Mi"),
    ]


def jitsi(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings: JitsiSettings = ctx.settings  # type: ignore[assignment]
    public_url = ctx.public_url()
    prosody_host = f"jitsi-prosody.{ctx.namespace}.svc.{CLUSTER_DOMAIN}"
    common: dict[str, str | SecretKeyRef] = {
        "PUBLIC_URL": public_url,
        "TZ": ctx.config.timezone,
        "XMPP_DOMAIN": XMPP_DOMAIN,
        "XMPP_AUTH_DOMAIN": f"auth.{XMPP_DOMAIN}",
        "XMPP_MUC_DOMAIN": f"muc.{XMPP_DOMAIN}",
        "XMPP_INTERNAL_MUC_DOMAIN": f"internal-muc.{XMPP_DOMAIN}",
        "XMPP_GUEST_DOMAIN": f"guest.{XMPP_DOMAIN}",
        "XMPP_HIDDEN_DOMAIN": f"hidden.{XMPP_DOMAIN}",
        "XMPP_SERVER": prosody_host,
        "ENABLE_XMPP_WEBSOCKET": "1",
        "S6_YES_I_WANT_A_WORLD_WRITABLE_RUN_BECAUSE_KUBERNETES": "1",
    }
    jicofo_password = SecretKeyRef(name=SECRET, key="JICOFO_AUTH_PASSWORD")
    jvb_password = SecretKeyRef(name=SECRET, key="JVB_AUTH_PASSWORD")
    image = lambda component: f"{REGISTRY}/{component}:{settings.image_tag}"  # noqa: E731

    web = kube.Container(
        name="web",
        image=image("web"),
        env={
            **common,
            "XMPP_BOSH_URL_BASE": f"http://{prosody_host}:{PROSODY_HTTP}",
            # TLS ends at the ingress; nginx serves plain HTTP on 8000 and fetches no certificate.
            "DISABLE_HTTPS": "1",
            "ENABLE_HTTP_REDIRECT": "0",
            "ENABLE_LETSENCRYPT": "0",
        },
        ports=[kube.Port(name="http", number=WEB_PORT, service_port=HTTP_PORT)],
        mounts=_scratch("16Mi"),
        resources=kube.Resources.of(settings.web_resources),
        health=kube.HttpProbe(path="/", port=WEB_PORT),
    )
    prosody = kube.Container(
        name="prosody",
        image=image("prosody"),
        env={
            **common,
            "JICOFO_AUTH_PASSWORD": jicofo_password,
            "JVB_AUTH_PASSWORD": jvb_password,
            **_turn_env(ctx),
            **_metrics_env(ctx),
        },
        ports=[kube.Port(name="xmpp", number=PROSODY_C2S), kube.Port(name="http", number=PROSODY_HTTP)],
        # The internal accounts (focus, jvb) are registered again at every start (70-register-setup),
        # so their data needs no volume: ink does not enable internal user authentication.
        mounts=[*_scratch("16Mi"), kube.Scratch(name="data", mount_path="/var/lib/prosody", size_limit="64Mi")],
        resources=kube.Resources.of(settings.prosody_resources),
        # BOSH answers GET with a 200 page once prosody serves HTTP (jitsi-helm's probe).
        health=kube.HttpProbe(path="/http-bind", port=PROSODY_HTTP),
    )
    jicofo = kube.Container(
        name="jicofo",
        image=image("jicofo"),
        # REST on all interfaces, so the kubelet reaches the port (jicofo.conf template).
        env={**common, "JICOFO_AUTH_PASSWORD": jicofo_password, "JICOFO_ENABLE_REST": "1"},
        ports=[kube.Port(name="http", number=JICOFO_REST)],
        mounts=_scratch("64Mi"),
        resources=kube.Resources.of(settings.jicofo_resources),
        # A TCP check, as jitsi-helm: /about/health also fails while no bridge is connected, which
        # restarting jicofo would not fix.
        health=kube.TcpProbe(port=JICOFO_REST),
        startup_seconds=120,
    )
    jvb = kube.Container(
        name="jvb",
        image=image("jvb"),
        env={
            **common,
            "JVB_AUTH_PASSWORD": jvb_password,
            "JVB_PORT": str(JVB_PORT),
            **({"JVB_ADVERTISE_IPS": ",".join(settings.advertised)} if settings.advertised else {}),
        },
        ports=[kube.Port(name="media", number=JVB_PORT, protocol="UDP"), kube.Port(name="http", number=JVB_REST)],
        mounts=_scratch("64Mi"),
        resources=kube.Resources.of(settings.jvb_resources),
        health=kube.HttpProbe(path="/about/health", port=JVB_REST),
        startup_seconds=120,
    )
    components = [
        kube.Component(name="web", containers=[web], replicas=settings.web_replicas, spread=settings.web_replicas > 1),
        kube.Component(name="prosody", containers=[prosody]),
        # One focus per deployment: jicofo keeps the conferences' state in memory.
        kube.Component(name="jicofo", containers=[jicofo]),
        # One bridge: every bridge needs its own UDP port and advertised address.
        kube.Component(
            name="jvb",
            containers=[jvb],
            services=[
                kube.Service(ports=["http"]),
                kube.Service(
                    name="jitsi-jvb-media",
                    ports=["media"],
                    # Local: the bridge sees the client's address, and no second hop rewrites it.
                    load_balancer=kube.LoadBalancer(
                        address=settings.jvb_load_balancer_ip, external_traffic_policy="Local"
                    ),
                ),
            ],
        ),
    ]
    if not settings.jvb_load_balancer_ip:
        ctx.warn(
            "jvb_load_balancer_ip is not set, so the video bridge advertises no reachable address and meetings of "
            "three or more have no media; set [plugins.jitsi] jvb_load_balancer_ip to an address of the MetalLB pool"
        )
    kube.Workloads(scope, "jitsi", ctx=ctx, components=components)


def _metrics_env(ctx: ServiceContext) -> dict[str, str | SecretKeyRef]:
    """prosody's /metrics on 5280 with a metrics provider (prosody.cfg.lua template at stable-11146-2:
    mod_http_openmetrics, answering only ``openmetrics_allow_cidr``, one CIDR, default 172.16.0.0/12): the
    scraper's pods are in the pod network, ``[network] pods`` (its first range, k3s' 10.42.0.0/16 by default)."""
    if not ctx.provider_of("metrics"):
        return {}
    return {"PROSODY_ENABLE_METRICS": "true", "PROSODY_METRICS_ALLOWED_CIDR": ctx.config.network.pods[0]}


def _turn_env(ctx: ServiceContext) -> dict[str, str | SecretKeyRef]:
    """prosody's external services (XEP-0215) from the turn binding (prosody.cfg.lua template)."""
    turn = ctx.bindings.get(f"turn/{ctx.name}")
    if turn is None:
        # Without TURN, prosody announces no external services; the web app and the bridge keep
        # upstream's default STUN server (meet-jit-si-turnrelay.jitsi.net:443).
        return {}
    env: dict[str, str | SecretKeyRef] = {
        "STUN_HOST": turn.address,  # type: ignore[attr-defined]
        "STUN_PORT": str(turn.port),  # type: ignore[attr-defined]
        "TURN_HOST": turn.address,  # type: ignore[attr-defined]
        "TURN_PORT": str(turn.port),  # type: ignore[attr-defined]
        "TURN_TRANSPORT": "udp,tcp",
        # prosody's mod_external_services mints TURN REST credentials from the shared secret.
        "TURN_CREDENTIALS": turn.secret,  # type: ignore[attr-defined]
        "TURN_TTL": str(turn.ttl),  # type: ignore[attr-defined]
    }
    if turn.tls_port is not None:  # type: ignore[attr-defined]
        # TLS needs the host name the certificate names, not the address.
        env |= {"TURNS_HOST": turn.host, "TURNS_PORT": str(turn.tls_port)}  # type: ignore[attr-defined]
    return env
