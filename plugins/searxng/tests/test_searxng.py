"""searxng: settings.yml with a generated key, the limiter on Valkey, forward-auth, the search endpoint."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from ink import hookimpl, testing
from ink.errors import ConfigError, ResolutionError
from ink.models import Link, ResolvedSecret, SecretBinding, ServiceInfo
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator
from ink_plugin_searxng import VERSION

PLUGINS = ["searxng", "valkey", "sealed-secrets"]
FULL = [*PLUGINS, "traefik", "cert-manager", "authentik", "cloudnativepg"]


class Secrets(testing.StandIn):
    """A secrets provider that keeps the plaintext, so the tests can read settings.yml."""

    def __init__(self) -> None:
        super().__init__("secrets", "secrets")
        self.values: dict[str, dict[str, str]] = {}

    @hookimpl
    def ink_provide_secret(self, secret: ResolvedSecret) -> SecretBinding:
        self.values[f"{secret.namespace}/{secret.name}"] = dict(secret.data)
        return SecretBinding(name=secret.name, namespace=secret.namespace, keys=tuple(sorted(secret.data)))


class Chat:
    """A consumer that links to any service serving the 'searxng' kind, as Open WebUI will."""

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="chat", title="Chat", version="1.0.0", homepage="https://example.org")

    @hookimpl
    def ink_links(self) -> list[Link]:
        return [Link(name="search", kind="searxng", optional=True)]

    @hookimpl
    def ink_workloads(self, scope, ctx) -> None:
        from ink import kube

        link = ctx.link("search")
        env = {"SEARXNG_QUERY_URL": f"{link.url}/search?q=<query>&format=json"} if link else {}
        app = kube.Container(name="chat", image="docker.io/library/busybox:1.37.0", env=env)
        kube.Workloads(scope, "chat", ctx=ctx, components=[kube.Component(name="chat", containers=[app])])


def plain(tmp_path: Path, config: str = "", plugins: list[str] | None = None, **extra: object):
    """Synthesise with a plaintext secrets provider; returns the result and settings.yml, limiter.toml."""
    secrets = Secrets()
    chosen = [p for p in (plugins or PLUGINS) if p != "sealed-secrets"]
    result = testing.synth(tmp_path, config, plugins=chosen, extra={"secrets": secrets, **extra})
    files = secrets.values["searxng/searxng-config"]
    return result, yaml.safe_load(files["settings.yml"]), tomllib.loads(files["limiter.toml"])


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("searxng"), plugins=FULL)


def objects(result) -> dict[str, dict]:
    return testing.objects(result)


def container(result) -> dict:
    return objects(result)["searxng/deployment-searxng.yaml"]["spec"]["template"]["spec"]["containers"][0]


def env_of(result) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(result).get("env", [])}


def test_discovered_through_the_entry_point() -> None:
    host = make_plugin_host(environ={"INK_LOAD_PLUGINS": "searxng"})
    assert host.names == ["searxng"]


def test_output_matches_the_reviewed_snapshot(default, snapshot) -> None:
    assert testing.snapshot_text(default, ["searxng"]) == snapshot


def test_output_validates(default, ink_validator: ManifestValidator) -> None:
    report = ink_validator.validate_all(testing.objects(default).items())
    assert report.problems == []
    assert report.skipped == {}


def test_the_pods_run_hardened_as_the_images_user_with_a_read_only_config(default) -> None:
    body = objects(default)["searxng/deployment-searxng.yaml"]
    pod = body["spec"]["template"]["spec"]
    assert body["spec"]["replicas"] == 2
    assert "podAntiAffinity" in pod["affinity"]
    assert objects(default)["searxng/poddisruptionbudget-searxng.yaml"]["spec"]["maxUnavailable"] == 1
    assert pod["securityContext"]["runAsUser"] == 977
    c = container(default)
    assert c["image"] == f"docker.io/searxng/searxng:{VERSION}"
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": 8080, "scheme": "HTTP"}
    mounts = {m["mountPath"]: m.get("readOnly", False) for m in c["volumeMounts"]}
    # The store's CA too: cert-manager is installed, so Valkey serves TLS (see the TLS test below).
    assert mounts == {"/etc/searxng": True, "/var/cache/searxng": False, "/tmp": False, "/etc/ink/redis-ca": True}


def test_settings_yml_json_output_base_url_and_generated_key(tmp_path: Path) -> None:
    result, settings, _ = plain(tmp_path, plugins=FULL)
    assert settings["use_default_settings"] is True
    assert settings["search"]["formats"] == ["html", "json"]
    assert settings["server"]["base_url"] == "https://search.example.com/"
    key = settings["server"]["secret_key"]
    assert len(key) == 64 and key.isalnum()
    assert key not in testing.snapshot_text(result)


def test_the_limiter_is_on_with_its_own_valkey(tmp_path: Path) -> None:
    result, settings, limiter = plain(tmp_path)
    assert settings["server"]["limiter"] is True
    assert env_of(result)["SEARXNG_VALKEY_URL"] == {"secretKeyRef": {"name": "searxng-redis", "key": "url_with_ca"}}
    store = objects(result)["searxng/deployment-searxng-redis.yaml"]
    assert store["metadata"]["namespace"] == "searxng"
    assert limiter["botdetection"]["trusted_proxies"] == ["127.0.0.0/8", "::1", "10.42.0.0/16"]
    assert limiter["botdetection"]["ip_lists"]["pass_ip"] == ["10.42.0.0/16"]
    assert not any("limiter is off" in w for w in result.warnings)


def test_without_a_tls_provider_the_store_is_dialled_plain(tmp_path: Path) -> None:
    secrets = Secrets()
    result = testing.synth(tmp_path, plugins=["searxng", "valkey"], extra={"secrets": secrets})
    values = secrets.values["searxng/searxng-redis"]
    assert (
        values["url_with_ca"]
        == values["url"]
        == f"redis://searxng:{values['password']}@searxng-redis.searxng.svc:6379/0"
    )
    assert "/etc/ink/redis-ca" not in {m["mountPath"] for m in container(result)["volumeMounts"]}


def test_with_a_tls_provider_searxng_verifies_the_store_with_the_ca(tmp_path: Path) -> None:
    secrets = Secrets()
    result = testing.synth(tmp_path, plugins=["searxng", "valkey", "cert-manager"], extra={"secrets": secrets})
    values = secrets.values["searxng/searxng-redis"]
    password = values["password"]
    # valkey-py (SearXNG's client) passes ssl_ca_certs and ssl_check_hostname on to its SSL connection.
    assert values["url_with_ca"] == (
        f"rediss://searxng:{password}@searxng-redis.searxng.svc:6379/0"
        "?ssl_ca_certs=/etc/ink/redis-ca/ca.crt&ssl_check_hostname=true"
    )
    assert env_of(result)["SEARXNG_VALKEY_URL"] == {"secretKeyRef": {"name": "searxng-redis", "key": "url_with_ca"}}
    pod = objects(result)["searxng/deployment-searxng.yaml"]["spec"]["template"]["spec"]
    ca = next(v for v in pod["volumes"] if v["name"] == "redis-ca")
    assert ca["secret"]["secretName"] == "searxng-redis-tls"
    assert ca["secret"]["items"] == [{"key": "ca.crt", "path": "ca.crt"}]  # the CA alone, not the server's key
    assert {"name": "redis-ca", "mountPath": "/etc/ink/redis-ca", "readOnly": True} in container(result)["volumeMounts"]
    assert "tls-port 6379" in secrets.values["searxng/searxng-redis-config"]["valkey.conf"].splitlines()


def test_without_valkey_the_limiter_is_off_with_a_warning(tmp_path: Path) -> None:
    result, settings, _ = plain(tmp_path, plugins=["searxng"])
    assert settings["server"]["limiter"] is False
    assert "SEARXNG_VALKEY_URL" not in env_of(result)
    assert not any("redis" in p for p in result.files)
    # valkey is installed (it defines redis) but not loaded: nothing provides the store.
    assert any("no enabled plugin provides redis, so redis/searxng is left out" in w for w in result.warnings)
    assert any("the limiter is off" in w for w in result.warnings)


def test_asking_for_the_limiter_without_valkey_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(
        ResolutionError, match=r"\[plugins.searxng\] limiter is set, but no enabled plugin provides redis"
    ):
        testing.synth(tmp_path, "[plugins.searxng]\nlimiter = true\n", plugins=["searxng", "sealed-secrets"])


def test_limiter_off_needs_no_store(tmp_path: Path) -> None:
    result, settings, _ = plain(tmp_path, "[plugins.searxng]\nlimiter = false\n")
    assert settings["server"]["limiter"] is False
    assert "searxng/deployment-searxng-redis.yaml" not in result.files
    assert not any("limiter is off" in w for w in result.warnings)


def test_forward_auth_on_the_route_with_an_auth_provider(default) -> None:
    route = objects(default)["searxng/ingressroute-search.yaml"]
    app_rule = next(r for r in route["spec"]["routes"] if r["match"] == "Host(`search.example.com`)")
    assert app_rule["services"] == [{"name": "searxng", "port": 8080}]
    assert app_rule["middlewares"] == [{"name": "search-forward-auth"}]
    middleware = objects(default)["searxng/middleware-search-forward-auth.yaml"]
    assert middleware["spec"]["forwardAuth"]["address"].startswith("http://authentik-server.authentik.svc")


def test_without_an_auth_provider_the_route_has_no_forward_auth(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, plugins=[*PLUGINS, "traefik", "cert-manager"])
    route = objects(result)["searxng/ingressroute-search.yaml"]
    assert not any("middlewares" in r for r in route["spec"]["routes"])
    assert not any(p.startswith("searxng/middleware-") for p in result.files)
    assert any("no enabled plugin provides auth, so auth/search is left out" in w for w in result.warnings)


def test_without_an_ingress_provider_it_serves_the_cluster_only(tmp_path: Path) -> None:
    result, settings, _ = plain(tmp_path)
    assert not any("ingress" in p for p in result.files if p.startswith("searxng/"))
    assert settings["server"]["base_url"] == "https://search.example.com/"


def test_a_consumer_links_to_the_search_endpoint_by_kind(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, plugins=FULL, extra={"chat": Chat()})
    chat = objects(result)["chat/deployment-chat.yaml"]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in chat["env"]}
    # In the cluster, straight to the Service: no forward-auth there.
    assert env["SEARXNG_QUERY_URL"] == "http://searxng.searxng.svc:8080/search?q=<query>&format=json"
    service = objects(result)["searxng/service-searxng.yaml"]
    assert service["spec"]["ports"][0]["port"] == 8080


def test_the_link_is_dropped_without_searxng(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, plugins=["sealed-secrets"], extra={"chat": Chat()})
    chat = objects(result)["chat/deployment-chat.yaml"]["spec"]["template"]["spec"]["containers"][0]
    assert "env" not in chat


def test_settings_from_ink_toml_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = '[plugins.searxng]\nhostname = "find"\nreplicas = 3\ninstance_name = "Home search"\n'
    config += 'cluster_networks = ["10.244.0.0/16", "fd00:10:244::/56"]\nsso = false\n'
    result, settings, limiter = plain(tmp_path, config)
    assert settings["server"]["base_url"] == "https://find.example.com/"
    assert settings["general"]["instance_name"] == "Home search"
    assert limiter["botdetection"]["ip_lists"]["pass_ip"] == ["10.244.0.0/16", "fd00:10:244::/56"]
    assert objects(result)["searxng/deployment-searxng.yaml"]["spec"]["replicas"] == 3
    monkeypatch.setenv("INK_PLUGINS__SEARXNG__IMAGE_TAG", "2026.5.31-7159b8aed")
    result, _, _ = plain(tmp_path / "env")
    assert container(result)["image"] == "docker.io/searxng/searxng:2026.5.31-7159b8aed"


def test_a_bad_network_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"plugins\.searxng\.cluster_networks.*'pods' is not a network"):
        testing.synth(tmp_path, '[plugins.searxng]\ncluster_networks = ["pods"]\n', plugins=PLUGINS)


def test_a_volume_size_is_refused_it_keeps_no_data(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"plugins\.searxng.*SearXNG keeps no data"):
        testing.synth(tmp_path, '[plugins.searxng]\nstorage_size = "1Gi"\n', plugins=PLUGINS)


def test_with_a_metrics_provider_metrics_answer_the_scraper_with_a_generated_password(tmp_path: Path) -> None:
    secrets = Secrets()
    plugins = ["searxng", "valkey", "prometheus"]
    result = testing.synth(tmp_path, plugins=plugins, extra={"secrets": secrets})
    settings = yaml.safe_load(secrets.values["searxng/searxng-config"]["settings.yml"])
    scrape = secrets.values["searxng/searxng-metrics"]
    assert settings["general"]["enable_metrics"] is True
    assert settings["general"]["open_metrics"] == scrape["password"] and len(scrape["password"]) == 32
    assert settings["general"]["instance_name"] == "SearXNG"
    assert scrape["password"] not in testing.snapshot_text(result)
    target = testing.assert_metrics_target_serves(result, "searxng")
    assert target.path == "/metrics" and target.port == 8080
    [endpoint] = objects(result)["searxng/podmonitor-searxng.yaml"]["spec"]["podMetricsEndpoints"]
    assert endpoint["basicAuth"] == {
        "username": {"name": "searxng-metrics", "key": "username"},
        "password": {"name": "searxng-metrics", "key": "password"},
    }


def test_without_a_metrics_provider_metrics_stay_closed_and_no_credential_is_made(tmp_path: Path) -> None:
    result, settings, _ = plain(tmp_path)
    assert "open_metrics" not in settings["general"] and "enable_metrics" not in settings["general"]
    assert not testing.metrics_targets(result, "searxng")
    assert not [k for k in objects(result) if "metrics" in k]
