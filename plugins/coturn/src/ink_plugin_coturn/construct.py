"""coturn's Deployment, its LoadBalancer and metrics Services.

Upstream facts (coturn/coturn at docker/4.17.0-r0: docker/coturn/debian/Dockerfile,
docker/coturn/rootfs/usr/local/bin/docker-entrypoint.sh, examples/etc/turnserver.conf): the image
runs as nobody:nogroup (65534), its entrypoint prepends ``turnserver`` to arguments that start
with '-', it reads ``/etc/coturn/turnserver.conf``, keeps its SQLite user database in
``/var/lib/coturn`` (tmpfs recommended) and writes its pid file to ``/var/tmp`` as non-root.
There is no HTTP health endpoint: the probe opens 3478/TCP, as jitsi-helm's coturn does.
"""

from __future__ import annotations

from ink import kube
from ink.context import ServiceContext
from ink.workload import Mount
from ink_plugin_coturn import (
    CERTIFICATE,
    IMAGE,
    METRICS_PORT,
    NET_BIND,
    TLS_DIR,
    TLS_PORT,
    TURN_PORT,
    CoturnSettings,
    config,
    has_tls,
)

USER = 65534  # nobody:nogroup, the image's USER


def coturn(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings: CoturnSettings = ctx.settings  # type: ignore[assignment]
    ports = [
        kube.Port(name="turn-udp", number=TURN_PORT, protocol="UDP"),
        kube.Port(name="turn-tcp", number=TURN_PORT, protocol="TCP"),
    ]
    mounts: list[Mount] = [
        config(ctx),
        kube.Scratch(name="db", mount_path="/var/lib/coturn", memory=True, size_limit="16Mi"),
        kube.Scratch(name="tmp", mount_path="/var/tmp", size_limit="16Mi"),
    ]
    if has_tls(ctx):
        ports += [
            kube.Port(name="turns-tcp", number=TLS_PORT, protocol="TCP"),
            kube.Port(name="turns-udp", number=TLS_PORT, protocol="UDP"),  # DTLS
        ]
        secret = ctx.certificate(CERTIFICATE).secret_name
        mounts.append(kube.SecretFiles(name=secret, mount_path=TLS_DIR, keys=("tls.crt", "tls.key"), volume="tls"))
    ports += kube.port_range("relay", settings.relay_min_port, settings.relay_max_port, protocol="UDP")
    public = [p.name for p in ports]
    services = [
        kube.Service(
            ports=public,
            # Local: coturn must see the client's own address (STUN answers it back; allocations are
            # keyed by it), which SNAT to another node would hide.
            load_balancer=kube.LoadBalancer(address=settings.load_balancer_ip, external_traffic_policy="Local"),
        )
    ]
    if settings.metrics:
        ports.append(kube.Port(name="metrics", number=METRICS_PORT))
        services.append(kube.Service(name="coturn-metrics", ports=["metrics"]))
    container = kube.Container(
        name="turnserver",
        image=f"{IMAGE}:{settings.image_tag}",
        # Replaces the image's CMD, which asks an internet service for the external IP at every start.
        args=["-c", "/etc/coturn/turnserver.conf"],
        ports=ports,
        mounts=mounts,
        resources=kube.Resources.of(settings.resources),
        health=kube.TcpProbe(port=TURN_PORT),
        startup_seconds=30,
        exemptions=(NET_BIND,),
    )
    kube.Workloads(
        scope,
        "coturn",
        ctx=ctx,
        # One pod: TURN allocations live in its memory, and MetalLB announces the address from one node.
        components=[kube.Component(name="coturn", containers=[container], services=services, user=USER)],
    )
