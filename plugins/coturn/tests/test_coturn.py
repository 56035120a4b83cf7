"""coturn: the turn capability it defines, the server it deploys, and the binding its consumers get."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from ink import hookimpl, sealing, testing
from ink.errors import ConfigError, ResolutionError
from ink.models import NamedNeed, ServiceInfo
from ink.plugins import make_plugin_host
from ink.secrets import MasterKey
from ink_plugin_coturn import DENIED_PEERS, STATIC_AUTH_SECRET, peer_range

PLUGINS = ["coturn", "cert-manager", "sealed-secrets", "metallb"]
ENABLED = """
domain = "home.example.org"

[plugins.coturn]
enabled = true
load_balancer_ip = "192.168.1.241"
"""


class Caller:
    """A consumer of turn (by name, as real consumers declare it) that keeps the binding it got."""

    def __init__(self, peers: tuple[str, ...] = ()) -> None:
        self.peers = peers
        self.binding: Any = None

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="caller", title="Caller", version="1.0.0", homepage="https://example.org")

    @hookimpl
    def ink_needs(self) -> list[NamedNeed]:
        return [NamedNeed(capability="turn", id="caller", params={"peers": list(self.peers)}, optional=True)]

    @hookimpl
    def ink_workloads(self, ctx) -> None:
        self.binding = ctx.bindings.get("turn/caller")


def synth(directory: Path, config: str = ENABLED, plugins=PLUGINS, **extra: object):
    return testing.synth(directory, config, plugins=plugins, extra=extra or None)


def unseal(directory: Path, body: dict, field: str) -> str:
    key = serialization.load_pem_private_key((directory / ".ink" / sealing.DEV_KEY_NAME).read_bytes(), None)
    meta = body["metadata"]
    value = body["spec"]["encryptedData"][field]
    return sealing.unseal_value(key, namespace=meta["namespace"], name=meta["name"], ciphertext=value).decode()


@pytest.fixture(scope="module")
def enabled(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("coturn")
    caller = Caller(peers=("192.168.1.50",))
    return directory, synth(directory, caller=caller), caller


def objects(result) -> dict[str, Any]:
    return testing.objects(result)


def turnserver_conf(directory: Path, result) -> list[str]:
    body = objects(result)["coturn/sealedsecret-coturn-config.yaml"]
    return unseal(directory, body, "turnserver.conf").splitlines()


def pod(result) -> dict[str, Any]:
    return objects(result)["coturn/deployment-coturn.yaml"]["spec"]["template"]["spec"]


def test_the_package_defines_the_capability_through_its_entry_point() -> None:
    host = make_plugin_host(environ={"INK_LOAD_PLUGINS": "coturn"})
    assert host.dists["coturn"].distribution == "ink-plugin-coturn"
    spec = host.capabilities["turn"]
    assert spec.defined_by == "ink-plugin-coturn"
    assert spec.provide_hook == "ink_provide_turn"
    assert spec.after == ("tls",)
    assert host.implements("coturn", "ink_provide_turn")


def test_output_matches_reviewed_snapshot(enabled, snapshot) -> None:
    assert testing.snapshot_text(enabled[1], ["coturn", "caller"]) == snapshot


def test_output_validates(enabled, ink_validator) -> None:
    report = ink_validator.validate_all(objects(enabled[1]).items())
    assert report.problems == []
    assert report.skipped == {}


def test_off_by_default_without_an_address(tmp_path: Path) -> None:
    result = synth(tmp_path, "", caller=Caller())
    assert not any(path.startswith("coturn/") for path in result.files)
    assert any("no enabled plugin provides turn, so turn/caller is left out" in w for w in result.warnings)


def test_enabled_without_an_address_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"load_balancer_ip is required when coturn is enabled"):
        synth(tmp_path, "[plugins.coturn]\nenabled = true\n")


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ('load_balancer_ip = "192.168.1.0/24"', r"plugins\.coturn\.load_balancer_ip: .*not a single IP address"),
        ('external_ip = "turn.example.org"', r"plugins\.coturn\.external_ip: .*not a single IP address"),
        ("relay_min_port = 49300", r"relay_min_port 49300 is above relay_max_port 49200; swap them"),
        ("relay_max_port = 49400", r"relay ports 49160-49400 are 241 ports; at most 200 .*relay_max_port = 49359"),
        ("relay_min_port = 5300\nrelay_max_port = 5400", r"relay ports 5300-5400 include 5349"),
        ("relay_min_port = 80", r"plugins\.coturn\.relay_min_port: .*greater than or equal to 1024"),
        ('allowed_peer_ips = ["192.168.1.0/16"]', r"allowed_peer_ips.*not an IP address or a CIDR"),
    ],
)
def test_bad_settings_name_the_key_and_the_fix(tmp_path: Path, setting: str, message: str) -> None:
    address = "" if setting.startswith("load_balancer_ip") else 'load_balancer_ip = "192.168.1.241"\n'
    with pytest.raises(ConfigError, match=message):
        synth(tmp_path, f"[plugins.coturn]\nenabled = true\n{address}{setting}\n")


def test_config_is_a_sealed_secret_with_the_hardening_options(enabled) -> None:
    directory, result, _ = enabled
    conf = turnserver_conf(directory, result)
    for line in (
        "listening-port=3478",
        "tls-listening-port=5349",
        "external-ip=192.168.1.241",
        "realm=home.example.org",
        "use-auth-secret",
        "min-port=49160",
        "max-port=49200",
        "no-tcp-relay",
        "fingerprint",
        "no-cli",
        "no-multicast-peers",
        "cert=/etc/coturn-tls/tls.crt",
        "pkey=/etc/coturn-tls/tls.key",
        "prometheus",
        "prometheus-port=9641",
        "denied-peer-ip=10.0.0.0-10.255.255.255",
        "denied-peer-ip=192.168.0.0-192.168.255.255",
        "denied-peer-ip=fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        # The consumer's media server, although private.
        "allowed-peer-ip=192.168.1.50",
    ):
        assert line in conf
    assert len([line for line in conf if line.startswith("denied-peer-ip=")]) == len(DENIED_PEERS)
    # No plain-text secret in any ConfigMap or argument.
    assert not any(path.startswith("coturn/configmap-") for path in result.files)
    assert pod(result)["containers"][0]["args"] == ["-c", "/etc/coturn/turnserver.conf"]


def test_the_consumer_holds_the_same_secret_as_the_server(enabled) -> None:
    directory, result, caller = enabled
    conf = turnserver_conf(directory, result)
    (line,) = [line for line in conf if line.startswith("static-auth-secret=")]
    copy = objects(result)["caller/sealedsecret-caller-turn.yaml"]
    assert copy["metadata"]["namespace"] == "caller"
    value = unseal(directory, copy, "static-auth-secret")
    assert line == f"static-auth-secret={value}"
    assert value == MasterKey(testing.TEST_MASTER_KEY.encode(), "test").derive(STATIC_AUTH_SECRET)
    assert caller.binding.secret_value == STATIC_AUTH_SECRET


def test_the_binding_gives_uris_stun_realm_and_the_secret_ref(enabled) -> None:
    binding = enabled[2].binding
    assert binding.provider == "coturn"
    assert (binding.host, binding.address, binding.port, binding.tls_port) == (
        "turn.home.example.org",
        "192.168.1.241",
        3478,
        5349,
    )
    assert binding.uris == (
        "turn:192.168.1.241:3478?transport=udp",
        "turn:192.168.1.241:3478?transport=tcp",
        "turns:turn.home.example.org:5349?transport=tcp",
    )
    assert binding.stun == "stun:192.168.1.241:3478"
    assert binding.realm == "home.example.org"
    assert (binding.secret.name, binding.secret.key) == ("caller-turn", "static-auth-secret")


def test_the_certificate_is_for_the_turn_host(enabled) -> None:
    certificate = objects(enabled[1])["coturn/certificate-coturn-tls.yaml"]
    assert certificate["spec"]["dnsNames"] == ["turn.home.example.org"]
    volumes = {v["name"]: v for v in pod(enabled[1])["volumes"]}
    assert volumes["tls"]["secret"]["secretName"] == "coturn-tls"


def test_load_balancer_publishes_turn_tls_and_the_relay_range(enabled) -> None:
    service = objects(enabled[1])["coturn/service-coturn.yaml"]
    assert service["spec"]["type"] == "LoadBalancer"
    assert service["spec"]["externalTrafficPolicy"] == "Local"
    assert service["metadata"]["annotations"]["metallb.io/loadBalancerIPs"] == "192.168.1.241"
    ports = {(p["port"], p["protocol"]) for p in service["spec"]["ports"]}
    assert {(3478, "UDP"), (3478, "TCP"), (5349, "TCP"), (5349, "UDP")} <= ports
    relay = sorted(p["port"] for p in service["spec"]["ports"] if p["name"].startswith("relay"))
    assert relay == list(range(49160, 49201))
    assert all(p["protocol"] == "UDP" for p in service["spec"]["ports"] if p["name"].startswith("relay"))
    # Metrics stay inside the cluster.
    assert 9641 not in {p["port"] for p in service["spec"]["ports"]}
    metrics = objects(enabled[1])["coturn/service-coturn-metrics.yaml"]
    assert metrics["spec"].get("type", "ClusterIP") == "ClusterIP"
    assert [p["port"] for p in metrics["spec"]["ports"]] == [9641]


def test_runs_as_nobody_hardened_with_only_the_file_capability(enabled) -> None:
    spec = pod(enabled[1])
    (container,) = spec["containers"]
    assert spec["securityContext"]["runAsUser"] == 65534
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}
    assert container["livenessProbe"]["tcpSocket"] == {"port": 3478}
    assert container["resources"]["limits"]["memory"] == "256Mi"
    namespace = objects(enabled[1])["coturn/namespace-coturn.yaml"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {"/etc/coturn", "/etc/coturn-tls", "/var/lib/coturn", "/var/tmp"} == mounts


def test_no_data_to_back_up(enabled) -> None:
    assert not any("persistentvolumeclaim" in path for path in enabled[1].files)


def test_without_a_tls_provider_there_is_no_turns(tmp_path: Path) -> None:
    caller = Caller()
    result = synth(tmp_path, plugins=["coturn", "sealed-secrets"], caller=caller)
    conf = turnserver_conf(tmp_path, result)
    assert "no-tls" in conf and "no-dtls" in conf
    assert not any(line.startswith("tls-listening-port") for line in conf)
    assert caller.binding.tls_port is None
    assert not any(uri.startswith("turns:") for uri in caller.binding.uris)
    ports = {p["port"] for p in objects(result)["coturn/service-coturn.yaml"]["spec"]["ports"]}
    assert 5349 not in ports
    assert any("tls/coturn-tls is left out" in w for w in result.warnings)


def test_settings_from_ink_toml(tmp_path: Path) -> None:
    config = f"""{ENABLED}external_ip = "203.0.113.7"
realm = "calls.example.org"
hostname = "relay"
relay_min_port = 50000
relay_max_port = 50009
allowed_peer_ips = ["10.1.2.0/24"]
metrics = false
image_tag = "4.17.0-r0"
"""
    caller = Caller()
    result = synth(tmp_path, config, caller=caller)
    conf = turnserver_conf(tmp_path, result)
    assert {"external-ip=203.0.113.7", "realm=calls.example.org", "min-port=50000", "max-port=50009"} <= set(conf)
    assert "allowed-peer-ip=10.1.2.0-10.1.2.255" in conf
    assert not any(line.startswith("prometheus") for line in conf)
    assert caller.binding.uris[0] == "turn:203.0.113.7:3478?transport=udp"
    assert caller.binding.host == "relay.home.example.org"
    service = objects(result)["coturn/service-coturn.yaml"]
    # The Service keeps the LAN address; clients are told the public one.
    assert service["metadata"]["annotations"]["metallb.io/loadBalancerIPs"] == "192.168.1.241"
    assert len([p for p in service["spec"]["ports"] if p["name"].startswith("relay")]) == 10
    assert "coturn/service-coturn-metrics.yaml" not in result.files
    assert pod(result)["containers"][0]["image"] == "docker.io/coturn/coturn:4.17.0-r0"


def test_settings_from_the_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("INK_PLUGINS__COTURN__ENABLED", "true")
    monkeypatch.setenv("INK_PLUGINS__COTURN__LOAD_BALANCER_IP", "192.168.1.249")
    result = synth(tmp_path, "")
    service = objects(result)["coturn/service-coturn.yaml"]
    assert service["metadata"]["annotations"]["metallb.io/loadBalancerIPs"] == "192.168.1.249"


def test_an_ipv6_address_is_bracketed_in_uris(tmp_path: Path) -> None:
    caller = Caller()
    synth(tmp_path, f'{ENABLED}external_ip = "2001:db8::7"\n', caller=caller)
    assert caller.binding.stun == "stun:[2001:db8::7]:3478"


def test_a_consumers_peers_must_be_addresses_or_networks() -> None:
    from pydantic import ValidationError

    from ink_plugin_coturn.capability import TurnNeed

    assert TurnNeed(name="meet", peers=("192.168.1.242", "10.0.0.0/24")).peers == ("192.168.1.242/32", "10.0.0.0/24")
    with pytest.raises(ValidationError, match=r"peers: .*give addresses like"):
        TurnNeed(name="meet", peers=("meet.lan",))


def test_peer_ranges_in_coturn_form() -> None:
    assert peer_range("192.168.1.50/32") == "192.168.1.50"
    assert peer_range("100.64.0.0/10") == "100.64.0.0-100.127.255.255"


class Squatter:
    """Another service asking MetalLB for coturn's address and port."""

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="squatter", title="Squatter", version="1.0.0", homepage="https://example.org")

    @hookimpl
    def ink_workloads(self, scope, ctx) -> None:
        from ink import kube

        container = kube.Container(
            name="app",
            image="docker.io/library/nginx:1.29.3",
            ports=[kube.Port(name="stun", number=3478, protocol="UDP")],
        )
        lb = kube.LoadBalancer(address="192.168.1.241")
        component = kube.Component(name="app", containers=[container], services=[kube.Service(load_balancer=lb)])
        kube.Workloads(scope, "app", ctx=ctx, components=[component])


def test_another_service_on_the_same_address_and_port_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ResolutionError, match=r"both ask MetalLB for 192\.168\.1\.241"):
        synth(tmp_path, squatter=Squatter())


def test_the_metrics_are_scraped_with_a_metrics_provider_and_only_when_served(tmp_path: Path) -> None:
    from ink.models import Capability

    monitoring = testing.StandIn("monitoring", Capability.METRICS)
    result = synth(tmp_path, monitoring=monitoring)
    target = testing.assert_metrics_target_serves(result, "coturn")
    assert (dict(target.pods), target.port, target.path, target.scheme) == (
        {
            "app.kubernetes.io/name": "coturn",
            "app.kubernetes.io/instance": "coturn",
            "app.kubernetes.io/component": "coturn",
        },
        9641,
        "/metrics",
        "http",
    )
    off = synth(tmp_path / "off", ENABLED + "metrics = false\n", monitoring=monitoring)
    assert testing.metrics_targets(off, "coturn") == {}


def test_without_a_metrics_provider_nothing_is_scraped(enabled) -> None:
    assert testing.metrics_targets(enabled[1], "coturn") == {}
