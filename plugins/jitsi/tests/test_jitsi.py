"""Jitsi Meet: four components, shared XMPP secrets, the JVB LoadBalancer, TURN, route, SSO and settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from ink import hookimpl, sealing, testing
from ink.errors import ConfigError, ResolutionError
from ink.models import Link, ServiceInfo
from ink.plugins import make_plugin_host

BASE = ["jitsi", "traefik", "cert-manager", "sealed-secrets"]
WITH_TURN = [*BASE, "coturn", "metallb"]
ADDRESSES = """
domain = "home.example.org"

[plugins.jitsi]
jvb_load_balancer_ip = "192.168.1.242"
"""
TURN = (
    ADDRESSES
    + """
[plugins.coturn]
enabled = true
load_balancer_ip = "192.168.1.241"
"""
)
COMPONENTS = ("web", "prosody", "jicofo", "jvb")


def objects(result) -> dict[str, Any]:
    return testing.objects(result)


def container(result, component: str) -> dict[str, Any]:
    return objects(result)[f"jitsi/deployment-jitsi-{component}.yaml"]["spec"]["template"]["spec"]["containers"][0]


def env_of(result, component: str) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(result, component).get("env", [])}


def unseal(directory: Path, body: dict, field: str) -> str:
    key = serialization.load_pem_private_key((directory / ".ink" / sealing.DEV_KEY_NAME).read_bytes(), None)
    meta = body["metadata"]
    value = body["spec"]["encryptedData"][field]
    return sealing.unseal_value(key, namespace=meta["namespace"], name=meta["name"], ciphertext=value).decode()


@pytest.fixture(scope="module")
def default(ink_synth):
    return ink_synth(ADDRESSES, plugins=BASE)


@pytest.fixture(scope="module")
def with_turn(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("jitsi-turn")
    return directory, testing.synth(directory, TURN, plugins=WITH_TURN)


def test_discovered_through_its_entry_point() -> None:
    assert make_plugin_host(environ={}).dists["jitsi"].distribution == "ink-plugin-jitsi"


def test_output_matches_reviewed_snapshot(default, snapshot) -> None:
    assert testing.snapshot_text(default, ["jitsi"]) == snapshot


def test_output_with_turn_matches_reviewed_snapshot(with_turn, snapshot) -> None:
    assert testing.snapshot_text(with_turn[1], ["jitsi"]) == snapshot


@pytest.mark.parametrize("which", ["default", "with_turn"])
def test_output_validates(which, request, ink_validator) -> None:
    result = request.getfixturevalue(which)
    result = result[1] if isinstance(result, tuple) else result
    report = ink_validator.validate_all(objects(result).items())
    assert report.problems == []
    assert report.skipped == {}


def test_four_components_from_the_official_images_of_one_release(default) -> None:
    for component in COMPONENTS:
        assert container(default, component)["image"] == f"ghcr.io/jitsi/{component}:stable-11146-2"


def test_ports_and_probes_on_upstream_endpoints(default) -> None:
    web, prosody, jicofo, jvb = (container(default, c) for c in COMPONENTS)
    assert web["readinessProbe"]["httpGet"] == {"path": "/", "port": 8000, "scheme": "HTTP"}
    assert prosody["livenessProbe"]["httpGet"] == {"path": "/http-bind", "port": 5280, "scheme": "HTTP"}
    assert jicofo["livenessProbe"]["tcpSocket"] == {"port": 8888}
    assert jvb["livenessProbe"]["httpGet"] == {"path": "/about/health", "port": 8080, "scheme": "HTTP"}
    assert {(p["containerPort"], p["protocol"]) for p in jvb["ports"]} == {(10000, "UDP"), (8080, "TCP")}
    assert {p["containerPort"] for p in prosody["ports"]} == {5222, 5280}
    service = objects(default)["jitsi/service-jitsi-web.yaml"]
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(80, 8000)]


def test_every_component_runs_hardened_as_the_images_user(default) -> None:
    for component in COMPONENTS:
        deployment = objects(default)[f"jitsi/deployment-jitsi-{component}.yaml"]
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsUser"] == 1000
        security = container(default, component)["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert {m["mountPath"] for m in container(default, component)["volumeMounts"]} >= {"/run", "/tmp"}
        assert "limits" in container(default, component)["resources"]
        assert env_of(default, component)["S6_YES_I_WANT_A_WORLD_WRITABLE_RUN_BECAUSE_KUBERNETES"] == "1"
    namespace = objects(default)["jitsi/namespace-jitsi.yaml"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert not any("persistentvolumeclaim" in path for path in default.files)


def test_xmpp_passwords_are_one_secret_shared_by_the_components(default) -> None:
    jicofo = {"secretKeyRef": {"name": "jitsi-xmpp", "key": "JICOFO_AUTH_PASSWORD"}}
    jvb = {"secretKeyRef": {"name": "jitsi-xmpp", "key": "JVB_AUTH_PASSWORD"}}
    assert env_of(default, "prosody")["JICOFO_AUTH_PASSWORD"] == jicofo
    assert env_of(default, "prosody")["JVB_AUTH_PASSWORD"] == jvb
    assert env_of(default, "jicofo")["JICOFO_AUTH_PASSWORD"] == jicofo
    assert env_of(default, "jvb")["JVB_AUTH_PASSWORD"] == jvb
    assert "JVB_AUTH_PASSWORD" not in env_of(default, "jicofo")
    sealed = objects(default)["jitsi/sealedsecret-jitsi-xmpp.yaml"]
    assert set(sealed["spec"]["encryptedData"]) == {"JICOFO_AUTH_PASSWORD", "JVB_AUTH_PASSWORD"}


def test_components_find_prosody_by_its_service(default) -> None:
    for component in COMPONENTS:
        assert env_of(default, component)["XMPP_SERVER"] == "jitsi-prosody.jitsi.svc.cluster.local"
        assert env_of(default, component)["PUBLIC_URL"] == "https://meet.home.example.org"
    assert env_of(default, "web")["XMPP_BOSH_URL_BASE"] == "http://jitsi-prosody.jitsi.svc.cluster.local:5280"
    assert env_of(default, "web")["DISABLE_HTTPS"] == "1"
    ports = {p["port"] for p in objects(default)["jitsi/service-jitsi-prosody.yaml"]["spec"]["ports"]}
    assert ports == {5222, 5280}


def test_bridge_media_on_a_local_load_balancer_and_advertised(default) -> None:
    service = objects(default)["jitsi/service-jitsi-jvb-media.yaml"]
    assert service["spec"]["type"] == "LoadBalancer"
    assert service["spec"]["externalTrafficPolicy"] == "Local"
    assert service["metadata"]["annotations"]["metallb.io/loadBalancerIPs"] == "192.168.1.242"
    assert [(p["port"], p["protocol"]) for p in service["spec"]["ports"]] == [(10000, "UDP")]
    assert env_of(default, "jvb")["JVB_ADVERTISE_IPS"] == "192.168.1.242"
    # The bridge's REST port stays inside the cluster.
    internal = objects(default)["jitsi/service-jitsi-jvb.yaml"]
    assert "type" not in internal["spec"]
    assert [p["port"] for p in internal["spec"]["ports"]] == [8080]


def test_jicofo_and_the_bridge_are_single(default) -> None:
    for component in ("jicofo", "jvb", "prosody"):
        assert objects(default)[f"jitsi/deployment-jitsi-{component}.yaml"]["spec"]["replicas"] == 1


def test_route_carries_the_page_and_the_xmpp_paths(default) -> None:
    route = objects(default)["jitsi/ingressroute-meet.yaml"]
    rule, script = route["spec"]["routes"]
    assert rule["match"] == "Host(`meet.home.example.org`)"
    assert rule["services"] == [{"name": "jitsi-web", "port": 80}]
    # The External API script by its exact path, to the same Service (it stays public behind forward-auth).
    assert script["match"] == "Host(`meet.home.example.org`) && Path(`/external_api.js`)"
    assert script["services"] == [{"name": "jitsi-web", "port": 80}]
    assert "middlewares" not in rule
    assert "middlewares" not in script


def test_without_sso_one_rule(ink_synth) -> None:
    result = ink_synth(ADDRESSES + "sso = false\n", plugins=[*BASE, "authentik", "cloudnativepg", "minio"])
    (rule,) = objects(result)["jitsi/ingressroute-meet.yaml"]["spec"]["routes"]
    assert "middlewares" not in rule
    assert "jitsi/middleware-meet-forward-auth.yaml" not in result.files


def test_without_turn_prosody_announces_no_external_services(default) -> None:
    assert not any(name.startswith(("TURN", "STUN")) for name in env_of(default, "prosody"))
    assert "jitsi/sealedsecret-jitsi-turn.yaml" not in default.files


def test_without_coturn_installed_the_need_is_dropped_with_a_warning(default) -> None:
    assert any("no enabled plugin provides turn, so turn/jitsi is left out" in w for w in default.warnings)


def test_coturn_installed_but_off_leaves_turn_out(ink_synth) -> None:
    result = ink_synth(ADDRESSES, plugins=WITH_TURN)
    assert not any(name.startswith("TURN") for name in env_of(result, "prosody"))
    assert any("turn/jitsi is left out" in w for w in result.warnings)


def test_asking_for_turn_without_a_provider_is_an_error(ink_synth) -> None:
    with pytest.raises(ResolutionError, match=r"\[plugins.jitsi\] turn is set, but no enabled plugin provides turn"):
        ink_synth(ADDRESSES + "turn = true\n", plugins=BASE)


def test_prosody_gets_turn_from_the_binding(with_turn) -> None:
    env = env_of(with_turn[1], "prosody")
    assert env["TURN_HOST"] == env["STUN_HOST"] == "192.168.1.241"
    assert (env["TURN_PORT"], env["STUN_PORT"], env["TURN_TRANSPORT"]) == ("3478", "3478", "udp,tcp")
    assert (env["TURNS_HOST"], env["TURNS_PORT"]) == ("turn.home.example.org", "5349")
    assert env["TURN_CREDENTIALS"] == {"secretKeyRef": {"name": "jitsi-turn", "key": "static-auth-secret"}}


def test_the_turn_secret_in_jitsi_equals_coturns(with_turn) -> None:
    directory, result = with_turn
    copy = unseal(directory, objects(result)["jitsi/sealedsecret-jitsi-turn.yaml"], "static-auth-secret")
    conf = unseal(directory, objects(result)["coturn/sealedsecret-coturn-config.yaml"], "turnserver.conf")
    assert f"static-auth-secret={copy}\n" in conf
    # The relay may reach the bridge, although its address is private.
    assert "allowed-peer-ip=192.168.1.242\n" in conf


def test_jitsi_is_deployed_after_coturn(tmp_path: Path) -> None:
    from ink import synth
    from ink.config import load_config

    config = load_config(testing.prepare(tmp_path, TURN))
    graph = synth.plan(config, testing.host(WITH_TURN))
    assert ("jitsi", "coturn", "need", "turn/jitsi") in {(e.source, e.target, e.kind, e.name) for e in graph.edges}
    assert graph.waves()["jitsi"] > graph.waves()["coturn"]


def test_the_bridge_and_coturn_cannot_share_an_address(ink_synth) -> None:
    clash = TURN.replace('load_balancer_ip = "192.168.1.241"', 'load_balancer_ip = "192.168.1.242"')
    with pytest.raises(ResolutionError, match=r"both ask MetalLB for 192\.168\.1\.242"):
        ink_synth(clash, plugins=WITH_TURN)


def test_no_bridge_address_is_a_warning(ink_synth) -> None:
    result = ink_synth(plugins=BASE)
    assert any("jvb_load_balancer_ip is not set" in w for w in result.warnings)
    assert "JVB_ADVERTISE_IPS" not in env_of(result, "jvb")
    service = objects(result)["jitsi/service-jitsi-jvb-media.yaml"]
    assert "metallb.io/loadBalancerIPs" not in service["metadata"].get("annotations", {})


def test_settings_from_ink_toml(ink_synth) -> None:
    config = (
        ADDRESSES
        + """hostname = "video"
jvb_advertise_ips = ["203.0.113.7"]
web_replicas = 2
image_tag = "stable-11146-1"
jvb_resources = { cpu_request = "500m", memory_request = "1Gi", memory_limit = "3Gi" }
"""
    )
    result = ink_synth(config, plugins=BASE)
    assert env_of(result, "web")["PUBLIC_URL"] == "https://video.home.example.org"
    assert env_of(result, "jvb")["JVB_ADVERTISE_IPS"] == "192.168.1.242,203.0.113.7"
    assert objects(result)["jitsi/deployment-jitsi-web.yaml"]["spec"]["replicas"] == 2
    assert "jitsi/poddisruptionbudget-jitsi-web.yaml" in result.files
    assert container(result, "jvb")["resources"]["limits"]["memory"] == "3Gi"
    assert all(container(result, c)["image"].endswith(":stable-11146-1") for c in COMPONENTS)
    assert "jitsi/ingressroute-video.yaml" in result.files


def test_settings_from_the_environment(ink_synth, monkeypatch) -> None:
    monkeypatch.setenv("INK_PLUGINS__JITSI__JVB_LOAD_BALANCER_IP", "192.168.1.250")
    result = ink_synth(ADDRESSES, plugins=BASE)
    assert env_of(result, "jvb")["JVB_ADVERTISE_IPS"] == "192.168.1.250"


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ('jvb_load_balancer_ip = "meet.lan"', r"plugins\.jitsi\.jvb_load_balancer_ip: .*not a single IP address"),
        ('jvb_advertise_ips = ["192.168.1.0/24"]', r"plugins\.jitsi\.jvb_advertise_ips: .*not a single IP address"),
        ('jvb_advertise_ips = ["192.168.1.242"]', r"repeats jvb_load_balancer_ip 192\.168\.1\.242"),
    ],
)
def test_bad_settings_name_the_key(ink_synth, setting: str, message: str) -> None:
    config = (
        ADDRESSES
        if "load_balancer_ip" not in setting
        else ADDRESSES.replace('jvb_load_balancer_ip = "192.168.1.242"\n', "")
    )
    with pytest.raises(ConfigError, match=message):
        ink_synth(config + setting + "\n", plugins=BASE)


def test_without_an_ingress_provider_the_public_url_is_still_right(ink_synth) -> None:
    result = ink_synth(ADDRESSES, plugins=["jitsi", "sealed-secrets"])
    assert env_of(result, "web")["PUBLIC_URL"] == "https://meet.home.example.org"
    assert not any("ingressroute" in path for path in result.files)


def test_login_through_authentik_by_default(ink_synth) -> None:
    result = ink_synth(ADDRESSES, plugins=[*BASE, "authentik", "cloudnativepg", "minio"])
    route = objects(result)["jitsi/ingressroute-meet.yaml"]
    rules = {rule["match"]: rule for rule in route["spec"]["routes"]}
    host = "Host(`meet.home.example.org`)"
    # The page, BOSH and the XMPP websocket: behind authentik's forward-auth.
    assert rules[host]["middlewares"] == [{"name": "meet-forward-auth"}]
    middleware = objects(result)["jitsi/middleware-meet-forward-auth.yaml"]
    assert middleware["spec"]["forwardAuth"]["address"] == (
        "http://authentik-server.authentik.svc:80/outpost.goauthentik.io/auth/traefik"
    )
    # Only the static External API script passes without a login; authentik's callback goes to authentik.
    assert "middlewares" not in rules[f"{host} && Path(`/external_api.js`)"]
    outpost = rules[f"{host} && PathPrefix(`/outpost.goauthentik.io/`)"]
    assert outpost["services"][0]["namespace"] == "authentik"
    assert not any("auth/meet is left out" in w for w in result.warnings)


def test_sso_without_an_auth_provider_is_dropped_with_a_warning(default) -> None:
    assert any("auth/meet is left out" in w for w in default.warnings)
    assert "jitsi/middleware-meet-forward-auth.yaml" not in default.files


class Chat:
    """A service that links to any Jitsi (Rocket.Chat's video-conference provider will)."""

    def __init__(self) -> None:
        self.binding: Any = None

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="chat", title="Chat", version="1.0.0", homepage="https://example.org")

    @hookimpl
    def ink_links(self) -> list[Link]:
        return [Link(name="video", kind="jitsi", optional=True)]

    @hookimpl
    def ink_workloads(self, ctx) -> None:
        self.binding = ctx.link("video")


def test_serves_its_public_url_to_linked_services(ink_synth) -> None:
    chat = Chat()
    ink_synth(ADDRESSES, plugins=BASE, extra={"chat": chat})
    assert chat.binding.service == "jitsi"
    assert chat.binding.public_url == "https://meet.home.example.org"
    assert chat.binding.url == "http://jitsi-web.jitsi.svc:80"


def test_with_a_metrics_provider_jvb_jicofo_and_prosody_are_scraped_and_nothing_else_changes(
    tmp_path: Path, default
) -> None:
    from ink.models import Capability

    monitoring = testing.StandIn("monitoring", Capability.METRICS)
    result = testing.synth(tmp_path, ADDRESSES, plugins=BASE, extra={"monitoring": monitoring})
    assert sorted(testing.metrics_targets(result, "jitsi")) == ["jicofo", "jvb", "prosody"]
    for name, port in (("jvb", 8080), ("jicofo", 8888), ("prosody", 5280)):
        target = testing.assert_metrics_target_serves(result, "jitsi", name)
        assert (target.port, target.path, target.scheme, target.pods["app.kubernetes.io/component"]) == (
            port,
            "/metrics",
            "http",
            name,
        )
    # jvb and jicofo serve these by default; prosody only with its metrics module, answering the pod network.
    for component in COMPONENTS:
        if component != "prosody":
            assert container(result, component) == container(default, component)
    with_metrics, without = container(result, "prosody"), container(default, "prosody")
    added = [e for e in with_metrics["env"] if e not in without["env"]]
    assert added == [
        {"name": "PROSODY_ENABLE_METRICS", "value": "true"},
        {"name": "PROSODY_METRICS_ALLOWED_CIDR", "value": "10.42.0.0/16"},
    ]
    assert {**with_metrics, "env": without["env"]} == without


def test_prosody_answers_scrapers_from_the_configured_pod_network(tmp_path: Path) -> None:
    from ink.models import Capability

    monitoring = testing.StandIn("monitoring", Capability.METRICS)
    config = ADDRESSES + '\n[network]\npods = ["10.244.0.0/16"]\n'
    result = testing.synth(tmp_path, config, plugins=BASE, extra={"monitoring": monitoring})
    env = {e["name"]: e.get("value") for e in container(result, "prosody")["env"]}
    assert env["PROSODY_METRICS_ALLOWED_CIDR"] == "10.244.0.0/16"


def test_without_a_metrics_provider_nothing_is_scraped(default) -> None:
    assert testing.metrics_targets(default, "jitsi") == {}
