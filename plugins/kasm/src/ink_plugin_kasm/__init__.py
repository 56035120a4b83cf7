"""ink plugin: the Kasm Workspaces control plane (https://kasm.com) on ``kasm.<domain>``.

What Kasm's own Kubernetes chart (kasmtech/kasm-helm, ``charts/kasm`` 1.1181.x for Kasm 1.18.1) runs
in the cluster, rendered as ink workloads: ``api`` (the web API and the admin UI's backend),
``manager`` (schedules sessions on the agents), ``proxy`` (Kasm's nginx: the UI, the API paths and
the websocket paths to the sessions), ``guac`` (the Guacamole connection proxy for RDP, VNC and SSH
servers), ``share`` (session sharing, on Redis), and the idempotent database-init Job. ink provides
PostgreSQL through the database hook (database ``kasm``, role ``kasmapp``, as Kasm fixes them),
Redis through the ``redis`` capability, the generated tokens and passwords through the secrets
hook, and the route. Desktop and app sessions run on Kasm Agents, Docker hosts outside the cluster
that register with the manager; this plugin is off by default until you have one (README).

Kasm configures OIDC in its admin UI only, so ink registers the OIDC client with the auth provider
and writes the values to enter there into the ConfigMap ``kasm-setup`` (README, "Single sign-on").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field, StringConstraints

from ink import hookimpl
from ink.models import (
    AuthClient,
    Connects,
    DatabaseClaim,
    DnsLabel,
    GeneratedSecret,
    Internet,
    NamedNeed,
    NetworkRule,
    Route,
    SecretClaim,
    ServiceInfo,
)
from ink.podsecurity import WritableRootFilesystem
from ink.settings import ContainerResources, ServiceSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# Kasm's release of charts/kasm 1.1181.x (Chart.yaml appVersion; every kasmweb/* image is tagged with it).
# renovate: datasource=docker depName=docker.io/kasmweb/api
VERSION = "1.18.1"
NAME = "kasm"
REGISTRY = "docker.io/kasmweb"
# charts/kasm/templates/_helpers.tpl "kasm.constants": ports and the Service names the images expect.
API_PORT = 8080
MANAGER_PORT = 8181
PROXY_PORT = 8080  # nginx's plain-HTTP listener (orchestrator_http.conf); TLS ends at the ingress
GUAC_PORT = 3000
GUAC_CLUSTER_SIZE = 4  # guac-deployment.yaml CLUSTER_SIZE: guacd processes, one port each
GUAC_CLUSTER_PORTS = tuple(GUAC_PORT + 1 + i for i in range(GUAC_CLUSTER_SIZE))  # 3001-3004 ("kasm.constants")
SHARE_PORT = 8182
ZONE = "default"  # the chart's zone without kasmZones (SERVER_ZONE_NAME, ZONE)
# The role and database Kasm's images and db-init use (values.yaml database.kasmDbUser / kasmDbName).
DB_NAME = "kasm"
DB_ROLE = "kasmapp"
# The users the db-init seeds (Kasm docs "Default users"): their passwords are generated here.
ADMIN_USER = "admin@kasm.local"
USER_USER = "user@kasm.local"
OIDC_REDIRECT = "/api/oidc_callback"  # the "Redirect URL" Kasm's OpenID form shows (Kasm docs, OpenID)

SECRETS = "kasm-secrets"
# kasm-password-secret.yaml: randAlphaNum 26 for each key; the same key names here.
ADMIN_PASSWORD = GeneratedSecret(id=f"{NAME}/admin-password", length=26)
USER_PASSWORD = GeneratedSecret(id=f"{NAME}/user-password", length=26)
MANAGER_TOKEN = GeneratedSecret(id=f"{NAME}/manager-token", length=26)
SERVICE_TOKEN = GeneratedSecret(id=f"{NAME}/service-token", length=26)  # DEFAULT_REGISTRATION_TOKEN

Port = Annotated[int, Field(ge=1, le=65535)]
# An IPv4 address or a lower-case host name (where a policy opens the agents and servers on the LAN).
Host = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", max_length=253)]


def _resources(cpu: str, memory: str, limit: str) -> ContainerResources:
    return ContainerResources(cpu_request=cpu, memory_request=memory, memory_limit=limit)


class KasmSettings(ServiceSettings):
    enabled: bool = Field(
        default=False,
        description="Off by default: Kasm starts no session without a Kasm Agent, a Docker host outside the cluster "
        "that you install and register with the manager yourself (README). Set true once you have one.",
    )
    hostname: DnsLabel = Field(default="kasm", description="Subdomain: https://<hostname>.<domain>.")
    public: bool = Field(default=False, description="Also expose the route through the external tunnel.")
    replicas: int = Field(
        default=1,
        ge=1,
        le=3,
        description="Pods of api, manager, proxy and guac (the chart's deploymentSize presets: small 1, medium 2 "
        "or 4, large 3 or 8). Above 1 they spread over nodes.",
    )
    sso: bool = Field(
        default=True,
        description="Register an OIDC client for Kasm with the auth provider, when one is installed. Kasm takes "
        "its OIDC settings in the admin UI only: the values to enter are in the ConfigMap kasm-setup (README).",
    )
    session_sharing: bool = Field(
        default=True,
        description="Run kasm-share, the session-sharing service, on a Redis store from the redis provider (when "
        "one is installed; without, Kasm runs without session sharing).",
    )
    guac: bool = Field(
        default=True,
        description="Run kasm-guac, the Guacamole connection proxy that server workspaces (RDP, VNC, SSH) need.",
    )
    agent_ports: list[Port] = Field(
        default_factory=lambda: [443],
        description="Ports of the Kasm Agents (outside the cluster) that api, manager and proxy dial: the agent's "
        "API and the sessions' websockets (Kasm agent default: 443).",
    )
    agents: list[Host] = Field(
        default_factory=list,
        description="Addresses of your Kasm Agents (IPv4 or host name), for agents on the LAN: api, manager and "
        "proxy may reach each on agent_ports. An IP opens that address only; a host name opens any address on "
        "those ports (policies cannot name hosts). Agents at public addresses need no entry.",
    )
    servers: list[Host] = Field(
        default_factory=list,
        description="Addresses of the RDP, VNC and SSH servers on the LAN that guac connects to, on server_ports; "
        "as agents. Servers at public addresses need no entry.",
    )
    server_ports: list[Port] = Field(
        default_factory=lambda: [22, 3389, 5900],
        description="Ports of the servers outside the cluster that guac connects to (SSH, RDP, VNC).",
    )
    resources: ContainerResources = Field(
        default_factory=lambda: _resources("150m", "256Mi", "1Gi"), description="Requests and limits of api."
    )
    manager_resources: ContainerResources = Field(
        default_factory=lambda: _resources("150m", "128Mi", "512Mi"), description="Requests and limits of manager."
    )
    proxy_resources: ContainerResources = Field(
        default_factory=lambda: _resources("150m", "64Mi", "512Mi"), description="Requests and limits of proxy."
    )
    guac_resources: ContainerResources = Field(
        default_factory=lambda: _resources("500m", "128Mi", "512Mi"), description="Requests and limits of guac."
    )
    share_resources: ContainerResources = Field(
        default_factory=lambda: _resources("100m", "64Mi", "512Mi"), description="Requests and limits of share."
    )


# The chart runs the api container (api-deployment.yaml sets its securityContext under `applyPodSecurity`, a key
# values.yaml does not have) and the db-init Job's container without readOnlyRootFilesystem.
WRITABLE_ROOT = WritableRootFilesystem(
    reason="api and db-init: startup.sh writes Kasm's configuration into /opt/kasm/current, which also holds "
    "the image's files; the chart runs both without readOnlyRootFilesystem"
)
EXEMPTIONS = (WRITABLE_ROOT,)


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name=NAME,
        title="Kasm Workspaces",
        version=VERSION,
        homepage="https://kasm.com",
        description="Browser-streamed desktops and apps: the control plane (web UI, API, manager, connection "
        "proxies); the sessions run on Kasm Agents outside the cluster.",
        settings_model=KasmSettings,
        exemptions=EXEMPTIONS,
    )


def component_name(component: str) -> str:
    return f"{NAME}-{component}"


@hookimpl
def ink_database_claims() -> list[DatabaseClaim]:
    # Kasm fixes both names; the db-init Job creates the schema in the database the provider made for the role.
    return [DatabaseClaim(name=DB_NAME, role=DB_ROLE)]


@hookimpl
def ink_needs(ctx: ServiceContext) -> list[NamedNeed]:
    settings: KasmSettings = ctx.settings  # type: ignore[assignment]
    if not settings.session_sharing:
        return []
    # kasm-share reads REDIS_HOST and REDIS_PASSWORD only: AUTH <password>, port 6379, no TLS. Shared-session
    # state only, so a small store that may lose its data on restart.
    return [
        NamedNeed(
            capability="redis",
            id=NAME,
            optional=True,
            enabled_by="session_sharing",
            params={"password_only": True, "tls": False, "max_memory": "64Mi"},
        )
    ]


@hookimpl
def ink_ingress_routes(ctx: ServiceContext) -> list[Route]:
    settings: KasmSettings = ctx.settings  # type: ignore[assignment]
    # Everything goes through Kasm's nginx, as upstream's Ingress does: it routes /api, /manager_api (the
    # agents), /desktop and /kasmguac (websockets to the sessions) and serves the UI. No forward-auth in front:
    # the agents and the session websockets authenticate with Kasm's own tokens and cannot follow a login page.
    return [
        Route(
            host=settings.hostname,
            service=component_name("proxy"),
            port=PROXY_PORT,
            public=settings.public,
            optional=True,
        )
    ]


@hookimpl
def ink_auth_clients(ctx: ServiceContext) -> list[AuthClient]:
    settings: KasmSettings = ctx.settings  # type: ignore[assignment]
    if not settings.sso:
        return []
    return [
        AuthClient(
            kind="oidc", host=settings.hostname, redirect_paths=(OIDC_REDIRECT,), optional=True, enabled_by="sso"
        )
    ]


@hookimpl
def ink_secrets() -> list[SecretClaim]:
    return [
        SecretClaim(
            name=SECRETS,
            data={
                "admin-password": ADMIN_PASSWORD,
                "user-password": USER_PASSWORD,
                "manager-token": MANAGER_TOKEN,
                "service-token": SERVICE_TOKEN,
            },
        )
    ]


@hookimpl
def ink_network(ctx: ServiceContext) -> list[NetworkRule]:
    settings: KasmSettings = ctx.settings  # type: ignore[assignment]
    # The API calls the agents, the manager checks on them, and the proxy forwards /desktop/ to the agent the API
    # names; guac connects to the servers of server workspaces. Public addresses through Internet (which leaves
    # out the private ranges), the LAN's through the listed addresses.
    reach = [(c, settings.agent_ports, settings.agents, "the Kasm Agents") for c in ("api", "manager", "proxy")]
    if settings.guac:
        reach.append(("guac", settings.server_ports, settings.servers, "the RDP, VNC and SSH servers"))
    rules: list[NetworkRule] = []
    for component, ports, hosts, what in reach:
        pods = {"app.kubernetes.io/component": component}
        rules.append(Internet(ports=tuple(ports), pods=pods, reason=f"{component} connects to {what}"))
        rules.extend(
            Connects(url=f"tcp://{host}:{port}", pods=pods, reason=f"{component} connects to {what} on the LAN")
            for host in hosts
            for port in ports
        )
    return rules


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_kasm.construct import kasm

    kasm(scope, ctx=ctx)
