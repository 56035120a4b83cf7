"""WorkAdventure: five components on one host, Redis, OIDC, map storage, Jitsi and TURN, settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from ink import sealing, testing
from ink.errors import ConfigError, ResolutionError
from ink.plugins import make_plugin_host

# Integrations off: only the providers it cannot run without (Redis, the secrets) and the route.
ALONE = ["workadventure", "valkey", "sealed-secrets", "traefik", "cert-manager"]
# Integrations on: login, backups, Jitsi and TURN.
TOGETHER = [*ALONE, "authentik", "cloudnativepg", "minio", "velero", "jitsi", "coturn", "metallb"]
CONFIG = """
domain = "home.example.org"
"""
PARTNERS = (
    CONFIG
    + """
[plugins.jitsi]
jvb_load_balancer_ip = "192.168.1.242"

[plugins.coturn]
enabled = true
load_balancer_ip = "192.168.1.241"
"""
)
COMPONENTS = ("play", "back", "map-storage", "uploader", "icon")


def objects(result) -> dict[str, Any]:
    return testing.objects(result)


def workload(result, component: str) -> dict[str, Any]:
    kind = "statefulset" if component == "back" else "deployment"
    return objects(result)[f"workadventure/{kind}-workadventure-{component}.yaml"]


def container(result, component: str) -> dict[str, Any]:
    return workload(result, component)["spec"]["template"]["spec"]["containers"][0]


def env_of(result, component: str) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(result, component).get("env", [])}


def unseal(directory: Path, body: dict, field: str) -> str:
    key = serialization.load_pem_private_key((directory / ".ink" / sealing.DEV_KEY_NAME).read_bytes(), None)
    meta = body["metadata"]
    value = body["spec"]["encryptedData"][field]
    return sealing.unseal_value(key, namespace=meta["namespace"], name=meta["name"], ciphertext=value).decode()


@pytest.fixture(scope="module")
def alone(ink_synth):
    return ink_synth(CONFIG, plugins=ALONE)


@pytest.fixture(scope="module")
def together(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("workadventure-together")
    return directory, testing.synth(directory, PARTNERS, plugins=TOGETHER)


def test_discovered_through_its_entry_point() -> None:
    assert make_plugin_host(environ={}).dists["workadventure"].distribution == "ink-plugin-workadventure"


def test_output_alone_matches_the_reviewed_snapshot(alone, snapshot) -> None:
    assert testing.snapshot_text(alone, ["workadventure"]) == snapshot


def test_output_together_matches_the_reviewed_snapshot(together, snapshot) -> None:
    assert testing.snapshot_text(together[1], ["workadventure"]) == snapshot


@pytest.mark.parametrize("which", ["alone", "together"])
def test_output_validates(which, request, ink_validator) -> None:
    result = request.getfixturevalue(which)
    result = result[1] if isinstance(result, tuple) else result
    report = ink_validator.validate_all(objects(result).items())
    assert report.problems == []


def test_every_component_from_its_official_image(alone) -> None:
    for component in ("play", "back", "map-storage", "uploader"):
        assert container(alone, component)["image"] == f"docker.io/thecodingmachine/workadventure-{component}:v1.33.3"
    assert container(alone, "icon")["image"] == "docker.io/matthiasluedtke/iconserver:v3.21.0"


def test_ports_and_probes_on_upstream_endpoints(alone) -> None:
    ports = {c: {p["containerPort"] for p in container(alone, c)["ports"]} for c in COMPONENTS}
    assert ports == {
        "play": {3000, 3001},
        "back": {8080, 50051},
        "map-storage": {3000, 50053},
        "uploader": {8080},
        "icon": {8080},
    }
    for component, port in (("play", 3000), ("back", 8080), ("uploader", 8080)):
        probe = container(alone, component)["livenessProbe"]["httpGet"]
        assert probe == {"path": "/ping", "port": port, "scheme": "HTTP"}
    maps = container(alone, "map-storage")
    assert maps["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert maps["readinessProbe"]["httpGet"]["path"] == "/ping"


def test_every_component_runs_hardened(alone) -> None:
    for component in COMPONENTS:
        pod = workload(alone, component)["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsUser"] == 1000
        security = container(alone, component)["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert "memory" in container(alone, component)["resources"]["limits"]
    namespace = objects(alone)["workadventure/namespace-workadventure.yaml"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_one_host_with_upstreams_path_prefixes(alone) -> None:
    route = objects(alone)["workadventure/ingressroute-work.yaml"]
    rules = {r["match"]: r for r in route["spec"]["routes"]}
    host = "Host(`work.home.example.org`)"
    assert rules[host]["services"] == [{"name": "workadventure-play", "port": 3000}]
    expected = {
        "/ws/": ("workadventure-play", 3001, False),
        "/api": ("workadventure-back", 8080, True),
        "/map-storage": ("workadventure-map-storage", 3000, True),
        "/uploader": ("workadventure-uploader", 8080, True),
        "/icon": ("workadventure-icon", 8080, True),
        "/lettericons": ("workadventure-icon", 8080, False),
    }
    for path, (service, port, stripped) in expected.items():
        rule = rules[f"{host} && PathPrefix(`{path}`)"]
        assert (rule["services"][0]["name"], rule["services"][0]["port"]) == (service, port)
        assert bool(rule.get("middlewares")) is stripped
    strip = objects(alone)["workadventure/middleware-work-strip-map-storage.yaml"]
    assert strip["spec"] == {"stripPrefix": {"prefixes": ["/map-storage"]}}
    # map-storage is told about the prefix the ingress strips (PATH_PREFIX), play about where it lives.
    assert env_of(alone, "map-storage")["PATH_PREFIX"] == "/map-storage"
    assert env_of(alone, "play")["PUBLIC_MAP_STORAGE_URL"] == "https://work.home.example.org/map-storage"
    assert env_of(alone, "play")["PUSHER_URL"] == "https://work.home.example.org/"


def test_the_websocket_is_sticky_with_several_play_pods(alone, ink_synth) -> None:
    assert workload(alone, "play")["spec"]["replicas"] == 2
    assert "workadventure/poddisruptionbudget-workadventure-play.yaml" in alone.files
    route = objects(alone)["workadventure/ingressroute-work.yaml"]
    (ws,) = [r for r in route["spec"]["routes"] if "/ws/" in r["match"]]
    assert ws["services"][0]["sticky"]["cookie"]["name"] == "wa_ws_affinity"
    single = ink_synth(CONFIG + "[plugins.workadventure]\nreplicas = 1\n", plugins=ALONE)
    route = objects(single)["workadventure/ingressroute-work.yaml"]
    (ws,) = [r for r in route["spec"]["routes"] if "/ws/" in r["match"]]
    assert "sticky" not in ws["services"][0]


def test_the_ingress_reaches_every_routed_component(alone) -> None:
    for component, port in (("play", 3000), ("back", 8080), ("map-storage", 3000), ("uploader", 8080), ("icon", 8080)):
        policy = objects(alone)[f"workadventure/networkpolicy-allow-ingress-{component}.yaml"]
        ports = {(p["port"]) for rule in policy["spec"]["ingress"] for p in rule["ports"]}
        assert port in ports, component
    play = objects(alone)["workadventure/networkpolicy-allow-ingress-play.yaml"]
    assert {p["port"] for rule in play["spec"]["ingress"] for p in rule["ports"]} == {3000, 3001}


def test_shared_secrets_and_back_addresses(alone) -> None:
    key = {"secretKeyRef": {"name": "workadventure", "key": "SECRET_KEY"}}
    token = {"secretKeyRef": {"name": "workadventure", "key": "MAP_STORAGE_API_TOKEN"}}
    for component in ("play", "back", "map-storage"):
        assert env_of(alone, component)["SECRET_KEY"] == key
    assert (
        env_of(alone, "play")["MAP_STORAGE_API_TOKEN"] == env_of(alone, "map-storage")["MAP_STORAGE_API_TOKEN"] == token
    )
    sealed = objects(alone)["workadventure/sealedsecret-workadventure.yaml"]
    assert set(sealed["spec"]["encryptedData"]) == {"SECRET_KEY", "MAP_STORAGE_API_TOKEN", "MAP_UPLOAD_TOKEN"}
    back = "workadventure-back-0.workadventure-back-headless.workadventure.svc:50051"
    assert env_of(alone, "play")["API_URL"] == env_of(alone, "map-storage")["API_URL"] == back
    assert env_of(alone, "back")["MAP_STORAGE_URL"] == "workadventure-map-storage.workadventure.svc:50053"


def test_several_back_pods_are_each_listed(ink_synth) -> None:
    result = ink_synth(CONFIG + "[plugins.workadventure]\nback_replicas = 2\n", plugins=ALONE)
    assert workload(result, "back")["spec"]["replicas"] == 2
    pods = [f"workadventure-back-{i}.workadventure-back-headless.workadventure.svc:50051" for i in (0, 1)]
    assert env_of(result, "play")["API_URL"] == ",".join(pods)
    assert "workadventure/service-workadventure-back-headless.yaml" in result.files


def test_redis_from_the_redis_capability_with_a_password_alone(alone) -> None:
    password = {"secretKeyRef": {"name": "workadventure-redis", "key": "password"}}
    for component in ("play", "back", "uploader"):
        env = env_of(alone, component)
        assert (env["REDIS_HOST"], env["REDIS_PORT"]) == ("workadventure-redis.workadventure.svc", "6379")
        assert env["REDIS_PASSWORD"] == password
    assert env_of(alone, "uploader")["REDIS_DB_NUMBER"] == "1"
    store = objects(alone)["workadventure/deployment-workadventure-redis.yaml"]
    probe_env = {e["name"]: e["valueFrom"] for e in store["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert probe_env == {"REDISCLI_AUTH": password}
    assert "workadventure/persistentvolumeclaim-workadventure-redis-data.yaml" in alone.files


def test_the_redis_password_is_the_default_users(together) -> None:
    directory, result = together
    conf = unseal(
        directory, objects(result)["workadventure/sealedsecret-workadventure-redis-config.yaml"], "valkey.conf"
    )
    password = unseal(directory, objects(result)["workadventure/sealedsecret-workadventure-redis.yaml"], "password")
    assert f"user default on >{password} ~* &* +@all\n" in conf
    assert "nopass" not in conf


def test_without_a_redis_provider_it_stops(ink_synth) -> None:
    with pytest.raises(ResolutionError, match="redis"):
        ink_synth(CONFIG, plugins=["workadventure", "sealed-secrets"])


def test_maps_on_a_volume(alone) -> None:
    claim = objects(alone)["workadventure/persistentvolumeclaim-workadventure-map-storage-maps.yaml"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert workload(alone, "map-storage")["spec"]["strategy"] == {"type": "Recreate"}
    mounts = {m["mountPath"] for m in container(alone, "map-storage")["volumeMounts"]}
    assert "/maps" in mounts
    assert env_of(alone, "map-storage")["STORAGE_DIRECTORY"] == "/maps"


def test_integrations_off_alone(alone) -> None:
    play = env_of(alone, "play")
    for name in ("OPENID_CLIENT_ID", "DISABLE_ANONYMOUS", "JITSI_URL", "TURN_SERVER", "TURN_STATIC_AUTH_SECRET"):
        assert name not in play
    assert "workadventure/sealedsecret-workadventure-turn.yaml" not in alone.files
    assert any("anonymous = false needs a login" in w for w in alone.warnings)
    assert not any(o.get("kind") == "Middleware" and "forwardAuth" in o["spec"] for o in objects(alone).values())


def test_login_through_authentik(together) -> None:
    play = env_of(together[1], "play")
    assert play["OPENID_CLIENT_ISSUER"] == "https://auth.home.example.org/application/o/workadventure/"
    assert play["OPENID_CLIENT_ID"] == "workadventure"
    assert play["OPENID_CLIENT_SECRET"] == {"secretKeyRef": {"name": "workadventure-oidc", "key": "client-secret"}}
    assert play["DISABLE_ANONYMOUS"] == "true"
    blueprint = "\n".join(
        str(o) for p, o in objects(together[1]).items() if p.startswith("authentik/") and "workadventure" in str(o)
    )
    assert "https://work.home.example.org/openid-callback" in blueprint


def test_anonymous_visitors_when_asked(ink_synth) -> None:
    result = ink_synth(
        CONFIG + "[plugins.workadventure]\nanonymous = true\n", plugins=[*ALONE, "authentik", "cloudnativepg", "minio"]
    )
    assert env_of(result, "play")["DISABLE_ANONYMOUS"] == "false"


def test_jitsi_rooms_open_on_the_jitsi_plugin(together) -> None:
    assert env_of(together[1], "play")["JITSI_URL"] == "https://meet.home.example.org"
    assert env_of(together[1], "play")["JITSI_PRIVATE_MODE"] == "false"
    assert env_of(together[1], "back")["JITSI_URL"] == "https://meet.home.example.org"


def test_jitsi_off_by_setting(ink_synth) -> None:
    result = ink_synth(CONFIG + "[plugins.workadventure]\njitsi = false\n", plugins=[*ALONE, "jitsi"])
    assert "JITSI_URL" not in env_of(result, "play")


def test_turn_from_coturn_with_the_shared_secret(together) -> None:
    directory, result = together
    play = env_of(result, "play")
    assert play["TURN_SERVER"] == (
        "turn:192.168.1.241:3478?transport=udp,turn:192.168.1.241:3478?transport=tcp,"
        "turns:turn.home.example.org:5349?transport=tcp"
    )
    assert play["STUN_SERVER"] == "stun:192.168.1.241:3478"
    assert play["TURN_STATIC_AUTH_SECRET"] == {
        "secretKeyRef": {"name": "workadventure-turn", "key": "static-auth-secret"}
    }
    copy = unseal(
        directory, objects(result)["workadventure/sealedsecret-workadventure-turn.yaml"], "static-auth-secret"
    )
    conf = unseal(directory, objects(result)["coturn/sealedsecret-coturn-config.yaml"], "turnserver.conf")
    assert f"static-auth-secret={copy}\n" in conf
    # Jitsi's copy is the same secret: one TURN server, one shared secret.
    jitsi = unseal(directory, objects(result)["jitsi/sealedsecret-jitsi-turn.yaml"], "static-auth-secret")
    assert jitsi == copy


def test_asking_for_turn_without_a_provider_is_an_error(ink_synth) -> None:
    with pytest.raises(ResolutionError, match=r"\[plugins.workadventure\] turn is set, but no enabled plugin"):
        ink_synth(CONFIG + "[plugins.workadventure]\nturn = true\n", plugins=ALONE)


def test_maps_and_redis_are_backed_up(together) -> None:
    result = together[1]
    assert not any("no backup covers" in w for w in result.warnings)
    maps = workload(result, "map-storage")["spec"]["template"]["metadata"]["annotations"]
    assert "maps" in maps["backup.velero.io/backup-volumes"]
    redis = objects(result)["workadventure/deployment-workadventure-redis.yaml"]
    assert "data" in redis["spec"]["template"]["metadata"]["annotations"]["backup.velero.io/backup-volumes"]


def test_settings_from_ink_toml(ink_synth) -> None:
    config = (
        CONFIG
        + """[plugins.workadventure]
hostname = "office"
image_tag = "v1.33.2"
storage_size = "5Gi"
start_room_url = "/~/office.wam"
resources = { cpu_request = "200m", memory_request = "512Mi", memory_limit = "2Gi" }
env = { ENABLE_MAP_EDITOR = "true" }
"""
    )
    result = ink_synth(config, plugins=ALONE)
    assert env_of(result, "play")["PUSHER_URL"] == "https://office.home.example.org/"
    assert env_of(result, "play")["START_ROOM_URL"] == "/~/office.wam"
    assert env_of(result, "play")["ENABLE_MAP_EDITOR"] == "true"
    assert container(result, "back")["image"].endswith(":v1.33.2")
    assert container(result, "play")["resources"]["limits"]["memory"] == "2Gi"
    claim = objects(result)["workadventure/persistentvolumeclaim-workadventure-map-storage-maps.yaml"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    assert "workadventure/ingressroute-office.yaml" in result.files


def test_settings_from_the_environment(ink_synth, monkeypatch) -> None:
    monkeypatch.setenv("INK_PLUGINS__WORKADVENTURE__REPLICAS", "3")
    result = ink_synth(CONFIG, plugins=ALONE)
    assert workload(result, "play")["spec"]["replicas"] == 3


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("replicas = 0", r"plugins\.workadventure\.replicas"),
        ("max_per_group = 8", r"plugins\.workadventure\.max_per_group"),
        ('start_room_url = "office.tmj"', r"plugins\.workadventure\.start_room_url"),
        ('env = { SECRET_KEY = "x" }', r"SECRET_KEY"),
    ],
)
def test_bad_settings_name_the_key(ink_synth, setting: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ink_synth(CONFIG + "[plugins.workadventure]\n" + setting + "\n", plugins=ALONE)


def test_with_a_metrics_provider_back_and_play_are_scraped_with_a_generated_token(tmp_path: Path) -> None:
    from ink.models import Capability

    monitoring = testing.StandIn("monitoring", Capability.METRICS)
    result = testing.synth(tmp_path, CONFIG, plugins=ALONE, extra={"monitoring": monitoring})
    token = {"secretKeyRef": {"name": "workadventure", "key": "PROMETHEUS_AUTHORIZATION_TOKEN"}}
    for component, port in (("play", 3000), ("back", 8080)):
        target = testing.assert_metrics_target_serves(result, "workadventure", component)
        assert (target.port, target.path, target.pods["app.kubernetes.io/component"]) == (port, "/metrics", component)
        assert (target.bearer_token.name, target.bearer_token.key) == (
            "workadventure",
            "PROMETHEUS_AUTHORIZATION_TOKEN",
        )
        assert env_of(result, component)["PROMETHEUS_AUTHORIZATION_TOKEN"] == token
    assert sorted(testing.metrics_targets(result, "workadventure")) == ["back", "play"]
    sealed = objects(result)["workadventure/sealedsecret-workadventure.yaml"]["spec"]["encryptedData"]
    assert "PROMETHEUS_AUTHORIZATION_TOKEN" in sealed


def test_without_a_metrics_provider_metrics_stay_disabled(alone) -> None:
    assert testing.metrics_targets(alone, "workadventure") == {}
    for component in ("play", "back"):
        assert "PROMETHEUS_AUTHORIZATION_TOKEN" not in env_of(alone, component)
    sealed = objects(alone)["workadventure/sealedsecret-workadventure.yaml"]["spec"]["encryptedData"]
    assert "PROMETHEUS_AUTHORIZATION_TOKEN" not in sealed
