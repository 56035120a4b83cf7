"""AppFlowy Cloud: six components on one host, PostgreSQL with pgvector, Redis, S3, SMTP, forward-auth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from ink import sealing, testing
from ink.errors import ConfigError, ResolutionError
from ink.plugins import make_plugin_host
from ink_plugin_appflowy import ink_service_info

# Integrations off: only the providers it cannot run without (database, Redis, S3, the secrets) and the route.
ALONE = ["appflowy", "cloudnativepg", "valkey", "minio", "sealed-secrets", "traefik", "cert-manager"]
# Integrations on: forward-auth, mail and backups.
TOGETHER = [*ALONE, "authentik", "smtp", "velero"]
CONFIG = """
domain = "home.example.org"
"""
PARTNERS = (
    CONFIG
    + """
[plugins.smtp]
enabled = true
host = "smtp.example.org"
port = 587
from_address = "homelab@example.org"
username = "homelab"
"""
)
COMPONENTS = ("cloud", "gotrue", "worker", "search", "web", "admin")
URL = "https://appflowy.home.example.org"


def objects(result) -> dict[str, Any]:
    return testing.objects(result)


def workload(result, component: str) -> dict[str, Any]:
    return objects(result)[f"appflowy/deployment-appflowy-{component}.yaml"]


def container(result, component: str) -> dict[str, Any]:
    return workload(result, component)["spec"]["template"]["spec"]["containers"][0]


def env_of(result, component: str) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(result, component).get("env", [])}


def ref(name: str, key: str) -> dict[str, Any]:
    return {"secretKeyRef": {"name": name, "key": key}}


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
    directory = tmp_path_factory.mktemp("appflowy-together")
    return directory, testing.synth(directory, PARTNERS, plugins=TOGETHER)


def test_discovered_through_its_entry_point() -> None:
    assert make_plugin_host(environ={}).dists["appflowy"].distribution == "ink-plugin-appflowy"


def test_output_alone_matches_the_reviewed_snapshot(alone, snapshot) -> None:
    assert testing.snapshot_text(alone, ["appflowy"]) == snapshot


def test_output_together_matches_the_reviewed_snapshot(together, snapshot) -> None:
    assert testing.snapshot_text(together[1], ["appflowy"]) == snapshot


@pytest.mark.parametrize("which", ["alone", "together"])
def test_output_validates(which, request, ink_validator) -> None:
    result = request.getfixturevalue(which)
    result = result[1] if isinstance(result, tuple) else result
    report = ink_validator.validate_all(objects(result).items())
    assert report.problems == []


def test_every_component_from_its_official_image(alone) -> None:
    images = {c: container(alone, c)["image"] for c in COMPONENTS}
    assert images == {
        "cloud": "docker.io/appflowyinc/appflowy_cloud:0.17.4",
        "gotrue": "docker.io/appflowyinc/gotrue:0.17.4",
        "worker": "docker.io/appflowyinc/appflowy_worker:0.17.4",
        "search": "docker.io/appflowyinc/appflowy_search:0.17.4",
        "web": "docker.io/appflowyinc/appflowy_web:0.16.18",
        "admin": "docker.io/appflowyinc/admin_frontend:0.16.5",
    }


def test_ports_and_probes_on_upstream_endpoints(alone) -> None:
    ports = {c: {p["containerPort"] for p in container(alone, c)["ports"]} for c in COMPONENTS}
    expected = {"cloud": 8000, "gotrue": 9999, "worker": 4001, "search": 4002, "web": 80, "admin": 3000}
    assert ports == {component: {port} for component, port in expected.items()}
    cloud = container(alone, "cloud")
    assert cloud["livenessProbe"]["httpGet"]["path"] == "/api/health"
    assert cloud["readinessProbe"]["httpGet"]["path"] == "/api/ready"
    assert cloud["startupProbe"]["httpGet"]["path"] == "/api/health"
    assert container(alone, "gotrue")["livenessProbe"]["httpGet"] == {"path": "/health", "port": 9999, "scheme": "HTTP"}
    assert container(alone, "worker")["livenessProbe"]["httpGet"]["path"] == "/metrics"
    assert container(alone, "search")["livenessProbe"] == {
        "tcpSocket": {"port": 4002},
        "periodSeconds": 10,
        "timeoutSeconds": 3,
        "failureThreshold": 3,
    }
    assert container(alone, "web")["readinessProbe"]["httpGet"]["path"] == "/"
    assert container(alone, "admin")["readinessProbe"]["httpGet"]["path"] == "/console"


def test_hardened_except_the_web_image_with_its_reasons(alone) -> None:
    for component in ("cloud", "gotrue", "worker", "search", "admin"):
        pod = workload(alone, component)["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsUser"] == 1000, component
        security = container(alone, component)["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, component
        assert security["capabilities"] == {"drop": ["ALL"]}, component
    web = container(alone, "web")["securityContext"]
    assert web["runAsUser"] == 0
    assert web["readOnlyRootFilesystem"] is False
    assert web["capabilities"] == {"drop": ["ALL"], "add": ["CHOWN", "NET_BIND_SERVICE", "SETGID", "SETUID"]}
    for component in COMPONENTS:
        assert "memory" in container(alone, component)["resources"]["limits"], component
    namespace = objects(alone)["appflowy/namespace-appflowy.yaml"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    exemptions = {type(e).__name__ for e in ink_service_info().exemptions}
    assert exemptions == {"RunAsRoot", "WritableRootFilesystem", "AddCapabilities"}


def test_one_host_with_upstreams_nginx_locations(alone) -> None:
    route = objects(alone)["appflowy/ingressroute-appflowy.yaml"]
    rules = {r["match"]: r for r in route["spec"]["routes"]}
    host = "Host(`appflowy.home.example.org`)"
    assert rules[host]["services"] == [{"name": "appflowy-web", "port": 80}]
    expected = {
        "/gotrue/": ("appflowy-gotrue", 9999),
        "/ws": ("appflowy-cloud", 8000),
        "/api": ("appflowy-cloud", 8000),
        "/ai/": ("appflowy-cloud", 8000),
        "/scim": ("appflowy-cloud", 8000),
        "/console": ("appflowy-admin", 3000),
    }
    assert set(rules) == {host, *(f"{host} && PathPrefix(`{path}`)" for path in expected)}
    for path, (service, port) in expected.items():
        rule = rules[f"{host} && PathPrefix(`{path}`)"]
        assert rule["services"] == [{"name": service, "port": port}], path
    # Only GoTrue's prefix is stripped (nginx: rewrite ^/gotrue(/.*)$ $1); the console keeps /console.
    assert rules[f"{host} && PathPrefix(`/gotrue/`)"]["middlewares"] == [{"name": "appflowy-strip-gotrue"}]
    strip = objects(alone)["appflowy/middleware-appflowy-strip-gotrue.yaml"]
    assert strip["spec"] == {"stripPrefix": {"prefixes": ["/gotrue/"]}}
    for path in ("/ws", "/api", "/ai/", "/scim", "/console"):
        assert "middlewares" not in rules[f"{host} && PathPrefix(`{path}`)"], path


def test_public_urls_reach_every_component(alone) -> None:
    cloud, web, admin, gotrue = (env_of(alone, c) for c in ("cloud", "web", "admin", "gotrue"))
    assert cloud["APPFLOWY_BASE_URL"] == cloud["APPFLOWY_WEB_URL"] == URL
    assert gotrue["API_EXTERNAL_URL"] == f"{URL}/gotrue"
    assert web == {
        "APPFLOWY_BASE_URL": URL,
        "APPFLOWY_GOTRUE_BASE_URL": f"{URL}/gotrue",
        "APPFLOWY_WS_BASE_URL": "wss://appflowy.home.example.org/ws/v2",
    }
    assert admin["APPFLOWY_GOTRUE_BASE_URL"] == f"{URL}/gotrue"
    assert admin["ADMIN_FRONTEND_PATH_PREFIX"] == "/console"


def test_components_find_each_other_in_the_cluster(alone) -> None:
    cloud, admin = env_of(alone, "cloud"), env_of(alone, "admin")
    assert cloud["APPFLOWY_GOTRUE_BASE_URL"] == "http://appflowy-gotrue.appflowy.svc:9999"
    assert cloud["APPFLOWY_SEARCH_SERVICE_URL"] == "http://appflowy-search.appflowy.svc:4002"
    assert admin["ADMIN_FRONTEND_GOTRUE_URL"] == "http://appflowy-gotrue.appflowy.svc:9999"
    assert admin["ADMIN_FRONTEND_APPFLOWY_CLOUD_URL"] == "http://appflowy-cloud.appflowy.svc:8000"
    for component in ("cloud", "gotrue", "worker", "search", "web", "admin"):
        assert f"appflowy/service-appflowy-{component}.yaml" in alone.files


def test_one_jwt_secret_shared_by_gotrue_cloud_and_search(alone) -> None:
    jwt = ref("appflowy", "GOTRUE_JWT_SECRET")
    assert env_of(alone, "gotrue")["GOTRUE_JWT_SECRET"] == jwt
    assert env_of(alone, "cloud")["APPFLOWY_GOTRUE_JWT_SECRET"] == jwt
    assert env_of(alone, "search")["APPFLOWY_GOTRUE_JWT_SECRET"] == jwt
    sealed = objects(alone)["appflowy/sealedsecret-appflowy.yaml"]
    assert set(sealed["spec"]["encryptedData"]) == {"GOTRUE_JWT_SECRET", "GOTRUE_ADMIN_PASSWORD"}


def test_the_admin_user_with_a_generated_password(together, ink_synth) -> None:
    directory, result = together
    gotrue = env_of(result, "gotrue")
    assert gotrue["GOTRUE_ADMIN_EMAIL"] == "admin@home.example.org"
    assert gotrue["GOTRUE_ADMIN_PASSWORD"] == ref("appflowy", "GOTRUE_ADMIN_PASSWORD")
    assert gotrue["GOTRUE_JWT_ADMIN_GROUP_NAME"] == "supabase_admin"
    password = unseal(directory, objects(result)["appflowy/sealedsecret-appflowy.yaml"], "GOTRUE_ADMIN_PASSWORD")
    assert len(password) == 32
    assert password not in testing.snapshot_text(result, ["appflowy"])


def test_one_database_with_pgvector_and_gotrues_auth_schema(alone) -> None:
    database = objects(alone)["cloudnativepg/database-postgres-ha-appflowy.yaml"]
    assert database["spec"]["owner"] == "appflowy"
    assert database["spec"]["extensions"] == [{"name": "vector", "ensure": "present"}]
    uri = ref("appflowy-db", "uri")
    for component, name in (
        ("cloud", "APPFLOWY_DATABASE_URL"),
        ("worker", "APPFLOWY_WORKER_DATABASE_URL"),
        ("search", "APPFLOWY_SEARCH_DATABASE_URL"),
    ):
        assert env_of(alone, component)[name] == uri, component
    assert env_of(alone, "worker")["APPFLOWY_WORKER_DATABASE_NAME"] == "appflowy"
    # GoTrue's own tables in the 'auth' schema of the same database, as deploy.env's GOTRUE_DATABASE_URL.
    env = [e["name"] for e in container(alone, "gotrue")["env"]]
    assert env.index("INK_DATABASE_URI") < env.index("DATABASE_URL")
    assert env_of(alone, "gotrue")["INK_DATABASE_URI"] == uri


def test_the_database_over_tls_when_the_provider_serves_it(alone) -> None:
    # cert-manager is installed: the uri asks for verify-full, so search_path joins its query with '&'.
    assert env_of(alone, "gotrue")["DATABASE_URL"] == "$(INK_DATABASE_URI)&search_path=auth"
    assert env_of(alone, "cloud")["APPFLOWY_DATABASE_REQUIRE_SSL"] == "true"
    assert env_of(alone, "worker")["APPFLOWY_WORKER_DATABASE_REQUIRE_SSL"] == "true"
    for component in ("cloud", "gotrue", "worker", "search"):
        mounts = {m["mountPath"] for m in container(alone, component)["volumeMounts"]}
        assert "/etc/ink/database-ca" in mounts, component


def test_a_plain_database_without_a_tls_provider(ink_synth) -> None:
    # Without cert-manager (and so without Traefik, which needs its wildcard certificate): no route either.
    result = ink_synth(CONFIG, plugins=["appflowy", "cloudnativepg", "valkey", "minio", "sealed-secrets"])
    assert env_of(result, "gotrue")["DATABASE_URL"] == "$(INK_DATABASE_URI)?search_path=auth"
    assert "APPFLOWY_DATABASE_REQUIRE_SSL" not in env_of(result, "cloud")


def test_redis_from_the_redis_capability(alone) -> None:
    url = ref("appflowy-redis", "url")
    assert env_of(alone, "cloud")["APPFLOWY_REDIS_URI"] == url
    assert env_of(alone, "worker")["APPFLOWY_WORKER_REDIS_URL"] == url
    assert env_of(alone, "search")["APPFLOWY_SEARCH_REDIS_URL"] == url
    assert env_of(alone, "admin")["ADMIN_FRONTEND_REDIS_URL"] == url
    assert "appflowy/persistentvolumeclaim-appflowy-redis-data.yaml" in alone.files


def test_s3_from_the_bucket_binding(alone) -> None:
    for component in ("cloud", "worker"):
        env = env_of(alone, component)
        assert env["APPFLOWY_S3_MINIO_URL"] == "http://minio.minio.svc:9000", component
        assert env["APPFLOWY_S3_BUCKET"] == "appflowy"
        assert env["APPFLOWY_S3_ACCESS_KEY"] == ref("appflowy-s3", "AWS_ACCESS_KEY_ID")
        assert env["APPFLOWY_S3_SECRET_KEY"] == ref("appflowy-s3", "AWS_SECRET_ACCESS_KEY")
        assert env["APPFLOWY_S3_USE_MINIO"] == "true"
        assert env["APPFLOWY_S3_CREATE_BUCKET"] == "false"
        assert "APPFLOWY_S3_PRESIGNED_URL_ENDPOINT" not in env


def test_the_keyword_index_on_a_volume(alone) -> None:
    claim = objects(alone)["appflowy/persistentvolumeclaim-appflowy-search-keyword-index.yaml"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "2Gi"
    mounts = {m["mountPath"] for m in container(alone, "search")["volumeMounts"]}
    assert "/var/lib/appflowy/keyword_index" in mounts
    assert env_of(alone, "search")["APPFLOWY_KEYWORD_INDEX_DIR"] == "/var/lib/appflowy/keyword_index"


def test_the_ingress_reaches_only_the_routed_components(alone) -> None:
    routed = {"web": {80}, "cloud": {8000}, "gotrue": {9999}, "admin": {3000}}
    for component, ports in routed.items():
        policy = objects(alone)[f"appflowy/networkpolicy-allow-ingress-{component}.yaml"]
        assert {p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]} == ports, component
    for component in ("worker", "search"):
        assert f"appflowy/networkpolicy-allow-ingress-{component}.yaml" not in alone.files


def test_the_egress_reaches_exactly_the_database_redis_and_s3(alone) -> None:
    policy = objects(alone)["appflowy/networkpolicy-allow-egress.yaml"]
    targets = {
        (rule["to"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], p["port"])
        for rule in policy["spec"]["egress"]
        for p in rule["ports"]
    }
    assert targets == {("cloudnativepg", 5432), ("minio", 9000)}
    assert not any(path.startswith("appflowy/networkpolicy-allow-internet") for path in alone.files)


def test_alone_no_mail_no_login_no_backup(alone) -> None:
    gotrue = env_of(alone, "gotrue")
    assert gotrue["GOTRUE_MAILER_AUTOCONFIRM"] == "true"
    assert not any(name.startswith("GOTRUE_SMTP_") for name in gotrue)
    assert not any(name.startswith("APPFLOWY_MAILER_") for name in env_of(alone, "cloud"))
    assert not any(o.get("kind") == "Middleware" and "forwardAuth" in o["spec"] for o in objects(alone).values())
    assert any("auth/appflowy is left out" in w for w in alone.warnings)
    assert any("smtp/appflowy is left out" in w for w in alone.warnings)


def test_mail_through_the_smtp_provider(together) -> None:
    result = together[1]
    gotrue = env_of(result, "gotrue")
    password = ref("appflowy-smtp", "password")
    assert (gotrue["GOTRUE_SMTP_HOST"], gotrue["GOTRUE_SMTP_PORT"]) == ("smtp.example.org", "587")
    assert (gotrue["GOTRUE_SMTP_USER"], gotrue["GOTRUE_SMTP_PASS"]) == ("homelab", password)
    assert gotrue["GOTRUE_SMTP_ADMIN_EMAIL"] == "homelab@example.org"
    assert gotrue["GOTRUE_MAILER_AUTOCONFIRM"] == "false"
    assert gotrue["GOTRUE_MAILER_URLPATHS_CONFIRMATION"] == "/gotrue/verify"
    for component in ("cloud", "worker"):
        env = env_of(result, component)
        assert env["APPFLOWY_MAILER_SMTP_HOST"] == "smtp.example.org"
        assert env["APPFLOWY_MAILER_SMTP_PORT"] == "587"
        assert env["APPFLOWY_MAILER_SMTP_EMAIL"] == "homelab@example.org"
        assert env["APPFLOWY_MAILER_SMTP_USERNAME"] == "homelab"
        assert env["APPFLOWY_MAILER_SMTP_PASSWORD"] == password
        assert env["APPFLOWY_MAILER_SMTP_TLS_KIND"] == "required"  # 587 is STARTTLS


def test_smtp_off_by_setting(ink_synth) -> None:
    result = ink_synth(PARTNERS + "[plugins.appflowy]\nsmtp = false\n", plugins=[*ALONE, "smtp"])
    assert "GOTRUE_SMTP_HOST" not in env_of(result, "gotrue")
    assert env_of(result, "gotrue")["GOTRUE_MAILER_AUTOCONFIRM"] == "true"


def test_browser_pages_behind_authentiks_forward_auth(together) -> None:
    result = together[1]
    route = objects(result)["appflowy/ingressroute-appflowy.yaml"]
    rules = {rule["match"]: rule for rule in route["spec"]["routes"]}
    host = "Host(`appflowy.home.example.org`)"
    # The web app and the console: behind forward-auth.
    assert rules[host]["middlewares"] == [{"name": "appflowy-forward-auth"}]
    assert rules[f"{host} && PathPrefix(`/console`)"]["middlewares"] == [{"name": "appflowy-forward-auth"}]
    # What the desktop and mobile apps call, with GoTrue's tokens: open.
    for path in ("/ws", "/api", "/ai/", "/scim"):
        assert "middlewares" not in rules[f"{host} && PathPrefix(`{path}`)"], path
    assert rules[f"{host} && PathPrefix(`/gotrue/`)"]["middlewares"] == [{"name": "appflowy-strip-gotrue"}]
    middleware = objects(result)["appflowy/middleware-appflowy-forward-auth.yaml"]
    assert middleware["spec"]["forwardAuth"]["address"] == (
        "http://authentik-server.authentik.svc:80/outpost.goauthentik.io/auth/traefik"
    )
    outpost = rules[f"{host} && PathPrefix(`/outpost.goauthentik.io/`)"]
    assert outpost["services"][0]["namespace"] == "authentik"
    # authentik's side: a proxy provider for the host.
    blueprint = "\n".join(str(o) for p, o in objects(result).items() if p.startswith("authentik/"))
    assert "https://appflowy.home.example.org" in blueprint
    assert "authentik_providers_proxy.proxyprovider" in blueprint
    assert not any("auth/appflowy is left out" in w for w in result.warnings)


def test_forward_auth_off_by_setting(ink_synth) -> None:
    result = ink_synth(CONFIG + "[plugins.appflowy]\nsso = false\n", plugins=[*ALONE, "authentik"])
    assert "appflowy/middleware-appflowy-forward-auth.yaml" not in result.files
    blueprint = "\n".join(str(o) for p, o in objects(result).items() if p.startswith("authentik/"))
    assert "appflowy.home.example.org" not in blueprint


def test_redis_data_is_backed_up(together) -> None:
    result = together[1]
    assert not any("appflowy-redis-data, which no backup covers" in w for w in result.warnings)
    redis = objects(result)["appflowy/deployment-appflowy-redis.yaml"]
    assert "data" in redis["spec"]["template"]["metadata"]["annotations"]["backup.velero.io/backup-volumes"]


def test_without_a_database_provider_it_stops(ink_synth) -> None:
    with pytest.raises(ResolutionError, match="database"):
        ink_synth(CONFIG, plugins=[p for p in ALONE if p != "cloudnativepg"])


def test_without_an_s3_provider_it_stops(ink_synth) -> None:
    with pytest.raises(ResolutionError, match="s3"):
        ink_synth(CONFIG, plugins=[p for p in ALONE if p != "minio"])


def test_without_a_redis_provider_it_stops(ink_synth) -> None:
    with pytest.raises(ResolutionError, match="redis"):
        ink_synth(CONFIG, plugins=[p for p in ALONE if p != "valkey"])


def test_settings_from_ink_toml(ink_synth) -> None:
    config = (
        CONFIG
        + """[plugins.appflowy]
hostname = "notes"
image_tag = "0.17.3"
web_image_tag = "0.16.17"
admin_image_tag = "0.16.4"
admin_email = "me@example.org"
disable_signup = true
storage_size = "5Gi"
s3_public_url = "https://s3.example.org"
resources = { cpu_request = "300m", memory_request = "1Gi", memory_limit = "3Gi" }
env = { APPFLOWY_COLLAB_S3_THRESHOLD = "16000" }
"""
    )
    result = ink_synth(config, plugins=ALONE)
    assert "appflowy/ingressroute-notes.yaml" in result.files
    assert env_of(result, "cloud")["APPFLOWY_BASE_URL"] == "https://notes.home.example.org"
    assert env_of(result, "cloud")["APPFLOWY_COLLAB_S3_THRESHOLD"] == "16000"
    assert env_of(result, "cloud")["APPFLOWY_S3_PRESIGNED_URL_ENDPOINT"] == "https://s3.example.org"
    assert env_of(result, "worker")["APPFLOWY_S3_PRESIGNED_URL_ENDPOINT"] == "https://s3.example.org"
    assert env_of(result, "gotrue")["GOTRUE_ADMIN_EMAIL"] == "me@example.org"
    assert env_of(result, "gotrue")["GOTRUE_DISABLE_SIGNUP"] == "true"
    assert container(result, "gotrue")["image"].endswith(":0.17.3")
    assert container(result, "web")["image"].endswith(":0.16.17")
    assert container(result, "admin")["image"].endswith(":0.16.4")
    assert container(result, "cloud")["resources"]["limits"]["memory"] == "3Gi"
    claim = objects(result)["appflowy/persistentvolumeclaim-appflowy-search-keyword-index.yaml"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"


def test_replicas_scale_the_stateless_components(ink_synth) -> None:
    result = ink_synth(CONFIG + "[plugins.appflowy]\nreplicas = 2\n", plugins=ALONE)
    for component in ("cloud", "gotrue", "web"):
        assert workload(result, component)["spec"]["replicas"] == 2, component
        assert f"appflowy/poddisruptionbudget-appflowy-{component}.yaml" in result.files
    for component in ("worker", "search", "admin"):
        assert workload(result, component)["spec"]["replicas"] == 1, component


def test_settings_from_the_environment(ink_synth, monkeypatch) -> None:
    monkeypatch.setenv("INK_PLUGINS__APPFLOWY__ADMIN_EMAIL", "ops@example.org")
    result = ink_synth(CONFIG, plugins=ALONE)
    assert env_of(result, "gotrue")["GOTRUE_ADMIN_EMAIL"] == "ops@example.org"


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ('admin_email = "admin"', r"plugins\.appflowy\.admin_email"),
        ("replicas = 0", r"plugins\.appflowy\.replicas"),
        ('s3_public_url = "http://s3.example.org"', r"plugins\.appflowy\.s3_public_url"),
        ('hostname = "Not A Label"', r"plugins\.appflowy\.hostname"),
        ('env = { APPFLOWY_GOTRUE_JWT_SECRET = "x" }', r"APPFLOWY_GOTRUE_JWT_SECRET"),
    ],
)
def test_bad_settings_name_the_key(ink_synth, setting: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ink_synth(CONFIG + "[plugins.appflowy]\n" + setting + "\n", plugins=ALONE)
