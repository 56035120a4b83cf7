"""ink plugin: HashiCorp Vault, or OpenBao (its MPL-2.0 fork) as a drop-in setting.

Installs the distribution's official Helm chart as release ``vault`` in namespace ``vault``: three
servers in HA with integrated Raft storage, TLS from the in-cluster CA on the API and between the
servers, no agent injector, the UI on but no public route (internal only). A CronJob, the bootstrap,
configures the unsealed cluster idempotently: the file audit device (to stdout), the KV v2 engine
``ink``, the Kubernetes auth method with the ``external-secrets`` role, and OIDC login through the
auth provider (authentik). Off by default: Vault needs a manual ``operator init`` (see the README).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ink import hookimpl
from ink.models import (
    AlertRule,
    AuthClient,
    CertificateClaim,
    ChartService,
    Connects,
    DnsLabel,
    Endpoint,
    Internet,
    KubeApi,
    MetricsTarget,
    NetworkRule,
    Quantity,
    SecretClaim,
    SecretKeyRef,
    ServiceInfo,
    UserSecret,
)
from ink.settings import ContainerResources, Cron, ImageTag, PluginSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

NAME = "vault"
PORT = 8200  # API and UI (Vault docs, 'tcp listener': address defaults to 127.0.0.1:8200)
CLUSTER_PORT = 8201  # server-to-server: Raft and request forwarding (cluster_address)
TLS_SECRET = "vault-server-tls"  # the contract with ink-plugin-external-secrets: tls.crt, tls.key, ca.crt
SEAL_SECRET = "vault-seal"  # the auto-unseal credentials (UserSecrets), sealed like every other Secret
BOOTSTRAP = "vault-bootstrap"
BOOTSTRAP_TOKEN_SECRET = "vault-bootstrap-token"  # made by the runbook with kubectl, never in Git
# The contract: KV v2 at ink, Kubernetes auth at kubernetes, role external-secrets → policy ink-secrets.
KV_MOUNT = "ink"
KUBERNETES_MOUNT = "kubernetes"
ESO_ROLE = "external-secrets"
ESO_SERVICE_ACCOUNT = ("external-secrets", "external-secrets")  # name, namespace (the ESO chart's defaults)
SECRETS_POLICY = "ink-secrets"
ADMIN_POLICY = "ink-admin"
BOOTSTRAP_POLICY = "ink-bootstrap"
OIDC_MOUNT = "oidc"
# Vault docs, 'JWT/OIDC auth method' → 'Redirect URIs': the CLI's local listener and the UI's callback
# (here through `kubectl port-forward svc/vault 8200`).
CLI_CALLBACK = "http://localhost:8250/oidc/callback"
UI_CALLBACK = f"https://localhost:{PORT}/ui/vault/auth/{OIDC_MOUNT}/oidc/callback"


@dataclass(frozen=True)
class Distribution:
    """What differs between HashiCorp Vault and OpenBao: chart, image, CLI and its variable prefix."""

    name: str
    title: str
    version: str  # the server's version, also the image tag
    image: str  # full registry path, without the tag
    chart: str
    chart_repo: str
    chart_version: str
    cli: str  # the CLI in the image: vault or bao
    env: str  # its environment variables' prefix: VAULT_ADDR, BAO_ADDR
    home: str  # the image's folder (/vault, /openbao): data, config
    homepage: str
    licence: str


DISTRIBUTIONS = {
    # hashicorp/vault-helm v0.34.1 (2026-08-13, latest release): appVersion 2.0.4, image hashicorp/vault:2.0.4
    # on Docker Hub (values.yaml server.image), CHANGELOG "Default vault version updated to v2.0.4".
    "vault": Distribution(
        name="vault",
        title="HashiCorp Vault",
        # renovate: datasource=docker depName=docker.io/hashicorp/vault
        version="2.0.4",
        image="docker.io/hashicorp/vault",
        chart="vault",
        chart_repo="https://helm.releases.hashicorp.com",
        # renovate: datasource=helm depName=vault registryUrl=https://helm.releases.hashicorp.com
        chart_version="0.34.1",
        cli="vault",
        env="VAULT",
        home="/vault",
        homepage="https://www.vaultproject.io",
        licence="BUSL-1.1",
    ),
    # openbao/openbao-helm openbao-0.29.2 (latest tag): appVersion v2.6.2; the image is
    # quay.io/openbao/openbao with the tag without the v (templates/server-statefulset.yaml trimPrefix);
    # openbao/openbao v2.6.2 (CHANGELOG: August 18, 2026) is the latest release.
    "openbao": Distribution(
        name="openbao",
        title="OpenBao",
        # renovate: datasource=docker depName=quay.io/openbao/openbao
        version="2.6.2",
        image="quay.io/openbao/openbao",
        chart="openbao",
        chart_repo="https://openbao.github.io/openbao-helm",
        # renovate: datasource=helm depName=openbao registryUrl=https://openbao.github.io/openbao-helm
        chart_version="0.29.2",
        cli="bao",
        env="BAO",
        home="/openbao",
        homepage="https://openbao.org",
        licence="MPL-2.0",
    ),
}


# --- auto-unseal: the seal stanza's parameters (Vault/OpenBao docs, 'seal' configuration) ------------

URL = r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?$"
SECRET_NAME = r"^[a-z0-9][a-z0-9_-]*$"


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class TransitSeal(_Table):
    """Another Vault's transit engine holds the key (seal "transit")."""

    type: Literal["transit"]
    address: str = Field(pattern=URL, description="The other Vault's address, e.g. https://vault.example.org:8200.")
    key_name: str = Field(min_length=1, description="The transit key's name (key_name).")
    mount_path: str = Field(default="transit/", min_length=1, description="The transit engine's path (mount_path).")
    token: str = Field(
        default="vault-transit-token",
        pattern=SECRET_NAME,
        description="Name of the UserSecret holding the token (INK_SECRET_<NAME> or .ink/secrets.toml).",
    )


class AwsKmsSeal(_Table):
    """An AWS KMS key (seal "awskms"); the access key pair is a UserSecret each."""

    type: Literal["awskms"]
    region: str = Field(min_length=1, description="The key's AWS region (region).")
    kms_key_id: str = Field(min_length=1, description="The key's id, ARN or alias/<name> (kms_key_id).")
    endpoint: str | None = Field(default=None, pattern=URL, description="A KMS endpoint other than AWS's (endpoint).")
    access_key_id: str = Field(default="vault-aws-access-key-id", pattern=SECRET_NAME)
    secret_access_key: str = Field(default="vault-aws-secret-access-key", pattern=SECRET_NAME)


class GcpCkmsSeal(_Table):
    """A Google Cloud KMS key (seal "gcpckms"); the service account's JSON key is a UserSecret."""

    type: Literal["gcpckms"]
    project: str = Field(min_length=1, description="The GCP project (project).")
    region: str = Field(min_length=1, description="The key ring's location, e.g. 'global' (region).")
    key_ring: str = Field(min_length=1, description="The key ring (key_ring).")
    crypto_key: str = Field(min_length=1, description="The key (crypto_key).")
    credentials: str = Field(
        default="vault-gcp-credentials",
        pattern=SECRET_NAME,
        description="Name of the UserSecret holding the service account's JSON key (mounted as the credentials file).",
    )


class AzureKeyVaultSeal(_Table):
    """An Azure Key Vault key (seal "azurekeyvault"); the client secret is a UserSecret."""

    type: Literal["azurekeyvault"]
    tenant_id: str = Field(min_length=1, description="The Entra ID tenant (tenant_id).")
    client_id: str = Field(min_length=1, description="The application's client id (client_id).")
    vault_name: str = Field(min_length=1, description="The Key Vault's name (vault_name).")
    key_name: str = Field(min_length=1, description="The key's name (key_name).")
    client_secret: str = Field(default="vault-azure-client-secret", pattern=SECRET_NAME)


Seal = Annotated[TransitSeal | AwsKmsSeal | GcpCkmsSeal | AzureKeyVaultSeal, Field(discriminator="type")]


class VaultSettings(PluginSettings):
    enabled: bool = Field(
        default=False,
        description="Off until you want it: a new Vault must be initialised (and, without auto-unseal, unsealed) "
        "by hand once; see the README's runbook.",
    )
    distribution: Literal["vault", "openbao"] = Field(
        default="vault",
        description="'vault' (HashiCorp Vault, BUSL 1.1) or 'openbao' (the MPL-2.0 fork): chart, image and CLI.",
    )
    image_tag: ImageTag | None = Field(default=None, description="Server image tag; default: the pinned version.")
    chart_version: str | None = Field(default=None, description="Chart version; default: the pinned one.")
    replicas: Literal[1, 3, 5] = Field(
        default=3, description="Raft voters: 3 survive one lost server, 5 two (a quorum is a majority)."
    )
    storage_size: Quantity = Field(default="10Gi", description="Raft data volume of each server.")
    storage_class: str | None = Field(default=None, description="StorageClass; unset uses the global storage_class.")
    resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="100m", memory_request="256Mi", memory_limit="1Gi"),
        description="Requests and limits of each server container.",
    )
    seal: Seal | None = Field(
        default=None,
        description="Auto-unseal: a table with type = 'transit', 'awskms', 'gcpckms' or 'azurekeyvault' and that "
        "seal's parameters. Unset: Shamir keys, unsealed by hand after every restart (README runbook).",
    )
    sso: bool = Field(
        default=True, description="OIDC login through the auth provider (authentik), when one is installed."
    )
    admin_group: str = Field(
        default="authentik Admins",
        min_length=1,
        description="The auth provider's group whose members get the admin policy; others get Vault's 'default'.",
    )
    bootstrap_schedule: Cron = Field(
        default="*/30 * * * *",
        description="When the bootstrap re-applies the configuration (5-field cron): it also renews its token.",
    )
    hostname: DnsLabel = Field(
        default="vault-ui",
        description="Subdomain the SSO application is filed under in the auth provider. Vault has no route "
        "(internal only): its redirect URIs are the CLI's and the port-forwarded UI's localhost callbacks.",
    )


def distribution(ctx: ServiceContext) -> Distribution:
    return DISTRIBUTIONS[ctx.settings.distribution]  # type: ignore[attr-defined]


def server_pods(ctx: ServiceContext) -> dict[str, str]:
    """The labels of the chart's server pods (templates/server-statefulset.yaml of both charts)."""
    return {"app.kubernetes.io/name": distribution(ctx).chart, "component": "server"}


@hookimpl
def ink_service_info() -> ServiceInfo:
    vault = DISTRIBUTIONS["vault"]
    return ServiceInfo(
        name=NAME,
        title=vault.title,
        version=vault.version,
        homepage=vault.homepage,
        description="Secrets store: KV secrets for External Secrets, OIDC login; HA on Raft. OpenBao as an option.",
        settings_model=VaultSettings,
    )


@hookimpl
def ink_certificate_claims(ctx: ServiceContext) -> list[CertificateClaim]:
    # Required: Vault's API and Raft run on TLS only. The names clients use (Services vault, vault-active,
    # vault-standby, vault-internal) and each server's own, vault-N.vault-internal (raft retry_join dials them).
    namespace = ctx.namespace
    services = ("vault", "vault-active", "vault-standby", "vault-internal")
    pods = [f"vault-{n}.vault-internal" for n in range(ctx.settings.replicas)]  # type: ignore[attr-defined]
    names = [
        *(f"{s}{suffix}" for s in services for suffix in ("", f".{namespace}", f".{namespace}.svc")),
        *(f"{p}{suffix}" for p in pods for suffix in ("", f".{namespace}", f".{namespace}.svc")),
        "localhost",  # `kubectl port-forward` and the pods' own probes and CLI
    ]
    return [CertificateClaim(name=TLS_SECRET, dns_names=tuple(names), issuer="internal")]


@hookimpl
def ink_auth_clients(ctx: ServiceContext) -> list[AuthClient]:
    if not ctx.settings.sso:  # type: ignore[attr-defined]
        return []
    # Absolute redirect URIs: Vault is internal only, so the browser comes back to localhost.
    return [
        AuthClient(
            kind="oidc",
            host=ctx.settings.hostname,  # type: ignore[attr-defined]
            redirect_paths=(CLI_CALLBACK, UI_CALLBACK),
            scopes=("openid", "email", "profile"),
            optional=True,
            enabled_by="sso",
        )
    ]


def seal_secret_data(seal: object) -> dict[str, UserSecret]:
    """The seal's credentials, by key of the ``vault-seal`` Secret."""
    if isinstance(seal, TransitSeal):
        return {"token": UserSecret(name=seal.token, description="Vault token for the transit auto-unseal")}
    if isinstance(seal, AwsKmsSeal):
        return {
            "access-key-id": UserSecret(name=seal.access_key_id, description="AWS access key id (KMS auto-unseal)"),
            "secret-access-key": UserSecret(
                name=seal.secret_access_key, description="AWS secret access key (KMS auto-unseal)"
            ),
        }
    if isinstance(seal, GcpCkmsSeal):
        return {
            "credentials.json": UserSecret(
                name=seal.credentials, description="GCP service account JSON key (Cloud KMS auto-unseal)"
            )
        }
    if isinstance(seal, AzureKeyVaultSeal):
        return {
            "client-secret": UserSecret(name=seal.client_secret, description="Azure client secret (Key Vault unseal)")
        }
    return {}


@hookimpl
def ink_secrets(ctx: ServiceContext) -> list[SecretClaim]:
    data = seal_secret_data(ctx.settings.seal)  # type: ignore[attr-defined]
    return [SecretClaim(name=SEAL_SECRET, data=dict(data))] if data else []


@hookimpl
def ink_metrics_targets(ctx: ServiceContext) -> list[MetricsTarget]:
    # /v1/sys/metrics with format=prometheus (Vault and OpenBao API docs, '/sys/metrics'), on the TLS listener;
    # the telemetry stanzas that enable it are in the server configuration only with a metrics provider. The
    # query string is part of the path: the provider passes it as the scrape's params.
    # vault_core_unsealed (1 unsealed, 0 sealed): Vault docs, 'Telemetry metrics reference' → core metrics;
    # OpenBao keeps Vault's metric names (its prefix stays "vault", telemetry docs).
    sealed = AlertRule(
        alert="VaultSealed",
        expr="vault_core_unsealed == 0",
        for_="5m",
        severity="critical",
        summary="{{ $labels.pod }} is sealed",
        description="A sealed server serves no secrets: unseal it (auto-unseal: check the seal's key and credentials; "
        "plugins/vault README, 'Runbooks').",
    )
    return [
        MetricsTarget(
            name="server",
            pods=server_pods(ctx),
            port=PORT,
            path="/v1/sys/metrics",
            params={"format": "prometheus"},
            scheme="https",
            ca=SecretKeyRef(name=TLS_SECRET, key="ca.crt"),
            server_name=f"vault.{ctx.namespace}.svc",
            alerts=(sealed,),
        )
    ]


@hookimpl
def ink_endpoints(ctx: ServiceContext) -> list[Endpoint]:
    # The contract: clients use https://vault.vault.svc:8200 (the chart's Service of every server; a standby
    # forwards requests to the active one).
    return [Endpoint(name="api", port=PORT, protocol="https", kind="vault", service="vault")]


@hookimpl
def ink_images(ctx: ServiceContext) -> list[str]:
    # The server alone (ink turns the injector and the CSI provider off), with the image and tag ink passes.
    dist = distribution(ctx)
    return [f"{dist.image}:{ctx.setting('image_tag') or dist.version}"]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_vault.construct import vault

    vault(scope, ctx=ctx)


@hookimpl
def ink_network(ctx: ServiceContext) -> list[NetworkRule]:
    pods = server_pods(ctx)
    chart = distribution(ctx).chart
    source = f"{chart} chart: templates/server-service.yaml, server-ha-active-service.yaml"
    rules: list[NetworkRule] = [
        ChartService(name="vault", pods=pods, ports={PORT: PORT}, source=source),
        # vault-active selects the leader by the label <chart>-active=true, which service_registration
        # "kubernetes" sets at run time; the leader moves on failover, so every server may be the target.
        ChartService(name="vault-active", pods=pods, ports={PORT: PORT}, source=source),
        # The Kubernetes auth method reviews clients' tokens (TokenReview); service_registration "kubernetes"
        # labels the pods vault-active / vault-sealed (Vault docs, 'Kubernetes service registration').
        KubeApi(reason="token review for the Kubernetes auth method; service registration labels", pods=pods),
    ]
    seal = ctx.settings.seal  # type: ignore[attr-defined]
    if isinstance(seal, TransitSeal):
        rules.append(Connects(url=str(seal.address), reason="the transit auto-unseal", pods=pods))
    elif seal is not None:
        rules.append(Internet(ports=(443,), reason=f"the {seal.type} auto-unseal (cloud KMS API)", pods=pods))
    return rules
