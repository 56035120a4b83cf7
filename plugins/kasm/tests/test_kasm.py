"""Kasm Workspaces: the control plane on kasm.<domain>, PostgreSQL as kasmapp on kasm, Redis for sharing, OIDC."""

from __future__ import annotations

from typing import Any

import pytest

from ink import testing
from ink.errors import ConfigError, ResolutionError
from ink.plugins import make_plugin_host

# The providers it cannot run without (database, secrets) and the route; no Redis, no auth provider.
ALONE = ["kasm", "cloudnativepg", "sealed-secrets", "traefik", "cert-manager"]
# Its partners: Redis for session sharing, authentik for the OIDC client.
TOGETHER = [*ALONE, "valkey", "authentik"]
CONFIG = """
domain = "home.example.org"

[plugins.kasm]
enabled = true
"""
URL = "https://kasm.home.example.org"
COMPONENTS = ("api", "manager", "proxy", "guac")


def objects(result) -> dict[str, Any]:
    return testing.objects(result)


def workload(result, component: str) -> dict[str, Any]:
    return objects(result)[f"kasm/deployment-kasm-{component}.yaml"]


def pod(result, component: str) -> dict[str, Any]:
    return workload(result, component)["spec"]["template"]["spec"]


def container(result, component: str) -> dict[str, Any]:
    return pod(result, component)["containers"][0]


def env_of(spec: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in spec.get("env", [])}


def ref(name: str, key: str) -> dict[str, Any]:
    return {"secretKeyRef": {"name": name, "key": key}}


def db_init_job(result) -> dict[str, Any]:
    jobs = [obj for path, obj in objects(result).items() if path.startswith("kasm/job-kasm-db-init-")]
    assert len(jobs) == 1
    return jobs[0]


def proxy_config(result, part: str) -> dict[str, str]:
    return objects(result)[f"kasm/configmap-kasm-proxy-{part}.yaml"]["data"]


def setup_info(result) -> dict[str, str]:
    return objects(result)["kasm/configmap-kasm-setup.yaml"]["data"]


@pytest.fixture(scope="module")
def alone(ink_synth):
    return ink_synth(CONFIG, plugins=ALONE)


@pytest.fixture(scope="module")
def together(ink_synth):
    return ink_synth(CONFIG, plugins=TOGETHER)


def test_discovered_through_its_entry_point() -> None:
    assert make_plugin_host(environ={}).dists["kasm"].distribution == "ink-plugin-kasm"


def test_off_by_default(ink_synth) -> None:
    result = ink_synth('domain = "home.example.org"\n', plugins=TOGETHER)
    assert not any(path.startswith("kasm/") for path in result.files)
    assert "authentik/application-authentik-chart.yaml" in result.files  # its partners still run


def test_output_alone_matches_the_reviewed_snapshot(alone, snapshot) -> None:
    assert testing.snapshot_text(alone, ["kasm"]) == snapshot


def test_output_together_matches_the_reviewed_snapshot(together, snapshot) -> None:
    assert testing.snapshot_text(together, ["kasm"]) == snapshot


@pytest.mark.parametrize("which", ["alone", "together"])
def test_output_validates(which, request, ink_validator) -> None:
    report = ink_validator.validate_all(objects(request.getfixturevalue(which)).items())
    assert report.problems == []


def test_every_component_from_kasms_images_at_the_pinned_release(together) -> None:
    images = {c: container(together, c)["image"] for c in (*COMPONENTS, "share")}
    assert images == {
        "api": "docker.io/kasmweb/api:1.18.1",
        "manager": "docker.io/kasmweb/manager:1.18.1",
        "proxy": "docker.io/kasmweb/proxy:1.18.1",
        "guac": "docker.io/kasmweb/kasm-guac:1.18.1",
        "share": "docker.io/kasmweb/share:1.18.1",
    }
    job = db_init_job(together)["spec"]["template"]["spec"]["containers"][0]
    assert job["image"] == "docker.io/kasmweb/api:1.18.1"


def test_ports_and_probes_on_the_charts_endpoints(together) -> None:
    ports = {c: {p["containerPort"] for p in container(together, c)["ports"]} for c in (*COMPONENTS, "share")}
    assert ports == {
        "api": {8080},
        "manager": {8181},
        "proxy": {8080},
        "guac": {3000, 3001, 3002, 3003, 3004},
        "share": {8182},
    }
    readiness = {c: container(together, c)["readinessProbe"] for c in COMPONENTS}
    assert readiness["api"]["httpGet"]["path"] == "/api/__healthcheck"
    assert readiness["manager"]["httpGet"]["path"] == "/__healthcheck"
    assert readiness["guac"]["httpGet"]["path"] == "/__healthcheck"
    assert readiness["proxy"]["httpGet"]["path"] == "/checkvalid"
    for component in (*COMPONENTS, "share"):
        assert "tcpSocket" in container(together, component)["livenessProbe"], component


def test_services_keep_the_names_the_images_expect(together) -> None:
    # The images reach each other by these names (the chart's kasm.constants), and guac's cluster ports too.
    for name in ("kasm-api", "kasm-manager", "kasm-proxy", "kasm-guac", "kasm-share"):
        assert f"kasm/service-{name}.yaml" in together.files, name
    guac = objects(together)["kasm/service-kasm-guac.yaml"]
    assert {p["port"] for p in guac["spec"]["ports"]} == {3000, 3001, 3002, 3003, 3004}
    settings = proxy_config(together, "settings")
    assert "server kasm-api:8080;" in settings["upstream_api.conf"]
    assert "server kasm-manager:8181;" in settings["upstream_manager.conf"]
    assert [line.strip() for line in settings["upstream_guac.conf"].splitlines() if "server " in line] == [
        f"server kasm-guac:{port};" for port in (3001, 3002, 3003, 3004)
    ]


def test_hardened_except_the_api_and_db_init_root_filesystem(together) -> None:
    specs = {c: container(together, c) for c in (*COMPONENTS, "share")}
    specs["db-init"] = db_init_job(together)["spec"]["template"]["spec"]["containers"][0]
    for name, spec in specs.items():
        context = spec["securityContext"]
        assert context["runAsNonRoot"] is True, name
        assert context["allowPrivilegeEscalation"] is False, name
        assert context["capabilities"]["drop"] == ["ALL"], name
        assert context["readOnlyRootFilesystem"] is (name not in ("api", "db-init")), name
        assert spec["resources"]["limits"]["memory"], name
    namespace = objects(together)["kasm/namespace-kasm.yaml"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_database_as_kasmapp_on_kasm_on_both_sides(alone) -> None:
    api = env_of(container(alone, "api"))
    assert (api["POSTGRES_DB"], api["POSTGRES_USER"]) == ("kasm", "kasmapp")
    assert api["POSTGRES_PASSWORD"] == ref("kasm-db", "password")
    assert api["POSTGRES_HOST"].startswith("postgres-ha-rw.cloudnativepg")
    assert api["POSTGRES_PORT"] == "5432"
    for component in ("manager",):
        assert {k: v for k, v in env_of(container(alone, component)).items() if k.startswith("POSTGRES_")} == {
            k: v for k, v in api.items() if k.startswith("POSTGRES_")
        }
    # The provider's side: the managed role kasmapp owns the database kasm.
    cluster = objects(alone)["cloudnativepg/cluster-postgres-ha.yaml"]
    assert "kasmapp" in {role["name"] for role in cluster["spec"]["managed"]["roles"]}
    databases = [o for p, o in objects(alone).items() if p.startswith("cloudnativepg/database-")]
    assert ("kasm", "kasmapp") in {(d["spec"]["name"], d["spec"]["owner"]) for d in databases}


def test_the_database_over_verified_tls(alone) -> None:
    api = container(alone, "api")
    env = env_of(api)
    assert env["PGSSLMODE"] == "verify-full"
    assert env["PGSSLROOTCERT"].startswith("/etc/ink/database-ca/")
    assert "/etc/ink/database-ca" in {m["mountPath"] for m in api["volumeMounts"]}


def test_without_a_database_provider_it_stops(ink_synth) -> None:
    with pytest.raises(ResolutionError, match="database"):
        ink_synth(CONFIG, plugins=[p for p in ALONE if p != "cloudnativepg"])


def test_the_db_init_job_is_an_idempotent_sync_hook(alone) -> None:
    job = db_init_job(alone)
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "Sync"
    spec = job["spec"]["template"]["spec"]["containers"][0]
    assert spec["command"] == ["/bin/bash", "/setup/db-init.sh"]
    env = env_of(spec)
    assert env["DEFAULT_ADMIN_PASSWORD"] == ref("kasm-secrets", "admin-password")
    assert env["DEFAULT_USER_PASSWORD"] == ref("kasm-secrets", "user-password")
    assert env["DEFAULT_MANAGER_TOKEN"] == ref("kasm-secrets", "manager-token")
    assert env["DEFAULT_REGISTRATION_TOKEN"] == ref("kasm-secrets", "service-token")
    assert env["POSTGRES_USER"] == "kasmapp"
    script = objects(alone)["kasm/configmap-kasm-db-init.yaml"]["data"]["db-init.sh"]
    # startup.sh runs only while no zone exists; an initialised database is left alone.
    assert "select count(*) from zones" in script
    assert script.index("-gt 0 ]; then") < script.index("exec /usr/bin/startup.sh")
    # The api starts only once the schema is there.
    init = pod(alone, "api")["initContainers"][0]
    assert init["name"] == "db-is-ready"
    assert "select count(*) from zones" in init["command"][-1]


def test_generated_tokens_and_passwords_sealed(alone) -> None:
    sealed = objects(alone)["kasm/sealedsecret-kasm-secrets.yaml"]
    assert set(sealed["spec"]["encryptedData"]) == {"admin-password", "user-password", "manager-token", "service-token"}
    guac = env_of(container(alone, "guac"))
    assert guac["REGISTRATION_TOKEN"] == ref("kasm-secrets", "service-token")
    assert "service-token" not in str(objects(alone)["kasm/configmap-kasm-setup.yaml"]["data"].values())


def test_one_route_to_kasms_nginx_without_forward_auth(together) -> None:
    route = objects(together)["kasm/ingressroute-kasm.yaml"]
    (rule,) = route["spec"]["routes"]
    assert rule["match"] == "Host(`kasm.home.example.org`)"
    assert rule["services"] == [{"name": "kasm-proxy", "port": 8080}]
    assert "middlewares" not in rule
    services = proxy_config(together, "services")
    for location in ("location /api/ ", "location /manager_api/ ", "location /desktop/ ", "location / "):
        assert location in "".join(services.values()), location


def test_session_sharing_on_the_redis_provider(together) -> None:
    share = env_of(container(together, "share"))
    assert share["REDIS_HOST"].startswith("kasm-redis.kasm")
    assert share["REDIS_PASSWORD"]["secretKeyRef"]["name"].startswith("kasm-redis")
    assert "share_api.conf" in proxy_config(together, "services")
    assert "server kasm-share:8182;" in proxy_config(together, "settings")["upstream_share.conf"]
    assert "kasm/deployment-kasm-redis.yaml" in together.files


def test_without_a_redis_provider_no_session_sharing(alone) -> None:
    assert "kasm/deployment-kasm-share.yaml" not in alone.files
    assert "share_api.conf" not in proxy_config(alone, "services")
    assert "upstream_share.conf" not in proxy_config(alone, "settings")
    assert any("redis" in warning and "kasm" in warning for warning in alone.warnings)


def test_session_sharing_off_by_setting(ink_synth) -> None:
    result = ink_synth(CONFIG + "session_sharing = false\n", plugins=TOGETHER)
    assert "kasm/deployment-kasm-share.yaml" not in result.files
    assert "kasm/deployment-kasm-redis.yaml" not in result.files
    assert not any("redis" in warning and "kasm" in warning for warning in result.warnings)


def test_oidc_client_on_authentiks_side_and_the_values_for_kasms_form(together) -> None:
    blueprint = objects(together)["authentik/configmap-authentik-ink-blueprints.yaml"]["data"]
    text = "".join(blueprint.values())
    assert f"{URL}/api/oidc_callback" in text
    info = setup_info(together)
    assert info["oidc-client-id"] in text
    assert info["oidc-client-secret"].startswith("Secret kasm-")
    assert info["oidc-redirect-url"] == f"{URL}/api/oidc_callback"
    assert info["oidc-authorization-url"] == "https://auth.home.example.org/application/o/authorize/"
    assert info["oidc-token-url"] == "https://auth.home.example.org/application/o/token/"
    assert info["oidc-user-info-url"] == "https://auth.home.example.org/application/o/userinfo/"
    # The client secret itself reaches Kasm's namespace only as a sealed Secret.
    name = info["oidc-client-secret"].split()[1].rstrip(",")
    assert f"kasm/sealedsecret-{name}.yaml" in together.files


def test_without_an_auth_provider_no_oidc_values(alone) -> None:
    info = setup_info(alone)
    assert not any(key.startswith("oidc-") for key in info)
    assert info["agent-manager-hostname"] == "kasm.home.example.org"
    assert info["agent-manager-token"] == "Secret kasm-secrets, key manager-token"


def test_sso_off_by_setting(ink_synth) -> None:
    result = ink_synth(CONFIG + "sso = false\n", plugins=TOGETHER)
    # No client at all: authentik then writes no blueprint for ink's clients.
    blueprint = objects(result).get("authentik/configmap-authentik-ink-blueprints.yaml", {"data": {}})["data"]
    assert "/api/oidc_callback" not in "".join(blueprint.values())
    assert "kasm/sealedsecret-kasm-oidc.yaml" not in result.files
    assert not any(key.startswith("oidc-") for key in setup_info(result))


def test_egress_to_the_agents_and_the_servers_outside(alone) -> None:
    internet = {p: o for p, o in objects(alone).items() if p.startswith("kasm/networkpolicy-allow-internet")}
    assert internet, "no egress to the agents"
    selected = {
        policy["spec"]["podSelector"]["matchLabels"].get("app.kubernetes.io/component"): {
            port["port"] for rule in policy["spec"]["egress"] for port in rule["ports"]
        }
        for policy in internet.values()
    }
    assert selected == {"api": {443}, "manager": {443}, "proxy": {443}, "guac": {22, 3389, 5900}}


def test_agents_and_servers_on_the_lan_by_address(ink_synth) -> None:
    # The private ranges are not "internet": agents and servers on the LAN are opened by their address.
    config = CONFIG + 'agents = ["192.168.1.50", "agent.lan"]\nservers = ["192.168.1.60"]\n'
    result = ink_synth(config, plugins=ALONE)
    outside = {
        policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"]: {
            (block["ipBlock"]["cidr"], port["port"])
            for rule in policy["spec"]["egress"]
            for block in rule["to"]
            for port in rule["ports"]
        }
        for path, policy in objects(result).items()
        if path.startswith("kasm/networkpolicy-allow-outside")
    }
    agents = {("192.168.1.50/32", 443), ("0.0.0.0/0", 443)}  # a host name: any address, on that port only
    assert outside == {
        "api": agents,
        "manager": agents,
        "proxy": agents,
        "guac": {("192.168.1.60/32", port) for port in (22, 3389, 5900)},
    }


def test_guac_off_by_setting(ink_synth) -> None:
    result = ink_synth(CONFIG + "guac = false\n", plugins=ALONE)
    assert "kasm/deployment-kasm-guac.yaml" not in result.files
    assert "kasmguac.conf" not in proxy_config(result, "services")
    assert "upstream_guac.conf" not in proxy_config(result, "settings")


def test_settings_from_ink_toml(ink_synth) -> None:
    config = (
        CONFIG
        + """hostname = "desktops"
image_tag = "1.18.0"
replicas = 2
agent_ports = [4443]
resources = { cpu_request = "300m", memory_request = "512Mi", memory_limit = "2Gi" }
env = { LOG_LEVEL = "DEBUG" }
"""
    )
    result = ink_synth(config, plugins=ALONE)
    assert "kasm/ingressroute-desktops.yaml" in result.files
    assert setup_info(result)["agent-manager-hostname"] == "desktops.home.example.org"
    for component in COMPONENTS:
        assert workload(result, component)["spec"]["replicas"] == 2, component
        assert container(result, component)["image"].endswith(":1.18.0"), component
    assert container(result, "api")["resources"]["limits"]["memory"] == "2Gi"
    assert env_of(container(result, "api"))["LOG_LEVEL"] == "DEBUG"


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("replicas = 0", r"plugins\.kasm\.replicas"),
        ("replicas = 4", r"plugins\.kasm\.replicas"),
        ("agent_ports = [0]", r"plugins\.kasm\.agent_ports"),
        ("server_ports = [70000]", r"plugins\.kasm\.server_ports"),
        ('hostname = "Not A Label"', r"plugins\.kasm\.hostname"),
        ('agents = ["https://agent.lan"]', r"plugins\.kasm\.agents"),
        ('env = { POSTGRES_PASSWORD = "x" }', r"POSTGRES_PASSWORD"),
    ],
)
def test_bad_settings_name_the_key(ink_synth, setting: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ink_synth(CONFIG + setting + "\n", plugins=ALONE)
