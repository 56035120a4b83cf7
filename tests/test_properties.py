"""Property tests of the whole pipeline, bounded for CI (each test a few dozen examples).

(a) Any valid configuration synthesises, validates, and says what it was told: drawn from strategies
    over the global settings and the settings of most plugins, synthesised with every installed plugin.
(b) Any invalid configuration fails cleanly: a valid one with one corruption (an unknown key, a
    wrong type, an invalid value, a clash, a bad ``INK_*`` variable) gives exit 2 and one line that
    names the culprit, and writes nothing.
(c) Narrower properties: a text setting given through an ``INK_*`` variable arrives as that text,
    and a container environment variable's name keeps its case; growing a volume is never reported
    as destructive, shrinking always is. These fail today (see the report of the bugs).

Hypothesis runs each test function many times, so every example works in a fresh temporary folder.
Known bugs (pinned by cases in tests/bad_inputs/) are kept out of the strategies of (a) and (b), each
with a comment, so that these tests keep guarding everything else.
"""

from __future__ import annotations

import contextlib
import copy
import ipaddress
import json
import os
import re
import tempfile
import zoneinfo
from collections.abc import Iterator
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ink import testing
from ink.changes import compare
from ink.cli import main
from ink.config import CONTROL_VARIABLES, load_config, plugin_settings, plugin_tables
from ink.models import INTERNAL_CA_ISSUER, QUANTITY_PATTERN
from ink.plugins import make_plugin_host
from ink.settings import ContainerResources, InkSettings, SecretsSettings, ValidationSettings
from ink.validate import ManifestValidator, supported_kubernetes_versions
from ink_plugin_authentik import AuthentikSettings
from ink_plugin_cloudnativepg import CloudNativePGSettings
from ink_plugin_metallb import MetalLBSettings
from ink_plugin_vaultwarden import VaultwardenSettings
from ink_plugin_velero import VeleroSettings

# The autouse fixture that clears INK_* variables is function-scoped; sharing it between the examples
# of one test is what we want (examples that set variables remove them again).
BOUNDED = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]}
INSTALLED = make_plugin_host(environ={}).names
# Plugins nothing else needs: any of them may be switched off.
OPTIONAL_PLUGINS = ["argocd", "cloudflared", "longhorn", "metallb", "nfs-csi", "velero"]
ZONES = sorted(zoneinfo.available_timezones())


# --- TOML -----------------------------------------------------------------------------------


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_value(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):  # JSON escapes are TOML escapes; TOML also wants DEL escaped
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(value)


def to_toml(table: dict[str, Any], path: tuple[str, ...] = ()) -> str:
    """A nested dict as TOML: each table's values, then its sub-tables under their own headers."""
    lines = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items() if not isinstance(v, dict)]
    text = ""
    if path and (lines or not any(isinstance(v, dict) for v in table.values())):
        text += "\n[" + ".".join(_toml_key(p) for p in path) + "]\n"
    text += "".join(line + "\n" for line in lines)
    for key, value in table.items():
        if isinstance(value, dict):
            text += to_toml(value, (*path, key))
    return text


# --- strategies of valid values -------------------------------------------------------------

label = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,14}[a-z0-9])?", fullmatch=True)
long_label = st.from_regex(r"[a-z0-9][-a-z0-9]{40,61}[a-z0-9]", fullmatch=True)
dns_label = st.one_of(label, label, label, long_label)
# A domain short enough that <63-character hostname>.<domain> is still a DNS name (253). Longer
# domains pass ink's check but give invalid host names: bad_inputs case domain-too-long-for-hostnames.
MAX_DOMAIN = 253 - 64


def _is_ip_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


domain = (
    st.lists(dns_label, min_size=2, max_size=4)
    .map(".".join)
    .filter(lambda d: len(d) <= MAX_DOMAIN and not _is_ip_address(d))  # refused: bad_inputs' domain-is-an-IP cases
)
dns_subdomain = st.lists(label, min_size=1, max_size=3).map(".".join)
timezone = st.sampled_from(
    [
        "Etc/UTC",
        "UTC",
        "Europe/Berlin",
        "America/New_York",
        "America/Argentina/Buenos_Aires",
        "Asia/Kolkata",
        "Australia/Lord_Howe",
        "Pacific/Chatham",
        "EST5EDT",
        "Etc/GMT-14",
    ]
)
# Positive sizes only: ink accepts 0 and negative sizes, which the API server rejects
# (bad_inputs cases storage-size-negative, storage-size-zero).
size = st.builds(
    lambda number, unit: f"{number}{unit}",
    st.one_of(st.integers(1, 4096).map(str), st.decimals("0.5", "999.5", places=1).map(str)),
    st.sampled_from(["Mi", "Gi", "Ti", "M", "G", "T"]),
)
image_tag = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,30}", fullmatch=True)
# Not a variable vaultwarden sets itself, nor a credential-looking name or value: those are refused
# (corpus category 5).
VAULTWARDEN_OWNED = {"DOMAIN", "ROCKET_PORT", "DATA_FOLDER", "DATABASE_URL", "SIGNUPS_ALLOWED", "TZ"}
env_name = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True).filter(
    lambda name: (
        name not in VAULTWARDEN_OWNED
        and not name.startswith(("SSO_", "SMTP_"))
        and not re.search(r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL", name, re.IGNORECASE)
    )
)
env_value = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30).filter(lambda v: "://" not in v)


@st.composite
def resources(draw: st.DrawFn) -> dict[str, str]:
    # Requests at most their limits: a request above its limit is accepted by ink but not by the API
    # server (bad_inputs case memory-request-above-limit).
    memory_limit = draw(st.integers(16, 8192))
    table = {
        "cpu_request": f"{draw(st.integers(1, 4000))}m",
        "memory_request": f"{draw(st.integers(1, memory_limit))}Mi",
        "memory_limit": f"{memory_limit}Mi",
    }
    if draw(st.booleans()):
        table["cpu_limit"] = f"{int(table['cpu_request'][:-1]) + draw(st.integers(0, 4000))}m"
    return table


def _cron_item(low: int, high: int) -> st.SearchStrategy[str]:
    value = st.integers(low, high).map(str)
    ranged = st.tuples(st.integers(low, high), st.integers(low, high)).map(lambda t: f"{min(t)}-{max(t)}")
    return st.one_of(st.just("*"), value, ranged, st.integers(1, high).map(lambda s: f"*/{s}"))


# Velero parses its schedule with robfig/cron: day of week 0-6, ranges forwards, steps >= 1.
velero_schedule = st.tuples(
    _cron_item(0, 59), _cron_item(0, 23), _cron_item(1, 28), _cron_item(1, 12), _cron_item(0, 6)
).map(" ".join)
cnpg_schedule = st.tuples(st.integers(0, 59), st.integers(0, 59), st.integers(0, 23)).map(
    lambda t: f"{t[0]} {t[1]} {t[2]} * * *"
)


@st.composite
def address_pool(draw: st.DrawFn) -> list[str]:
    """1-3 disjoint entries: ranges, CIDRs, single addresses; sometimes one IPv6 range."""
    base = int(ipaddress.IPv4Address("10.20.0.0"))
    points = sorted(draw(st.sets(st.integers(1, 65534), min_size=2, max_size=6)))
    entries = []
    for start, end in zip(points[::2], points[1::2], strict=False):
        first, last = ipaddress.IPv4Address(base + start), ipaddress.IPv4Address(base + end)
        form = draw(st.sampled_from(["range", "cidr", "single"]))
        if form == "range":
            entries.append(f"{first}-{last}")
        elif form == "cidr":  # the first block of the range: inside it, so still disjoint
            entries.append(str(next(ipaddress.summarize_address_range(first, last))))
        else:
            entries.append(f"{first}/32")
    if draw(st.booleans()):
        low = draw(st.integers(1, 0xFFFF))
        entries.append(f"fd00::{low:x}-fd00::{draw(st.integers(low, 0xFFFF)):x}")
    return entries


@st.composite
def valid_configs(draw: st.DrawFn) -> dict[str, Any]:
    config: dict[str, Any] = {"domain": draw(domain), "timezone": draw(timezone)}
    if draw(st.booleans()):
        # A storage class that is not a DNS subdomain is accepted by ink but not by the API server
        # (bad_inputs case storage-class-not-a-dns-name).
        config["storage_class"] = draw(dns_subdomain)
    config["kubernetes_version"] = draw(st.sampled_from(supported_kubernetes_versions()))

    # Not Jitsi's fixed host: two services routing one hostname are refused (a bad input, not this test's).
    auth_host = draw(st.one_of(st.just("auth"), dns_label.filter(lambda h: h != "meet")))
    vault_host = draw(dns_label.filter(lambda h: h not in (auth_host, "meet")))
    vaultwarden: dict[str, Any] = {"hostname": vault_host, "storage_size": draw(size)}
    if draw(st.booleans()):
        vaultwarden["replicas"] = draw(st.integers(0, 1))
    else:
        vaultwarden["replicas"] = draw(st.integers(2, 20))
        vaultwarden["storage_access_mode"] = "ReadWriteMany"
    if draw(st.booleans()):
        vaultwarden["image_tag"] = draw(image_tag)
    for flag in ("signups_allowed", "sso", "sso_only", "public", "backup", "smtp"):
        if draw(st.booleans()):
            vaultwarden[flag] = draw(st.booleans())
    if draw(st.booleans()):
        vaultwarden["resources"] = draw(resources())
    if draw(st.booleans()):
        vaultwarden["env"] = draw(st.dictionaries(env_name, env_value, max_size=3))

    cloudnativepg: dict[str, Any] = {"instances": draw(st.integers(1, 9)), "storage_size": draw(size)}
    if draw(st.booleans()):
        cloudnativepg["storage_class"] = draw(dns_subdomain)
    if draw(st.booleans()):
        cloudnativepg["backup_schedule"] = draw(cnpg_schedule)
        cloudnativepg["backup_retention"] = f"{draw(st.integers(1, 400))}{draw(st.sampled_from('dwm'))}"

    pool = draw(address_pool())
    metallb: dict[str, Any] = {"addresses": pool, "avoid_buggy_ips": draw(st.booleans())}
    traefik: dict[str, Any] = {"replicas": draw(st.integers(1, 10))}
    if draw(st.booleans()):
        traefik["load_balancer_ip"] = pool[0].split("-")[0].split("/")[0]
    authentik = {
        "hostname": auth_host,
        "server_replicas": draw(st.integers(1, 10)),
        "worker_replicas": draw(st.integers(1, 10)),
    }
    velero = {"schedule": draw(velero_schedule), "ttl": f"{draw(st.integers(1, 9000))}h"}
    plugins: dict[str, Any] = {
        "vaultwarden": vaultwarden,
        "cloudnativepg": cloudnativepg,
        "metallb": metallb,
        "traefik": traefik,
        "authentik": authentik,
        "velero": velero,
    }
    for name in draw(st.lists(st.sampled_from(OPTIONAL_PLUGINS), unique=True, max_size=3)):
        plugins.setdefault(name, {})["enabled"] = False
    if draw(st.booleans()):  # smtp is off by default; on, it needs a host
        smtp: dict[str, Any] = {"enabled": True, "host": draw(dns_subdomain)}
        smtp["tls"] = draw(st.sampled_from(["starttls", "tls", "none"]))
        if draw(st.booleans()):
            smtp["port"] = draw(st.integers(1, 65535))
        if draw(st.booleans()):
            smtp["username"] = draw(label)
        plugins["smtp"] = smtp
    if vaultwarden.get("smtp") and "smtp" not in plugins:
        del vaultwarden["smtp"]  # set explicitly without a provider: refused, like sso and backup below
    # Set explicitly, sso and backup need their provider (refused otherwise: corpus category 5).
    for flag, provider in (("sso", "authentik"), ("backup", "velero")):
        if vaultwarden.get(flag) and plugins.get(provider, {}).get("enabled") is False:
            del vaultwarden[flag]
    config["plugins"] = plugins
    return config


# --- helpers --------------------------------------------------------------------------------


@contextlib.contextmanager
def fresh_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(dir=tmp_path_factory.getbasetemp()) as name:
        yield Path(name)


@contextlib.contextmanager
def environment(variables: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@cache
def validator(version: str, crd_dir: Path) -> ManifestValidator:
    return ManifestValidator(version, [crd_dir], allow_unknown_kinds=True)


def is_dns_name(name: str) -> bool:
    labels = name.removeprefix("*.").split(".")
    return len(name) <= 253 and all(re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", part) for part in labels)


# --- (a) valid configurations ------------------------------------------------------------------


# A synth takes about half a second: shrinking a failure would take minutes, so it is reported as found.
# 15 examples: each is a full synth of every plugin (~10 s on CI's two cores); more would not fit CI's budget.
@settings(max_examples=15, phases=[Phase.explicit, Phase.reuse, Phase.generate], **BOUNDED)
@given(config=valid_configs())
def test_any_valid_configuration_synthesises_and_validates(
    config: dict[str, Any], tmp_path_factory: pytest.TempPathFactory, crd_dir: Path
) -> None:
    with fresh_folder(tmp_path_factory) as folder:
        result = testing.synth(folder, to_toml(config), crd_dirs=[crd_dir])
        assert (folder / "dist" / ".ink-output").is_file()
    objects = testing.objects(result)
    report = validator(config["kubernetes_version"], crd_dir).validate_all(objects.items())
    assert report.problems == []

    plugins = config["plugins"]
    disabled = {name for name, table in plugins.items() if table.get("enabled") is False}
    for off_by_default in ("smtp", "coturn", "vault", "external-secrets", "istio", "kasm"):
        if off_by_default not in plugins:
            disabled.add(off_by_default)
    assert {path.split("/")[0] for path in objects} == set(INSTALLED) - disabled

    vaultwarden = plugins["vaultwarden"]
    deployment = objects["vaultwarden/deployment-vaultwarden.yaml"]
    assert deployment["spec"]["replicas"] == vaultwarden["replicas"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["TZ"] == vaultwarden.get("env", {}).get("TZ", config["timezone"])
    for name, value in vaultwarden.get("env", {}).items():
        assert env[name] == value
    mail = plugins.get("smtp") if vaultwarden.get("smtp", True) else None
    assert env.get("SMTP_HOST") == (mail["host"] if mail else None)
    claim = objects["vaultwarden/persistentvolumeclaim-vaultwarden-data.yaml"]["spec"]
    assert claim["resources"]["requests"]["storage"] == vaultwarden["storage_size"]
    assert claim.get("storageClassName") == config.get("storage_class")
    cluster = objects["cloudnativepg/cluster-postgres-ha.yaml"]["spec"]
    assert cluster["instances"] == plugins["cloudnativepg"]["instances"]
    assert cluster["storage"]["size"] == plugins["cloudnativepg"]["storage_size"]

    # Every host name ink emits is a DNS name under the domain.
    hosts = [
        host
        for body in objects.values()
        if body["kind"] == "IngressRoute"
        for route in body["spec"]["routes"]
        for host in re.findall(r"Host\(`([^`]*)`\)", route["match"])
    ]
    certificates = [body["spec"] for body in objects.values() if body["kind"] == "Certificate"]
    # The in-cluster CA (its own root from <ca>-selfsigned) names Services (x.<ns>.svc), not hosts under the domain.
    internal = [
        c for c in certificates if c["issuerRef"]["name"] in (INTERNAL_CA_ISSUER, f"{INTERNAL_CA_ISSUER}-selfsigned")
    ]
    hosts += [n for c in certificates if c not in internal for n in c["dnsNames"]]
    for name in (n for c in internal for n in c.get("dnsNames", [])):
        assert is_dns_name(name), name
    assert f"{vaultwarden['hostname']}.{config['domain']}" in hosts
    for host in hosts:
        assert is_dns_name(host), host
        assert host == config["domain"] or host.endswith("." + config["domain"]), host


# --- (b) invalid configurations ---------------------------------------------------------------

MODELS: dict[tuple[str, ...], type] = {
    (): InkSettings,
    ("secrets",): SecretsSettings,
    ("validation",): ValidationSettings,
    ("plugins", "vaultwarden"): VaultwardenSettings,
    ("plugins", "vaultwarden", "resources"): ContainerResources,
    ("plugins", "cloudnativepg"): CloudNativePGSettings,
    ("plugins", "metallb"): MetalLBSettings,
    ("plugins", "velero"): VeleroSettings,
    ("plugins", "authentik"): AuthentikSettings,
}
key_name = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)
not_a_string = st.one_of(st.integers(-(2**63), 2**63 - 1), st.booleans(), st.lists(st.integers(0, 9), max_size=2))
not_an_int = st.one_of(st.text(max_size=5), st.booleans(), st.floats(allow_nan=False, allow_infinity=False))
WRONG_TYPES: dict[tuple[str, ...], st.SearchStrategy[Any]] = {
    ("domain",): not_a_string,
    ("timezone",): not_a_string,
    ("kubernetes_version",): st.one_of(st.floats(1, 2), not_a_string),
    ("storage_class",): not_a_string,
    ("secrets",): st.one_of(st.text(max_size=5), st.integers()),
    ("secrets", "master_key_file"): not_a_string,
    ("validation", "crd_dirs"): st.one_of(st.text(max_size=5), st.integers(), st.lists(st.integers(), min_size=1)),
    ("validation", "strict_custom_resources"): st.one_of(st.text(max_size=5), st.integers()),
    ("plugins",): st.one_of(st.text(max_size=5), st.integers(), st.lists(st.integers(), max_size=2)),
    ("plugins", "vaultwarden"): st.one_of(st.text(max_size=5), st.integers(), st.booleans()),
    ("plugins", "vaultwarden", "enabled"): st.one_of(st.text(max_size=5), st.integers()),
    ("plugins", "vaultwarden", "replicas"): not_an_int,
    ("plugins", "vaultwarden", "hostname"): not_a_string,
    ("plugins", "vaultwarden", "resources"): st.one_of(st.text(max_size=5), st.integers()),
    ("plugins", "vaultwarden", "resources", "cpu_request"): not_a_string,
    ("plugins", "vaultwarden", "env"): st.one_of(st.text(max_size=5), st.lists(st.text(max_size=3), max_size=2)),
    ("plugins", "cloudnativepg", "instances"): not_an_int,
    ("plugins", "metallb", "addresses"): st.one_of(st.text(max_size=10), st.integers(), st.lists(st.integers())),
    ("plugins", "velero", "schedule"): not_a_string,
}
bad_timezone = (
    st.from_regex(r"[A-Z][a-z]{1,8}(/[A-Z][a-z_]{1,10})?", fullmatch=True)
    # A region folder ("Europe", "America/Indiana") crashes ink: bad_inputs case timezone-is-a-region.
    .filter(lambda z: z not in ZONES and not any(zone.startswith(z + "/") for zone in ZONES))
)
bad_label = st.one_of(
    label.filter(lambda h: re.search("[a-z]", h)).map(str.upper),
    st.tuples(label, label).map("_".join),
    label.map(lambda h: f"-{h}"),
    st.from_regex(r"[a-z]{64,80}", fullmatch=True),
)
INVALID_VALUES: dict[tuple[str, ...], st.SearchStrategy[Any]] = {
    ("domain",): st.one_of(
        domain.filter(lambda d: re.search("[a-z]", d)).map(str.upper),
        label,
        domain.map(lambda d: d + "."),
        st.tuples(label, domain).map("_".join),
    ),
    ("timezone",): bad_timezone,
    ("kubernetes_version",): st.from_regex(r"v?1\.[0-9]{1,3}(\.[0-9])?", fullmatch=True).filter(
        lambda v: not re.fullmatch(r"1\.[0-9]{2}", v)
    ),
    ("plugins", "vaultwarden", "replicas"): st.one_of(st.integers(-(2**63), -1), st.integers(21, 2**63 - 1)),
    ("plugins", "vaultwarden", "hostname"): bad_label,
    ("plugins", "vaultwarden", "storage_size"): st.text(max_size=10).filter(
        lambda s: not re.fullmatch(QUANTITY_PATTERN, s)
    ),
    ("plugins", "vaultwarden", "resources", "memory_limit"): st.text(max_size=10).filter(
        lambda s: not re.fullmatch(QUANTITY_PATTERN, s)
    ),
    ("plugins", "cloudnativepg", "instances"): st.one_of(st.integers(max_value=0), st.integers(min_value=10)),
    ("plugins", "cloudnativepg", "backup_retention"): st.text(max_size=6).filter(
        lambda s: not re.fullmatch(r"[1-9][0-9]*[dwm]", s)
    ),
    ("plugins", "metallb", "addresses"): st.one_of(
        st.just(["10.20.0.9-10.20.0.1"]),
        st.just(["10.20.0.0/16", "10.20.1.1-10.20.1.2"]),
        st.just([]),
        st.lists(st.text(max_size=12).filter(lambda s: "/" not in s and "-" not in s), min_size=1, max_size=2),
    ),
    ("plugins", "velero", "schedule"): st.one_of(
        st.integers(24, 99).map(lambda h: f"0 {h} * * *"),
        st.integers(60, 999).map(lambda m: f"{m} 3 * * *"),
        st.lists(st.just("*"), max_size=8).filter(lambda f: len(f) != 5).map(" ".join),
    ),
}


def _not_a_setting(suffix: str) -> bool:
    name = f"INK_{suffix.upper()}"
    head = suffix.split("__")[0]
    return head not in InkSettings.model_fields and name not in CONTROL_VARIABLES and not head.startswith("secret_")


def _get(config: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    node = config
    for part in path:
        node = node.setdefault(part, {})
    return node


@st.composite
def corruptions(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """A valid configuration with one thing wrong: (config, environment, fragments the message names)."""
    config = copy.deepcopy(draw(valid_configs()))
    kind = draw(
        st.sampled_from(
            [
                "unknown key",
                "unknown plugin",
                "wrong type",
                "invalid value",
                "hostname clash",
                "no database",
                "unknown variable",
                "bad variable",
                "short master key",
            ]
        )
    )
    if kind == "unknown key":
        where = draw(st.sampled_from(sorted(MODELS)))
        key = draw(key_name.filter(lambda k: k not in MODELS[where].model_fields))
        _get(config, where)[key] = draw(st.one_of(st.integers(0, 9), st.text(max_size=5), st.booleans()))
        return config, {}, [".".join((*where, key)), "unknown key"]
    if kind == "unknown plugin":
        name = draw(key_name.filter(lambda n: n.replace("_", "-") not in INSTALLED))
        config["plugins"][name] = {"enabled": True}
        return config, {}, [f"plugins.{name}", "no installed plugin"]
    if kind in ("wrong type", "invalid value"):
        table = WRONG_TYPES if kind == "wrong type" else INVALID_VALUES
        path = draw(st.sampled_from(sorted(table)))
        _get(config, path[:-1])[path[-1]] = draw(table[path])
        return config, {}, [".".join(path)]
    if kind == "hostname clash":
        host = config["plugins"]["authentik"]["hostname"]
        config["plugins"]["vaultwarden"]["hostname"] = host
        return config, {}, [f"hostname {host!r}", "'authentik' and 'vaultwarden'"]
    if kind == "no database":
        config["plugins"]["cloudnativepg"]["enabled"] = False
        return config, {}, ["needs database", "no enabled plugin provides it"]
    if kind == "unknown variable":
        name = "INK_" + draw(key_name.filter(_not_a_setting)).upper()
        return config, {name: "1"}, [f"environment variable {name}", "not an ink setting"]
    if kind == "bad variable":
        name, value = draw(
            st.sampled_from(
                [
                    ("INK_PLUGINS__VAULTWARDEN__REPLICAS", "many"),
                    ("INK_PLUGINS__VAULTWARDEN__REPLICAS", "21"),
                    ("INK_PLUGINS__CLOUDNATIVEPG__INSTANCES", "0"),
                    ("INK_PLUGINS__VAULTWARDEN__HOSTNAME", "Vault"),
                    ("INK_PLUGINS__METALLB__ADDRESSES", '["10.0.0.9-10.0.0.1"]'),
                    ("INK_DOMAIN", "Not A Domain"),
                    ("INK_TIMEZONE", "Mars/Olympus_Mons"),
                    ("INK_VALIDATION__CRD_DIRS", "[crds"),
                    ("INK_VALIDATION__STRICT_CUSTOM_RESOURCES", "maybe"),
                ]
            )
        )
        return config, {name: value}, [f"environment variable {name}"]
    # An empty INK_MASTER_KEY counts as unset (the key file is used), so at least one character.
    key = draw(st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=31))
    return config, {"INK_MASTER_KEY": key}, ["environment variable INK_MASTER_KEY", "fewer than 32"]


@settings(max_examples=40, **BOUNDED)
@given(case=corruptions())
def test_any_invalid_configuration_fails_cleanly(
    case: tuple[dict[str, Any], dict[str, str], list[str]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    config, variables, fragments = case
    with fresh_folder(tmp_path_factory) as folder:
        path = testing.prepare(folder, to_toml(config))
        with environment(variables):
            result = CliRunner().invoke(main, ["synth", "--config", str(path), "--out", str(folder / "dist")])
        shown = f"exit {result.exit_code}: {result.output!r}"
        assert result.exception is None or isinstance(result.exception, SystemExit), shown
        assert "Traceback" not in result.output, shown
        assert result.exit_code == 2, shown
        assert result.stdout == "", shown
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), shown
        for fragment in fragments:
            assert fragment in lines[0], shown
        assert sorted(p.name for p in folder.iterdir()) == [".ink", "ink.toml"], "something was written"


# --- (c) narrower properties -------------------------------------------------------------------


def plugin_table_from_environment(folder: Path, plugin: str, model: type) -> Any:
    """Load an empty ink.toml plus the current INK_* variables; the plugin's validated settings."""
    config = load_config(testing.prepare(folder))
    return plugin_settings(config, plugin, plugin_tables(config, INSTALLED).get(plugin, {}), model)


quantity_text = st.one_of(
    st.integers(1, 64).map(str),  # "2": two CPUs, or two bytes
    st.sampled_from(["0.5", "1.5", "1e3", "250m", "1Gi", "512Mi"]),
)
TEXT_SETTINGS: dict[tuple[str, ...], st.SearchStrategy[str]] = {
    ("hostname",): label,  # "123" is a DNS label
    ("image_tag",): st.one_of(image_tag, st.sampled_from(["1.37", "2024", "1e3", "true", "null"])),
    ("storage_size",): quantity_text,
    ("resources", "cpu_request"): quantity_text,
    # at least the default memory_request (128Mi): a limit below the request is rejected, rightly
    ("resources", "memory_limit"): st.sampled_from(["1Gi", "2048Mi", "1e10", "4G", "0.5Ti"]),
    ("env", "LOG_LEVEL"): st.one_of(env_value, st.sampled_from(["0", "1.5", "true", "null", "[1]", '{"a": 1}'])),
}


@settings(max_examples=30, **BOUNDED)
@given(path=st.sampled_from(sorted(TEXT_SETTINGS)), data=st.data())
def test_text_settings_from_the_environment_stay_text(
    path: tuple[str, ...], data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Only the field's type decides whether an INK_* value is JSON (docs/architecture.md): a text field
    # keeps the text, however it looks, at any depth of the plugin's table.
    # No NUL: the operating system cannot hold one in an environment variable (os.environ refuses it).
    value = data.draw(TEXT_SETTINGS[path].filter(lambda v: v.strip() == v and v != "" and "\x00" not in v))
    variable = "INK_PLUGINS__VAULTWARDEN__" + "__".join(part.upper() for part in path)
    with fresh_folder(tmp_path_factory) as folder, environment({variable: value}):
        settings_ = plugin_table_from_environment(folder, "vaultwarden", VaultwardenSettings)
    node: Any = settings_
    for part in path:
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    assert node == value


@settings(max_examples=25, **BOUNDED)
@given(
    name=env_name.filter(lambda n: "__" not in n),
    value=st.from_regex(r"v[a-z0-9.]{0,10}", fullmatch=True),  # never JSON: see the test above
)
def test_env_names_from_the_environment_keep_their_case(
    name: str, value: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # INK_PLUGINS__VAULTWARDEN__ENV__LOG_LEVEL must reach the container as LOG_LEVEL, as the same key in
    # ink.toml does: the container's environment is case-sensitive.
    with fresh_folder(tmp_path_factory) as folder, environment({f"INK_PLUGINS__VAULTWARDEN__ENV__{name}": value}):
        assert plugin_table_from_environment(folder, "vaultwarden", VaultwardenSettings).env == {name: value}


SUFFIXES = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}
SUFFIXES |= {f"{p}i": 1024**n for n, p in enumerate("KMGTPE", start=1)}


def pvc(size: str) -> str:
    spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    body = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": "app"}}
    return yaml.safe_dump({**body, "spec": spec})


@settings(max_examples=40, **BOUNDED)
@given(
    before=st.tuples(st.integers(1, 999), st.sampled_from(sorted(SUFFIXES))),
    after=st.tuples(st.integers(1, 999), st.sampled_from(sorted(SUFFIXES))),
)
def test_only_a_shrinking_volume_is_destructive(before: tuple[int, str], after: tuple[int, str]) -> None:
    old, new = (f"{number}{suffix}" for number, suffix in (before, after))
    old_bytes, new_bytes = (Decimal(n) * SUFFIXES[s] for n, s in (before, after))
    changes = compare(
        {"app/persistentvolumeclaim-data.yaml": pvc(old)}, {"app/persistentvolumeclaim-data.yaml": pvc(new)}
    )
    destructive = [c.destructive for c in changes if c.destructive]
    if new_bytes < old_bytes:
        assert destructive and "cannot shrink" in destructive[0], (old, new)
    else:
        assert destructive == [], (old, new)
