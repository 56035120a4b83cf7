"""Configuration: ``ink.toml`` plus ``INK_*`` environment variables, validated strictly.

Source order (first wins): ``INK_*`` environment variables, then ``ink.toml``, then defaults.
Nested keys use ``__`` in variable names: ``INK_PLUGINS__VAULTWARDEN__REPLICAS=2`` sets
``[plugins.vaultwarden] replicas``. Every model forbids unknown keys, so a typo fails loudly.
Each ``[plugins.<name>]`` table is validated later by the model that plugin names
(see :mod:`ink.config`, which also turns errors into one-line messages).
"""

from __future__ import annotations

import ipaddress
import re
import zoneinfo
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from ink.models import DnsLabel, Quantity, quantity_value
from ink.podsecurity import Gpu

ENV_PREFIX = "INK_"
# Environment variables whose name or value says "credential": never a plain-text literal in the output.
_CREDENTIAL_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL", re.IGNORECASE)
_URL_WITH_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@", re.IGNORECASE)
DEFAULT_DOMAIN = "example.com"
MAX_DOMAIN = 253 - 64  # a 63-character subdomain and its dot must still fit in 253

_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$")


def _check_domain(value: str) -> str:
    if _is_ip_address(value):
        raise ValueError(
            "is an IP address, but routes, certificates and SSO need a DNS name; use a domain you own, or a "
            "name that resolves to this address on your network such as 'home.lan'"
        )
    if not _HOSTNAME.match(value):
        raise ValueError("must be a lowercase DNS name with at least two labels, such as 'home.example.org'")
    if len(value) > MAX_DOMAIN:
        raise ValueError(
            f"is {len(value)} characters; at most {MAX_DOMAIN}, so '<subdomain>.<domain>' stays a valid name"
        )
    return value


def _is_ip_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return False
    return True


def _check_kubernetes_version(value: str) -> str:
    from ink.kubeschemas import supported_kubernetes_versions

    supported = supported_kubernetes_versions()
    if value not in supported:
        raise ValueError(f"must be a Kubernetes version ink can validate against: {supported[0]} to {supported[-1]}")
    return value


def _check_timezone(value: str) -> str:
    # available_timezones() rather than ZoneInfo(): a region folder ("Europe") or an overlong name
    # raises OSError there instead of a clean "not found".
    if value not in zoneinfo.available_timezones():
        raise ValueError("must be an IANA time zone such as 'Europe/Berlin' or 'Etc/UTC'")
    return value


Domain = Annotated[str, AfterValidator(_check_domain)]
TimeZone = Annotated[str, AfterValidator(_check_timezone)]
KubernetesVersion = Annotated[str, AfterValidator(_check_kubernetes_version)]
# A DNS-1123 subdomain: StorageClass and other object names.
ObjectName = Annotated[
    str, StringConstraints(max_length=253, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
]
ImageTag = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


_CRON_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 6),
)
_CRON_NAMES = {
    "month": ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"),
    "day of week": ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"),
}
_CRON_ITEM = re.compile(r"^(\*|\?|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/[0-9]+)?$")


def check_cron(value: str, *, seconds: bool = False) -> str:
    """A cron expression: 5 fields, or 6 with seconds first (robfig/cron, as CloudNativePG reads it)."""
    fields_spec = (("second", 0, 59), *_CRON_FIELDS) if seconds else _CRON_FIELDS
    names = " ".join(name.replace(" ", "-") for name, _, _ in fields_spec)
    example = "e.g. '0 0 3 * * *' for 03:00 every day" if seconds else "e.g. '0 3 * * *' for 03:00 every day"
    fields = value.split()
    if len(fields) != len(fields_spec):
        raise ValueError(
            f"must be a {len(fields_spec)}-field cron expression{' with seconds first' if seconds else ''} "
            f"'{names}' ({example}); "
            f"{value!r} has {len(fields)} field{'s' if len(fields) != 1 else ''}"
        )
    for text, (name, low, high) in zip(fields, fields_spec, strict=True):
        for item in text.split(","):
            if not _CRON_ITEM.match(item):
                raise ValueError(f"{name} field {text!r} is not valid cron syntax ({example})")
            base, _, step = item.partition("/")
            if step and int(step) < 1:
                raise ValueError(f"{name} field {text!r}: a step must be at least 1 ({example})")
            values = []
            for part in base.split("-"):
                if part in ("*", "?"):
                    continue
                if part.upper() in _CRON_NAMES.get(name, ()):
                    values.append(_CRON_NAMES[name].index(part.upper()) + (1 if name == "month" else 0))
                    continue
                if not part.isdigit() or not low <= int(part) <= high:
                    raise ValueError(f"{name} field {text!r}: {part!r} is outside {low}-{high} ({example})")
                values.append(int(part))
            if len(values) == 2 and values[0] > values[1]:
                raise ValueError(f"{name} field {text!r}: the range runs backwards ({example})")
    return value


Cron = Annotated[str, AfterValidator(check_cron)]
"""A standard 5-field cron expression, each value checked against its range."""
SecondsCron = Annotated[str, AfterValidator(lambda value: check_cron(value, seconds=True))]
"""A 6-field cron expression with seconds first."""


class _Strict(BaseModel):
    # validate_default: a plugin's own invalid default (storage_size = "lots") must fail, not reach dist/.
    model_config = ConfigDict(extra="forbid", strict=True, validate_default=True, defer_build=True)


class SecretsSettings(_Strict):
    """Where generated credentials come from and how they are sealed."""

    master_key_file: str = Field(
        default=".ink/master.key",
        description="File holding the master key all generated credentials derive from. Keep it out of Git "
        "and back it up. INK_MASTER_KEY overrides it. Created on first synth if this default is used.",
    )

    rotations: dict[
        Annotated[str, StringConstraints(pattern=r"^[a-z0-9][-a-z0-9_./]*$")], Annotated[int, Field(ge=1)]
    ] = Field(
        default_factory=dict,
        description="Credential id → generation. Raising a number gives that credential a new value on the "
        "next synth and changes nothing else; `ink secrets rotate <id>` does it for you.",
    )


class ValidationSettings(_Strict):
    """How ``ink synth`` and ``ink validate`` check the output."""

    crd_dirs: list[str] = Field(
        default_factory=list,
        description="Folders of custom-resource JSON schemas (<group>/<kind>_<version>.json) or CRD YAML files.",
    )
    strict_custom_resources: bool = Field(
        default=False,
        description="Fail when a custom resource has no schema in crd_dirs (otherwise it is skipped and counted).",
    )


def _check_cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError:
        raise ValueError(f"{value!r} is not a network in CIDR form such as '192.168.1.0/24'") from None


Cidr = Annotated[str, AfterValidator(_check_cidr)]
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")


class NetworkSettings(_Strict):
    """What ink needs to know about the cluster's networks: the nodes (docs/network-policies.md) and the pods."""

    nodes: list[Cidr] = Field(
        default_factory=lambda: list(PRIVATE_RANGES),
        min_length=1,
        description="Networks holding the nodes' addresses; pods reach the API server there (k3s serves it on "
        "every server node). Narrow it to your LAN, e.g. ['192.168.1.0/24'].",
    )
    api_server_port: int = Field(default=6443, ge=1, le=65535, description="The API server's port on the nodes.")
    pods: list[Cidr] = Field(
        default_factory=lambda: ["10.42.0.0/16"],
        min_length=1,
        description="The pod network (k3s' default cluster CIDR): connections from the ingress controller come "
        "from there, so services that trust a proxy's X-Forwarded-For trust these networks.",
    )


class InkSettings(BaseSettings):
    """The global settings: the top level of ``ink.toml``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        strict=True,
        case_sensitive=False,
        validate_default=True,
    )

    domain: Domain = Field(default=DEFAULT_DOMAIN, description="Base domain; services get <host>.<domain>.")
    timezone: TimeZone = Field(default="Etc/UTC", description="IANA time zone passed to services (TZ).")
    storage_class: ObjectName | None = Field(
        default=None, description="StorageClass for volumes and databases; unset uses the cluster default."
    )
    ingress_class: DnsLabel = Field(default="traefik", description="IngressClass routes are attached to.")
    tls_issuer: DnsLabel = Field(default="letsencrypt", description="cert-manager ClusterIssuer for certificates.")
    kubernetes_version: KubernetesVersion = Field(
        default="1.33", description="Kubernetes minor version the output is validated against (1.25-1.37)."
    )
    secrets: SecretsSettings = Field(
        default_factory=SecretsSettings, description="Where generated credentials come from and how they are sealed."
    )
    network: NetworkSettings = Field(
        default_factory=NetworkSettings, description="The cluster's node and pod networks, for the NetworkPolicies."
    )
    validation: ValidationSettings = Field(
        default_factory=ValidationSettings, description="How `ink synth` and `ink validate` check the output."
    )
    plugins: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="One table per plugin, [plugins.<name>], validated by that plugin's settings model.",
    )
    environments: dict[DnsLabel, dict[str, Any]] = Field(
        default_factory=dict,
        description="Other clusters from this one file: [environments.<name>] holds any of the keys above "
        "(domain, storage_class, [environments.<name>.plugins.<plugin>] replicas, enabled, ...) and overrides "
        "them for that environment. `ink synth --environment <name>` writes it to <out>-<name>, with "
        "credentials of its own. docs/environments.md",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # First wins. ink.config passes the parsed ink.toml as init kwargs, so the
        # environment overrides the file. No .env file and no secrets dir are read.
        return (env_settings, init_settings)


# --- plugin settings base models ----------------------------------------------------------


class PluginSettings(_Strict):
    """Base of every ``[plugins.<name>]`` table."""

    enabled: bool = Field(default=True, description="Set false to leave this installed plugin out.")
    egress_internet_ports: list[Annotated[int, Field(ge=1, le=65535)]] = Field(
        default_factory=list,
        description="Let every pod of this service reach the internet on these ports (TCP and UDP), besides what "
        "its plugin declares; e.g. [443] for a webhook to an outside service. See docs/network-policies.md.",
    )


class ContainerResources(_Strict):
    """Requests and limits of the main container."""

    cpu_request: Quantity = Field(default="50m", description="CPU request, e.g. '100m'.")
    cpu_limit: Quantity | None = Field(default=None, description="CPU limit; unset means none (no throttling).")
    memory_request: Quantity = Field(default="128Mi", description="Memory request, e.g. '256Mi'.")
    memory_limit: Quantity = Field(default="512Mi", description="Memory limit, e.g. '1Gi'.")

    @model_validator(mode="after")
    def _requests_within_limits(self) -> ContainerResources:
        if quantity_value(self.memory_request) > quantity_value(self.memory_limit):
            raise ValueError(
                f"memory_request {self.memory_request} is above memory_limit {self.memory_limit}; "
                f"lower the request or set memory_limit to at least {self.memory_request}"
            )
        if self.cpu_limit and quantity_value(self.cpu_request) > quantity_value(self.cpu_limit):
            raise ValueError(
                f"cpu_request {self.cpu_request} is above cpu_limit {self.cpu_limit}; "
                f"lower the request or set cpu_limit to at least {self.cpu_request}"
            )
        return self

    def kubernetes(self) -> dict[str, dict[str, str]]:
        """As a container's (or a chart value's) ``resources``: requests, the memory limit, a CPU limit if set."""
        limits = {"memory": self.memory_limit, **({"cpu": self.cpu_limit} if self.cpu_limit else {})}
        return {"requests": {"cpu": self.cpu_request, "memory": self.memory_request}, "limits": limits}


# An extended resource ("nvidia.com/gpu", "amd.com/gpu", "nvidia.com/mig-1g.10gb") and a label key
# ("nvidia.com/gpu.present"): a DNS-subdomain prefix, a slash, a name (kubernetes.io, "Labels and Selectors").
_NAME_PART = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_PREFIXED_NAME = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?" + _NAME_PART + "$"
LabelKey = Annotated[str, StringConstraints(max_length=317, pattern=_PREFIXED_NAME)]
LabelValue = Annotated[str, StringConstraints(pattern="^(" + _NAME_PART + ")?$")]


class GpuSettings(_Strict):
    """A GPU for a service's main container: the ``[plugins.<name>.gpu]`` table every GPU-capable plugin shares.

    Off by default. On, it becomes an :class:`ink.podsecurity.Gpu` exemption (:meth:`exemption`): the
    device plugin's resource as a container limit, the RuntimeClass and the node selector. Defaults are
    NVIDIA's GPU Operator (resource ``nvidia.com/gpu``, RuntimeClass ``nvidia``, the ``nvidia.com/gpu.present``
    label of GPU feature discovery); for AMD's device plugin set ``resource = "amd.com/gpu"``,
    ``runtime_class = ""`` and a node selector your nodes carry.
    """

    enabled: bool = Field(default=False, description="Run on a GPU node with the GPU resource below.")
    resource: LabelKey = Field(
        default="nvidia.com/gpu",
        description="The device plugin's extended resource, e.g. 'nvidia.com/gpu', 'amd.com/gpu' or a MIG "
        "profile such as 'nvidia.com/mig-1g.10gb'.",
    )
    count: int = Field(default=1, ge=1, le=16, description="How many of that resource the container gets.")
    runtime_class: DnsLabel | Literal[""] = Field(
        default="nvidia",
        description="RuntimeClass of the pod ('nvidia' from the GPU Operator); '' when the node's default "
        "runtime already exposes the GPU.",
    )
    node_selector: dict[LabelKey, LabelValue] = Field(
        default_factory=lambda: {"nvidia.com/gpu.present": "true"},
        description="Node labels the pod needs; {} to let the resource request alone pick the node.",
    )

    def exemption(self, reason: str) -> Gpu | None:
        """The GPU exemption with ``reason`` when enabled, else None. Declare ``Gpu(reason=reason)`` in
        ``ServiceInfo.exemptions``: a declared GPU admits any device settings with the same reason."""
        if not self.enabled:
            return None
        return Gpu(
            reason=reason,
            resource=self.resource,
            count=self.count,
            runtime_class=self.runtime_class or None,
            node_selector=dict(self.node_selector),
        )


class ServiceSettings(PluginSettings):
    """Settings every service plugin shares. Plugins subclass it and change the defaults."""

    image_tag: ImageTag | None = Field(default=None, description="Override the main image's tag (pinned default).")
    replicas: int = Field(default=1, ge=0, le=20, description="Number of pods of the main workload.")
    resources: ContainerResources = Field(
        default_factory=ContainerResources, description="CPU and memory requests and limits of the main container."
    )
    hostname: DnsLabel | None = Field(default=None, description="Subdomain under the domain; plugin default if unset.")
    storage_size: Quantity | None = Field(default=None, description="Size of the main data volume.")
    # Not for credentials (they would reach dist/ in plain text) nor for variables the plugin sets
    # itself (ServiceContext.with_user_env); the description stays as the generated docs have it.
    env: dict[EnvName, str] = Field(
        default_factory=dict, description="Extra environment variables for the main container."
    )

    @field_validator("env")
    @classmethod
    def _no_credentials_in_env(cls, env: dict[str, str]) -> dict[str, str]:
        for name, value in env.items():
            if value and (_CREDENTIAL_NAME.search(name) or _URL_WITH_PASSWORD.search(value)):
                raise ValueError(
                    f"{name} looks like a credential, and env values reach dist/ in plain text; remove it: ink wires "
                    "database, S3 and SSO credentials itself, and a credential only you have belongs in "
                    ".ink/secrets.toml (or INK_SECRET_<NAME>) for the plugin setting that reads it"
                )
        return env

    pull_policy: Literal["Always", "IfNotPresent"] = Field(default="IfNotPresent", description="imagePullPolicy.")
