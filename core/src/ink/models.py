"""The typed vocabulary plugins and core speak: service descriptions, needs and bindings.

A plugin *describes* itself with :class:`ServiceInfo`, *declares* what it needs
(:class:`Route`, :class:`AuthClient`, :class:`DatabaseClaim`, :class:`BackupTarget`,
:class:`SecretClaim`), and a provider plugin answers each need with a *binding*
(:class:`DatabaseBinding`, :class:`SecretBinding`, ...). Core fills in ``owner`` and
``namespace`` on every need, so a plugin cannot declare on another plugin's behalf.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    InstanceOf,
    StringConstraints,
    field_validator,
    model_validator,
)

from ink.podsecurity import Exemption

# --- value types shared by settings and models ---------------------------------------

DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
DnsLabel = Annotated[str, StringConstraints(pattern=DNS_LABEL_PATTERN)]
"""A DNS-1123 label: lowercase letters, digits and '-', at most 63 characters."""

# Kubernetes resource.Quantity, e.g. "50Gi", "500m", "1.5".
QUANTITY_PATTERN = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|[munkMGTPE]|[KMGTPE]i)?$"
_QUANTITY_SUFFIXES = {
    "": Decimal(1), "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
    "k": Decimal(10**3), "M": Decimal(10**6), "G": Decimal(10**9), "T": Decimal(10**12),
    "P": Decimal(10**15), "E": Decimal(10**18),
    "Ki": Decimal(2**10), "Mi": Decimal(2**20), "Gi": Decimal(2**30), "Ti": Decimal(2**40),
    "Pi": Decimal(2**50), "Ei": Decimal(2**60),
}  # fmt: skip


def quantity_value(text: str) -> Decimal:
    """The number a Kubernetes quantity stands for ("5Gi" → 5368709120, "250m" → 0.25)."""
    match = re.fullmatch(QUANTITY_PATTERN, text)
    if not match:
        raise ValueError(f"{text!r} is not a Kubernetes quantity")
    suffix = match.group(3) or ""
    if re.fullmatch(r"[eE][+-]?[0-9]+", suffix):  # "1e3"; but "1E" and "1Ei" are suffixes
        return Decimal(text)
    return Decimal(text[: len(text) - len(suffix)]) * _QUANTITY_SUFFIXES[suffix]


def _positive_quantity(value: str) -> str:
    if quantity_value(value) <= 0:
        raise ValueError("must be more than zero, e.g. '5Gi' or '250m'")
    return value


Quantity = Annotated[str, StringConstraints(pattern=QUANTITY_PATTERN), AfterValidator(_positive_quantity)]
"""A positive Kubernetes quantity, e.g. "50Gi", "500m"."""


def is_dns_label(value: str) -> bool:
    return re.fullmatch(DNS_LABEL_PATTERN, value) is not None


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class Capability(enum.StrEnum):
    """The names of the built-in capabilities (see :mod:`ink.capabilities`); any package may define more.

    Members are plain strings: ``provides=(Capability.DATABASE, "smtp")`` mixes both.
    """

    INGRESS = "ingress"
    AUTH = "auth"
    DATABASE = "database"
    BACKUP = "backup"
    SECRETS = "secrets"
    S3 = "s3"
    TLS = "tls"
    METRICS = "metrics"


# --- describe ---------------------------------------------------------------------------


class ServiceInfo(_Frozen):
    """What a plugin deploys. Returned by ``ink_service_info``."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True, defer_build=True)

    name: DnsLabel = Field(description="Service name; equals the plugin's entry-point name.")
    title: str = Field(description="Human-readable name, e.g. 'Vaultwarden'.")
    version: str = Field(description="Upstream version this plugin deploys by default (app, not chart).")
    homepage: str = Field(description="Upstream project URL.")
    description: str = ""
    namespace: DnsLabel | None = Field(default=None, description="Namespace; defaults to the name.")
    settings_model: type[BaseModel] | None = Field(
        default=None, description="Pydantic model of the plugin's [plugins.<name>] table."
    )
    provides: tuple[Annotated[str, StringConstraints(pattern=DNS_LABEL_PATTERN)], ...] = Field(
        default=(), description="Capabilities this plugin fulfils (built-in or defined by an installed package)."
    )
    pod_security: Literal["restricted", "baseline", "privileged"] = Field(
        default="restricted", description="Pod Security Standard enforced on the namespace."
    )
    exemptions: tuple[InstanceOf[Exemption], ...] = Field(
        default=(),
        description="Departures from the hardened pod defaults, each with its reason (see ink.podsecurity); "
        "shown by `ink docs`, and they raise the namespace's Pod Security level as far as they need.",
    )


class OwnedNamespace(_Frozen):
    """A namespace a plugin owns besides its own (``ink_namespaces``), e.g. the scratch namespace of a restore drill.

    Core emits it in the plugin's folder (so its Argo CD Application owns it), with the same keep-on-delete
    annotation as a service's namespace, and seals it: a ``default-deny`` NetworkPolicy and no allow rule at
    all, not even DNS or traffic inside it (see docs/network-policies.md). Its Pod Security level is
    ``pod_security``, raised to the level of each service in ``pod_security_of`` (for pods that come from
    those services' namespaces, such as restored copies).
    """

    name: DnsLabel = Field(description="The namespace's name; must not be any service's namespace.")
    reason: str = Field(min_length=1, description="What it is for, shown in its annotation and in docs.")
    pod_security: Literal["restricted", "baseline", "privileged"] = Field(
        default="restricted", description="The least Pod Security level enforced on it."
    )
    pod_security_of: tuple[DnsLabel, ...] = Field(
        default=(), description="Services whose namespace's level it needs at least (pods copied from there)."
    )


# --- declare ----------------------------------------------------------------------------


class Need(_Frozen):
    """Base of every declaration. ``owner`` and ``namespace`` are set by core."""

    capability: ClassVar[str]
    id_field: ClassVar[str]
    owner: str = Field(default="", description="The plugin that declared the need (set by core).")
    namespace: str = Field(
        default="", description="The owner's namespace, where the binding's Secrets go (set by core)."
    )
    optional: bool = Field(
        default=False,
        description="Without a provider, drop the need with a warning instead of failing "
        "(e.g. single sign-on when no auth provider is installed). Check ctx.bindings before use.",
    )
    enabled_by: str = Field(
        default="",
        description="The owner's setting that asks for this optional need (e.g. 'sso'). Set explicitly in ink.toml, "
        "a missing provider is an error: the user asked for something that cannot take effect.",
    )

    warn_when_missing: ClassVar[bool] = True
    """An optional need without a provider is dropped with a warning; False drops it silently (a metrics
    endpoint is declared by every plugin that has one, whether or not the homelab runs a metrics provider)."""

    @property
    def key(self) -> str:
        """Identifies the need within its owner, e.g. ``database/vaultwarden``."""
        return f"{self.capability}/{getattr(self, self.id_field)}"

    def clash(self, other: Need) -> str | None:
        """Why this need and ``other`` (of another owner, same capability) cannot both exist, if they cannot."""
        return None


class NamedNeed(_Frozen):
    """A need of a capability named by string, for a consumer that does not depend on the defining package.

    Core turns it into the capability's own need model (``{id_field: id, **params}``) when a package
    defines the capability; when none does, it is treated like a need without a provider.
    """

    capability: DnsLabel
    id: DnsLabel = Field(description="Identifies the need within its owner: the need model's id field.")
    params: dict[str, Any] = Field(default_factory=dict, description="Further fields of the need model.")
    optional: bool = False
    enabled_by: str = ""
    owner: str = ""
    namespace: str = ""

    @property
    def key(self) -> str:
        return f"{self.capability}/{self.id}"


class RoutePath(_Frozen):
    """A further path prefix on a Route's host, served by another Service port (e.g. an API under ``/api``)."""

    path: str = Field(pattern=r"^/[^\s`]+$", description="Path prefix, e.g. '/api' or '/ws/'; not '/' itself.")
    service: DnsLabel = Field(description="Name of the Service in the owner's namespace.")
    port: int = Field(ge=1, le=65535)
    strip_prefix: bool = Field(default=False, description="Remove the prefix before passing the request on.")
    exact: bool = Field(default=False, description="Match this path only, not the paths under it.")
    sticky_cookie: str = Field(
        default="",
        pattern=r"^([A-Za-z0-9_-]+)?$",
        description="Name of a cookie that pins each client to one pod (sticky sessions), for websockets whose "
        "state lives in one replica; '' for none.",
    )
    forward_auth: bool = Field(
        default=True,
        description="Whether the host's forward-auth (if any) covers this path. False only for public static files "
        "that pages on other hosts load before any login, e.g. Jitsi's external_api.js.",
    )


class Route(Need):
    """An HTTP route from ``https://<host>.<domain><path>`` to a Service port."""

    capability: ClassVar[Capability] = Capability.INGRESS
    host: DnsLabel = Field(description="Subdomain under the configured domain.")
    service: DnsLabel = Field(description="Name of the Service in the owner's namespace.")
    port: int = Field(ge=1, le=65535, description="The Service's port the route sends requests to.")
    path: str = Field(default="/", description="Path prefix on the host that goes to this Service.")
    public: bool = Field(default=False, description="Also expose through the external tunnel.")
    paths: tuple[RoutePath, ...] = Field(
        default=(),
        description="Further path prefixes on the same host to other Services (the longest prefix wins); the "
        "host's forward-auth, if any, covers them too.",
    )

    id_field: ClassVar[str] = "host"

    @model_validator(mode="after")
    def _distinct_paths(self) -> Route:
        prefixes = [self.path, *(p.path for p in self.paths)]
        for duplicate in sorted({p for p in prefixes if prefixes.count(p) > 1}):
            raise ValueError(f"route {self.host!r} lists the path {duplicate!r} twice")
        return self

    def clash(self, other: Need) -> str | None:
        if isinstance(other, Route) and other.host == self.host:
            return (
                f"{other.owner!r} and {self.owner!r} both route the hostname {self.host!r}; "
                f"set [plugins.{self.owner}] hostname to another subdomain"
            )
        return None


class AuthClient(Need):
    """Single sign-on for a service: a native OIDC client, or forward-auth in front of its route."""

    capability: ClassVar[Capability] = Capability.AUTH
    kind: Literal["oidc", "forward-auth"] = Field(
        description="'oidc': the app logs users in itself through an OIDC client; 'forward-auth': the ingress "
        "asks the auth provider before any request reaches the app."
    )
    host: DnsLabel = Field(description="The route's subdomain the client belongs to.")
    redirect_paths: tuple[str, ...] = Field(default=(), description="OIDC redirect paths on the host.")
    scopes: tuple[str, ...] = Field(
        default=("openid", "email", "profile"), description="OIDC scopes the client asks for."
    )
    verified_email: bool = Field(
        default=False,
        description="The OIDC client refuses logins whose email is not marked verified (the email_verified "
        "claim), e.g. Vaultwarden: the auth provider then asserts it, for this client only. Needs the 'email' scope.",
    )

    id_field: ClassVar[str] = "host"

    @model_validator(mode="after")
    def _verified_email_is_an_oidc_email_claim(self) -> AuthClient:
        if self.verified_email and (self.kind != "oidc" or "email" not in self.scopes):
            raise ValueError("verified_email=True needs kind='oidc' and 'email' among the scopes: it is that claim")
        return self


class DatabaseClaim(Need):
    """A database for the owner, created on the shared cluster of the database provider."""

    capability: ClassVar[Capability] = Capability.DATABASE
    name: DnsLabel = Field(description="Database name; also the role (user) name unless `role` is given.")
    role: DnsLabel | None = Field(
        default=None,
        description="Role (user) name, for images that fix it apart from the database; default: the database name.",
    )
    engine: Literal["postgres"] = Field(default="postgres", description="The database engine (PostgreSQL only).")
    extensions: tuple[str, ...] = Field(default=(), description="Extensions to create, e.g. 'vector'.")
    logical_replication: bool = Field(
        default=False,
        description="The owner streams logical replication from its database (e.g. a sync engine such as Zero): "
        "the server runs with wal_level=logical and the role may open replication connections (REPLICATION).",
    )

    id_field: ClassVar[str] = "name"

    @property
    def role_name(self) -> str:
        """The role (user) that owns the database and logs in."""
        return self.role or self.name


class BackupTarget(Need):
    """A PersistentVolumeClaim whose contents must be backed up."""

    capability: ClassVar[Capability] = Capability.BACKUP
    volume: DnsLabel = Field(description="PersistentVolumeClaim name in the owner's namespace.")
    pod_volume: str = Field(default="", description="Volume name inside the pod, for file-system backup.")

    id_field: ClassVar[str] = "volume"


class BucketClaim(Need):
    """An S3 bucket with credentials of its own, from the S3 provider (MinIO or any S3 server)."""

    capability: ClassVar[Capability] = Capability.S3
    id_field: ClassVar[str] = "bucket"
    bucket: DnsLabel = Field(description="Bucket name; unique across the homelab.")
    tls: bool = Field(
        default=False,
        description="The consumer can use an https endpoint verified with the binding's ca (it mounts "
        "S3Binding.ca_mounts() or passes the CA Secret on). One S3 server serves every bucket on one port, so "
        "it serves TLS only when every claim can (ink.tls.all_claims_verify); the others keep it plain.",
    )


INTERNAL_CA_ISSUER = "ink-internal-ca"
"""The TLS provider's in-cluster CA: a ClusterIssuer whose certificates carry ``ca.crt`` (issue 11 §8)."""


class CertificateClaim(Need):
    """A TLS certificate for some DNS names, stored as a Secret in the owner's namespace."""

    capability: ClassVar[Capability] = Capability.TLS
    id_field: ClassVar[str] = "name"
    name: DnsLabel = Field(description="Name of the Certificate and of its Secret.")
    dns_names: tuple[str, ...] = Field(description="Names the certificate covers, e.g. '*.example.com'.")
    issuer: Literal["public", "internal"] = Field(
        default="public",
        description="'public': the ACME issuer browsers trust; 'internal': the in-cluster CA "
        f"(ClusterIssuer {INTERNAL_CA_ISSUER!r}), for service names only pods resolve (e.g. x.ns.svc).",
    )


class GeneratedSecret(_Frozen):
    """A credential derived from the master key: stable across synths, never stored in plain text.

    ``id`` names the credential, not its location: two secrets that use the same id hold the
    same value (e.g. a database password in the database's and in the app's namespace).
    """

    id: str = Field(pattern=r"^[a-z0-9][-a-z0-9_./]*$")
    length: int = Field(default=32, ge=16, le=256)
    alphabet: Literal["alphanumeric", "hex"] = "alphanumeric"


class SecretTemplate(_Frozen):
    """A value assembled from generated secrets, e.g. a connection URI with the password in it.

    ``template`` uses ``{name}`` placeholders filled from ``values``.
    """

    template: str
    values: dict[str, GeneratedSecret]


class UserSecret(_Frozen):
    """A credential only the user has (an API token), read when ``ink synth`` runs.

    Looked up in the environment variable ``INK_SECRET_<NAME>`` (upper case, '-' as '_'), then in
    ``.ink/secrets.toml`` (``<name> = "..."``). Never written anywhere but sealed.
    """

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    description: str = ""


SecretValue = str | GeneratedSecret | SecretTemplate | UserSecret
"""A literal (non-secret, e.g. a user name), a generated credential, a template, or a user's secret."""


# --- what the cluster's nodes must provide -----------------------------------------------

K3sComponent = Literal["coredns", "servicelb", "traefik", "local-storage", "metrics-server", "runtimes"]
"""A component k3s packages and deploys itself (``k3s server --disable <component>``)."""


class K3sDisable(_Frozen):
    """A k3s packaged component that would collide with what this service installs."""

    component: K3sComponent
    reason: str = Field(description="Why, for the generated file and docs/cluster.md.")


class NodePackage(_Frozen):
    """An operating-system package every node needs for this service's pods (no chart installs it)."""

    debian: str = Field(description="Package name on Debian and Ubuntu (apt).")
    rhel: str = Field(description="Package name on RHEL, Rocky, Fedora (dnf).")
    reason: str = Field(description="What needs it.")


class ClusterRequirements(_Frozen):
    """What the cluster must provide for a service, outside Kubernetes. Returned by ``ink_cluster_requirements``."""

    k3s_disable: tuple[K3sDisable, ...] = ()
    node_packages: tuple[NodePackage, ...] = ()


class SecretClaim(Need):
    """A Secret the owner needs in a namespace, materialised by the secrets provider."""

    capability: ClassVar[Capability] = Capability.SECRETS
    name: DnsLabel = Field(description="The Secret's name in the owner's namespace.")
    data: dict[str, SecretValue] = Field(
        description="Key → value: a GeneratedSecret (derived from the master key), a UserSecret (the user supplies "
        "it) or a template combining them; never a plain value."
    )
    type: str = Field(default="Opaque", description="The Secret's type, e.g. 'kubernetes.io/basic-auth'.")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels of the Secret (e.g. for an operator).")

    id_field: ClassVar[str] = "name"


# --- provide ----------------------------------------------------------------------------


class SecretKeyRef(_Frozen):
    """Where a value lives: a key of a Secret in the consumer's namespace."""

    name: str
    key: str


class Binding(_Frozen):
    """What a provider answers for a need. ``secrets`` are materialised by core afterwards."""

    provider: str = Field(default="", description="The plugin that answered (set by core).")
    secrets: tuple[SecretClaim, ...] = Field(
        default=(), description="Secrets the provider asks core to write in the consumer's namespace (the credentials)."
    )

    # For NetworkPolicies (ink.netpol): every address a binding holds (a URL, host + port, a ServiceRef) is
    # one the consumer dials, except the fields named here.
    not_dialled: ClassVar[frozenset[str]] = frozenset()
    """Fields holding an address nobody dials because of this binding (the consumer's own public URL)."""
    dialled_by_ingress: ClassVar[frozenset[str]] = frozenset()
    """Fields holding an address the ingress provider dials on the consumer's behalf (forward auth)."""


class TlsBinding(Binding):
    """A binding whose connection can run over TLS, verified against a CA in the consumer's namespace.

    The one TLS vocabulary of every binding that can be TLS (database, redis, s3...): ``tls`` says
    the server speaks TLS and the binding's address asks for it (``https://``, ``rediss://``,
    ``sslmode=verify-full``); ``ca`` is the CA that signed the server's certificate, a key of a
    Secret in the consumer's namespace (see :func:`ink.tls.internal_ca`). A plain binding has
    neither. ``tls_verified=False`` marks a TLS connection the consumer cannot verify (it is
    shown as ``tls-unverified`` in ``ink graph``); providers set it only with a reason in their
    README, never silently.
    """

    tls: bool = Field(default=False, description="The server speaks TLS and the address asks for it.")
    ca: SecretKeyRef | None = Field(
        default=None, description="The CA that signed the server's certificate, in the consumer's namespace."
    )
    tls_verified: bool = Field(
        default=True, description="A TLS connection checks the server's certificate against ``ca``."
    )

    CA_DIR: ClassVar[str] = "/etc/ink/ca"
    """Where :meth:`ca_mounts` puts the CA (each binding kind has its own, so a pod can mount several)."""
    CA_VOLUME: ClassVar[str] = "ca"
    """The pod volume :meth:`ca_mounts` uses."""

    @model_validator(mode="after")
    def _ca_with_tls(self) -> TlsBinding:
        if self.tls != (self.ca is not None):
            raise ValueError(f"a TLS {type(self).__name__} carries the CA (ca), a plain one does not")
        return self

    @property
    def ca_file(self) -> str:
        """The CA file's path in the pod; '' for a plain connection."""
        return f"{self.CA_DIR}/{self.ca.key}" if self.ca is not None else ""

    def ca_mounts(self) -> tuple[Any, ...]:
        """The mounts that put :attr:`ca_file` in a container: ``mounts=[..., *binding.ca_mounts()]``.

        One read-only SecretFiles of the CA's key alone; nothing for a plain connection.
        """
        from ink.workload import SecretFiles  # ink.workload imports this module

        if self.ca is None:
            return ()
        return (SecretFiles(name=self.ca.name, mount_path=self.CA_DIR, keys=(self.ca.key,), volume=self.CA_VOLUME),)

    @property
    def transport(self) -> str:
        """How the connection travels: 'tls', 'tls-unverified' or 'plain' (``ink graph``)."""
        if not self.tls:
            return "plain"
        return "tls" if self.tls_verified else "tls-unverified"


class DatabaseBinding(TlsBinding):
    host: str = Field(description="The database server's host name inside the cluster.")
    port: int = Field(description="Its port.")
    database: str = Field(description="The database's name.")
    user: str = Field(description="The role that owns it and logs in.")
    password: SecretKeyRef = Field(description="The role's password, a Secret in the consumer's namespace.")
    uri: SecretKeyRef = Field(
        description="postgresql://user:password@host:port/database, with ?sslmode=verify-full&sslrootcert=... "
        "when ``tls``: mount :meth:`ca_mounts` in the container that uses it."
    )
    backup_schedule: str = Field(default="", description="Cron schedule of the database's backups; '' for none.")

    CA_DIR: ClassVar[str] = "/etc/ink/database-ca"
    """Where :meth:`ca_mounts` puts the CA; ``sslrootcert`` in the uri points into it."""
    CA_VOLUME: ClassVar[str] = "database-ca"

    drill_schedule: str = Field(default="", description="Cron schedule of the restore drill; '' for none.")
    drill_result: str = Field(
        default="", description="Where the last drill's result is (e.g. 'ConfigMap <namespace>/<name>'); '' for none."
    )


class SecretBinding(Binding):
    name: str = Field(description="The Secret's name.")
    namespace: str = Field(description="Its namespace.")
    keys: tuple[str, ...] = Field(description="Its keys (use ``ref(key)`` for a secretKeyRef).")
    from_sources: bool = Field(
        default=False,
        description="The provider built the Secret from ``secret.sources`` in the cluster (credentials generated "
        "there, user secrets read from its own store) and ignored ``data``: no placeholder of an unset user "
        "secret reaches the cluster, and the provider says where to put the value.",
    )

    def ref(self, key: str) -> SecretKeyRef:
        if key not in self.keys:
            raise KeyError(f"secret {self.namespace}/{self.name} has no key {key!r}")
        return SecretKeyRef(name=self.name, key=key)


class RouteBinding(Binding):
    not_dialled: ClassVar[frozenset[str]] = frozenset({"url", "hostname"})
    url: str = Field(description="Public URL, e.g. https://vault.example.com")
    hostname: str = Field(description="Fully qualified host name.")


class ServiceRef(_Frozen):
    """A Service port anywhere in the cluster."""

    namespace: str
    name: str
    port: int


class AuthBinding(Binding):
    # The issuer is dialled by the consumer (OIDC discovery, token and userinfo: the back-channel).
    dialled_by_ingress: ClassVar[frozenset[str]] = frozenset({"forward_auth_url", "outpost_service"})
    not_dialled: ClassVar[frozenset[str]] = frozenset({"authorization_url"})  # the browser opens it
    kind: Literal["oidc", "forward-auth"] = Field(description="The kind the client asked for.")
    issuer_url: str = Field(default="", description="OIDC issuer (discovery at <issuer>.well-known/...).")
    # For clients without OIDC discovery (plain OAuth 2.0 settings, one URL at a time); the IdP's, never guessed.
    authorization_url: str = Field(default="", description="OAuth 2.0 authorization endpoint (browser).")
    token_url: str = Field(default="", description="OAuth 2.0 token endpoint (back-channel).")
    userinfo_url: str = Field(default="", description="OIDC userinfo endpoint (back-channel).")
    client_id: str = Field(default="", description="The OIDC client id (not a secret).")
    client_secret: SecretKeyRef | None = Field(
        default=None, description="The OIDC client secret, a Secret in the consumer's namespace."
    )
    forward_auth_url: str = Field(default="", description="Where the ingress asks whether a request may pass.")
    forward_auth_headers: tuple[str, ...] = Field(default=(), description="Headers copied to the app.")
    outpost_path: str = Field(default="", description="Path prefix on the app's host that the IdP must answer.")
    outpost_service: ServiceRef | None = Field(default=None, description="Where requests to outpost_path go.")


class BackupBinding(Binding):
    schedule: str = Field(description="Cron schedule that covers the target.")
    ttl: str = Field(default="", description="How long backups are kept, e.g. '720h'.")
    method: str = Field(default="", description="How, e.g. 'velero file-system backup'.")
    pod_annotations: dict[str, str] = Field(
        default_factory=dict, description="Annotations the consumer's pods need for the backup to include the volume."
    )
    drill_schedule: str = Field(
        default="", description="Cron schedule of the restore drill that covers it; '' for none."
    )
    drill_result: str = Field(
        default="", description="Where the last drill's result is (e.g. 'ConfigMap <namespace>/<name>'); '' for none."
    )


class S3Binding(TlsBinding):
    """A bucket and its key pair. Over TLS the ``endpoint`` is https and ``ca`` verifies it."""

    endpoint: str = Field(description="S3 endpoint URL inside the cluster (https:// when ``tls``).")
    bucket: str = Field(description="The bucket's name.")
    region: str = Field(default="us-east-1", description="The region to sign requests for.")
    access_key_id: SecretKeyRef = Field(description="The consumer's own access key id, a Secret in its namespace.")
    secret_access_key: SecretKeyRef = Field(description="Its secret key, a Secret in the consumer's namespace.")
    path_style: bool = Field(default=True, description="Address the bucket in the path, not as a subdomain.")
    access_key_id_value: GeneratedSecret | None = Field(
        default=None, description="The generated key id, for consumers that embed it in a file (ink_binding_secrets)."
    )
    secret_access_key_value: GeneratedSecret | None = Field(
        default=None, description="The generated secret key, likewise (never its value: only how to derive it)."
    )

    def key_pair(self, purpose: str) -> tuple[GeneratedSecret, GeneratedSecret]:
        """How the bucket's key id and secret key derive, for a credentials file built from them.

        :param purpose: What needs them, for the error message, e.g. "Velero's credentials file".
        """
        if self.access_key_id_value is None or self.secret_access_key_value is None:
            raise ValueError(
                f"the S3 provider {self.provider!r} does not expose how the key pair of bucket {self.bucket!r} "
                f"derives, so {purpose} cannot be built; use an S3 provider that does (ink-plugin-minio does)"
            )
        return self.access_key_id_value, self.secret_access_key_value

    CA_DIR: ClassVar[str] = "/etc/ink/s3-ca"
    CA_VOLUME: ClassVar[str] = "s3-ca"


class CertificateBinding(Binding):
    secret_name: str = Field(description="The kubernetes.io/tls Secret in the owner's namespace.")


class ResolvedSecret(_Frozen):
    """A SecretClaim with its values computed; handed to the secrets provider only."""

    owner: str
    namespace: str
    name: str
    type: str
    labels: dict[str, str]
    data: dict[str, str]
    sources: dict[str, SecretValue] = Field(
        default_factory=dict,
        description="The claim's values as declared, before resolution (same keys as ``data``): for a provider "
        "that generates credentials in the cluster instead of sealing ``data`` (e.g. into Vault).",
    )
    generations: dict[str, int] = Field(
        default_factory=dict,
        description="Credential id → rotation generation (``[secrets.rotations]``; 0 when never rotated), for "
        "every GeneratedSecret in ``sources``.",
    )

    def __repr__(self) -> str:  # never print values, even in a traceback
        return f"ResolvedSecret({self.namespace}/{self.name}, keys={sorted(self.data)})"

    __str__ = __repr__


# --- links between services ------------------------------------------------------------


class Endpoint(_Frozen):
    """Something a service serves to other services: a port of one of its Services. From ``ink_endpoints``."""

    name: DnsLabel = Field(description="Unique within the service, e.g. 'api'.")
    port: int = Field(ge=1, le=65535)
    protocol: Literal["http", "https", "grpc", "tcp", "udp"] = "http"
    path: str = Field(default="", description="Path prefix clients use, e.g. '/v1'.")
    kind: str = Field(
        default="",
        pattern=r"^([a-z0-9][-a-z0-9]*)?$",
        description="What clients can expect, so they can link to any service of that kind: 'openai-tts', 'search'.",
    )
    service: DnsLabel | None = Field(default=None, description="The Service in the owner's namespace; its name.")
    route: DnsLabel | None = Field(default=None, description="Host of the owner's Route that serves it publicly.")
    credentials: dict[str, SecretValue] = Field(
        default_factory=dict,
        description="Credentials clients need (e.g. an API key): core puts them in a Secret in each client's "
        "namespace; use the same GeneratedSecret id in the service's own Secret so both hold one value.",
    )


class Link(_Frozen):
    """A service this one talks to: a named one, or any that serves an endpoint kind. From ``ink_links``."""

    name: DnsLabel = Field(description="Identifies the link within its owner; the binding is ctx.link(name).")
    service: DnsLabel | None = Field(default=None, description="The target service (plugin name).")
    endpoint: DnsLabel | None = Field(default=None, description="The target's endpoint; needed if it has several.")
    kind: str = Field(default="", pattern=r"^([a-z0-9][-a-z0-9]*)?$", description="Any service serving this kind.")
    optional: bool = Field(default=False, description="Without a target, drop the link (no binding, no warning).")
    dialled: bool = Field(
        default=True,
        description="False when only the target's public URL is used (a browser opens it, e.g. an embedded "
        "video call): the consumer's pods never connect, so no NetworkPolicy path is opened.",
    )
    owner: str = ""

    @model_validator(mode="after")
    def _has_a_target(self) -> Link:
        if not self.service and not self.kind:
            raise ValueError("a link names its target: service='...' or kind='...' (or both)")
        return self

    @property
    def key(self) -> str:
        return f"link/{self.name}"

    @property
    def target_text(self) -> str:
        """The target as the user reads it in an error."""
        if self.service:
            return self.service + (f" (endpoint {self.endpoint})" if self.endpoint else "")
        return f"any service serving {self.kind!r}"


class LinkBinding(Binding):
    """How a consumer reaches a linked service."""

    not_dialled: ClassVar[frozenset[str]] = frozenset({"public_url"})

    service: str = Field(description="The target service.")
    endpoint: str
    kind: str = ""
    host: str = Field(description="In-cluster DNS name, e.g. ollama.ollama.svc.")
    port: int
    url: str = Field(description="In-cluster URL, e.g. http://ollama.ollama.svc:11434.")
    public_url: str = Field(default="", description="Public URL where the target routes the endpoint; '' if none.")
    credentials: dict[str, SecretKeyRef] = Field(
        default_factory=dict, description="Credential name → key of a Secret in the consumer's namespace."
    )


class PublicLinkBinding(LinkBinding):
    """A link whose consumer only hands its ``public_url`` to browsers (``Link(dialled=False)``): no pod dials it."""

    not_dialled: ClassVar[frozenset[str]] = frozenset({"public_url", "url", "host"})


JsonDict = dict[str, Any]


# --- network: what NetworkPolicies open besides the graph's edges (ink.netpol) -----------

PodLabels = dict[str, str]
"""A pod selector's matchLabels; ``{}`` selects every pod of the service's namespace."""
Protocol = Literal["TCP", "UDP"]


class ChartService(_Frozen):
    """A Service a chart or an operator creates (so it is not in ``dist/``): the pods it selects and their ports.

    NetworkPolicies see pod ports, not Service ports; for the Services ink renders itself core reads
    the selector and ``targetPort``; for these the plugin states them, from the chart's templates.
    """

    name: DnsLabel = Field(description="The Service's name in the service's namespace.")
    pods: PodLabels = Field(description="Labels of the pods behind it (a subset of the chart's pod labels).")
    ports: dict[int, int] = Field(description="Service port → container port.")
    protocol: Protocol = "TCP"
    source: str = Field(description="Where the selector and ports come from (chart template, operator docs).")


class IngressGateway(_Frozen):
    """The ingress provider's pods: the source of every route's traffic, and what public URLs reach.

    After kube-proxy's DNAT a pod calling ``https://<host>.<domain>`` (the LoadBalancer address) talks to
    these pods, so a consumer that calls a public URL (an OIDC back-channel) gets egress to them.
    """

    pods: PodLabels
    ports: dict[int, int] = Field(description="URL port (443, 80) → the container port that answers it.")
    source: str


PortNumber = Annotated[int, Field(ge=1, le=65535)]


class _Ports(_Frozen):
    """Single ports and inclusive ranges (a TURN relay range, a peer's ephemeral ports): at least one."""

    ports: tuple[PortNumber, ...] = ()
    ranges: tuple[tuple[PortNumber, PortNumber], ...] = Field(
        default=(), description="Inclusive (first, last) ranges, written as one rule with endPort."
    )

    @model_validator(mode="after")
    def _some_ports(self) -> _Ports:
        if not self.ports and not self.ranges:
            raise ValueError("name the ports: ports=(...) or ranges=((first, last), ...)")
        for first, last in self.ranges:
            if first > last:
                raise ValueError(f"port range {first}-{last}: the first port is above the last")
        return self


class Internet(_Ports):
    """Egress to addresses outside the cluster and the private ranges (ACME, a tunnel, a Git host)."""

    protocols: tuple[Protocol, ...] = ("TCP",)
    reason: str = Field(min_length=1)
    pods: PodLabels = Field(default_factory=dict, description="Which pods; {} for every pod of the namespace.")


class KubeApi(_Frozen):
    """Egress to the Kubernetes API server (controllers, operators; k3s serves it on the nodes' port 6443)."""

    reason: str = Field(min_length=1)
    pods: PodLabels = Field(default_factory=dict)


class Nodes(_Ports):
    """Egress to the nodes themselves (``[network] nodes``) on other ports than the API server's.

    For agents on the host network and the kubelet: e.g. Prometheus scraping node-exporter (9100) and the
    kubelet's metrics (10250). ``ports`` and ``ranges`` are the nodes' ports.
    """

    protocols: tuple[Protocol, ...] = ("TCP",)
    reason: str = Field(min_length=1)
    pods: PodLabels = Field(default_factory=dict, description="Which pods; {} for every pod of the namespace.")


class KubeDns(_Ports):
    """Egress to kube-system's CoreDNS pods (``k8s-app=kube-dns``) on other ports than DNS, which every pod has.

    For the metrics provider scraping CoreDNS's ``prometheus :9153`` plugin. ``ports`` are CoreDNS's container
    ports. kube-system is not ink's, so only the egress side is written.
    """

    protocols: tuple[Protocol, ...] = ("TCP",)
    reason: str = Field(min_length=1)
    pods: PodLabels = Field(default_factory=dict, description="Which pods; {} for every pod of the namespace.")


class Inbound(_Ports):
    """Ingress from outside the pod network: LoadBalancer clients, or the API server calling a webhook.

    ``ports`` and ``ranges`` are container ports.
    """

    protocols: tuple[Protocol, ...] = ("TCP",)
    source: Literal["anywhere", "api-server"]
    reason: str = Field(min_length=1)
    pods: PodLabels = Field(default_factory=dict)


class Connects(_Frozen):
    """An address the service dials that is no binding of a need or link (e.g. the tunnel's origin URL)."""

    url: str = Field(description="e.g. https://traefik.traefik.svc:443; in-cluster, a public route, or outside.")
    reason: str = Field(min_length=1)
    pods: PodLabels = Field(default_factory=dict)


class Mesh(_Frozen):
    """A service mesh carrying the traffic between the pods of ``namespaces`` over mutual TLS.

    The mesh plugin declares it (``ink_network``; at most one service may). The NetworkPolicies follow
    (:mod:`ink.netpol`): every flow between pods of two meshed namespaces also opens ``tunnel_ports`` (the
    mesh re-addresses it to its tunnel, and policies see the tunnel's port); every meshed namespace admits
    ``probe_sources`` (the address the kubelet's probes arrive from once the mesh re-addresses them); each
    meshed Namespace carries ``namespace_labels`` (what enrols it); the edges whose every flow runs between
    meshed pods are ``mtls`` in ``ink graph``; and :attr:`ink.netpol.NetworkPlan.mesh_entries` lists the
    meshed pods' ports that receive traffic from outside the mesh, for the plugin's ``ink_network_objects``.
    """

    namespaces: tuple[DnsLabel, ...] = Field(description="The meshed namespaces (namespaces ink writes).")
    tunnel_ports: tuple[PortNumber, ...] = Field(default=(), description="TCP ports of the tunnel between pods.")
    probe_sources: tuple[str, ...] = Field(
        default=(), description="CIDRs the kubelet's probes come from in a meshed pod (e.g. a link-local SNAT)."
    )
    namespace_labels: dict[str, str] = Field(default_factory=dict, description="Labels of each meshed Namespace.")
    left_out: dict[str, str] = Field(
        default_factory=dict, description="Namespaces ink writes that the mesh leaves out → why (ink graph shows it)."
    )
    protocols: tuple[Protocol, ...] = Field(
        default=("TCP",), description="What the mesh carries (Istio ambient and Linkerd: TCP; UDP passes plain)."
    )
    reason: str = Field(min_length=1)

    @field_validator("probe_sources")
    @classmethod
    def _cidrs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for cidr in value:
            ipaddress.ip_network(cidr)  # ValueError names the bad block
        return value


class Scraper(_Frozen):
    """The metrics provider's pods that scrape every :class:`MetricsTarget`: the source of each target's flow.

    Declared through ``ink_network`` by the plugin that provides ``metrics`` (as the ingress provider declares
    its :class:`IngressGateway`); a Scraper any other plugin declares is ignored.
    """

    pods: PodLabels = Field(description="Labels of the scraping pods (e.g. Prometheus's StatefulSet pods).")
    source: str = Field(description="Where the labels come from (chart template, operator docs).")


NetworkRule = ChartService | IngressGateway | Scraper | Internet | KubeApi | KubeDns | Nodes | Inbound | Connects | Mesh
"""What ``ink_network`` returns."""


# --- metrics: endpoints the metrics provider scrapes, their alerts and dashboards ------------

DURATION_PATTERN = r"^(0|([0-9]+(ms|s|m|h|d|w|y))+)$"
"""A Prometheus duration, e.g. '30s', '5m', '1h30m'."""
Duration = Annotated[str, StringConstraints(pattern=DURATION_PATTERN)]


class AlertRule(_Frozen):
    """A Prometheus alerting rule that belongs with a metrics endpoint (written as a PrometheusRule)."""

    alert: str = Field(pattern=r"^[A-Z][A-Za-z0-9]*$", description="Alert name in CamelCase, e.g. 'VeleroBackupLate'.")
    expr: str = Field(min_length=1, description="PromQL expression; the alert fires for every series it returns.")
    for_: Duration = Field(default="0s", alias="for", description="How long it must hold before it fires.")
    severity: Literal["critical", "warning", "info"] = "warning"
    summary: str = Field(min_length=1, description="One line, may use {{ $labels.x }} and {{ $value }}.")
    description: str = Field(default="", description="What to check or do.")
    labels: dict[str, str] = Field(default_factory=dict, description="Further labels (severity is set).")

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, defer_build=True)


class GrafanaDashboard(_Frozen):
    """An upstream dashboard on grafana.com, referenced by id and revision (never copied into ink)."""

    gnet_id: int = Field(ge=1, description="The dashboard's id on grafana.com/grafana/dashboards.")
    revision: int = Field(ge=1, description="The revision pinned.")
    title: str = Field(min_length=1, description="What it shows, for docs and the folder.")
    datasource: str = Field(
        default="Prometheus", description="The name of the data source its ${DS_...} input takes (Prometheus, Loki)."
    )


class BasicAuth(_Frozen):
    """HTTP basic auth for a metrics endpoint: both halves are Secret keys in the owner's namespace.

    The shape of the PodMonitor's ``podMetricsEndpoints[].basicAuth`` (two SecretKeySelectors), so nothing of the
    credential is in the monitor itself.
    """

    username: SecretKeyRef = Field(description="The Secret key holding the user name.")
    password: SecretKeyRef = Field(description="The Secret key holding the password.")


class MetricsTarget(Need):
    """An endpoint in the owner's pods that serves Prometheus metrics; the metrics provider scrapes it.

    Optional by default, and dropped silently without a provider. The provider writes the monitor (a
    PodMonitor selecting ``pods`` on container port ``port``) and the target's ``alerts`` as a PrometheusRule;
    with ``chart_monitor`` the service's chart writes the monitor itself (its own ``serviceMonitor`` values, which
    the plugin turns on when ``ctx.provider_of("metrics")``) and the provider writes only the rules. Either way the
    graph has the edge and the NetworkPolicies let the provider's :class:`Scraper` pods reach ``pods:port``.
    """

    capability: ClassVar[Capability] = Capability.METRICS
    id_field: ClassVar[str] = "name"
    warn_when_missing: ClassVar[bool] = False
    optional: bool = True
    name: DnsLabel = Field(default="metrics", description="Identifies the endpoint within the owner, e.g. 'operator'.")
    pods: PodLabels = Field(min_length=1, description="Labels of the pods that serve it (their selector labels).")
    port: int = Field(ge=1, le=65535, description="The container port.")
    path: str = Field(default="/metrics", pattern=r"^/[^\s?#]*$", description="The path, without a query.")
    params: dict[str, str] = Field(
        default_factory=dict, description="Query parameters, e.g. {'format': 'prometheus'} (Prometheus escapes '?')."
    )
    scheme: Literal["http", "https"] = Field(default="http", description="http, or https (then ca and server_name).")
    interval: Duration = Field(default="30s", description="How often to scrape.")
    server_name: str = Field(default="", description="For https: the name the certificate must hold.")
    ca: SecretKeyRef | None = Field(
        default=None, description="For https: CA bundle, a Secret in the owner's namespace."
    )
    bearer_token: SecretKeyRef | None = Field(
        default=None, description="A token the endpoint asks for, a Secret in the owner's namespace."
    )
    basic_auth: BasicAuth | None = Field(
        default=None, description="User name and password the endpoint asks for, Secrets in the owner's namespace."
    )
    chart_monitor: bool = Field(
        default=False, description="The service's chart writes the ServiceMonitor; the provider writes no monitor."
    )
    host_network: bool = Field(
        default=False,
        description="The pods run on the host network: the scraper dials the nodes' addresses (egress to the "
        "nodes on ``port``), which no pod-to-pod policy covers.",
    )
    alerts: tuple[AlertRule, ...] = Field(default=(), description="Alerts about what this endpoint reports.")
    dashboards: tuple[GrafanaDashboard, ...] = Field(default=(), description="Upstream dashboards for it.")

    @model_validator(mode="after")
    def _tls_fields(self) -> MetricsTarget:
        if self.scheme == "http" and (self.ca is not None or self.server_name):
            raise ValueError("ca and server_name are for scheme 'https'")
        if self.bearer_token is not None and self.basic_auth is not None:
            # Prometheus sends one Authorization header; the PodMonitor CRD refuses both.
            raise ValueError("bearer_token and basic_auth exclude each other: set one")
        return self


class MetricsBinding(Binding):
    """What the metrics provider did for a target: the objects that make it scraped and alerted on."""

    monitor: str = Field(description="'<Kind> <namespace>/<name>' of the monitor; '' when the chart writes it.")
    rules: str = Field(default="", description="'PrometheusRule <namespace>/<name>' of its alerts; '' for none.")
    job: str = Field(default="", description="The value of the scraped series' job label, for queries.")
