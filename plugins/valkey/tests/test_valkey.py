"""valkey: defines the redis capability and answers each need with a Valkey in the consumer's namespace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ink import hookimpl, testing
from ink.errors import ConfigError, PluginError
from ink.models import BackupBinding, BackupTarget, NamedNeed, ResolvedSecret, SecretBinding, ServiceInfo
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator
from ink_plugin_valkey import VERSION

PLUGINS = ["valkey", "sealed-secrets"]


class App:
    """A consumer that does not import ink_plugin_valkey: it names the capability and reads by attribute."""

    def __init__(self, params: dict[str, Any] | None = None, *, backup: bool = False) -> None:
        self.params = params or {}
        self.backup = backup

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="app", title="App", version="1.0.0", homepage="https://example.org")

    @hookimpl
    def ink_needs(self) -> list[NamedNeed]:
        return [NamedNeed(capability="redis", id="app", params=self.params)]

    @hookimpl
    def ink_backup_targets(self) -> list[BackupTarget]:
        return [BackupTarget(volume="app-redis-data", pod_volume="data")] if self.backup else []

    @hookimpl
    def ink_workloads(self, scope, ctx) -> None:
        from ink import kube

        store = ctx.bindings["redis/app"]
        env = {"REDIS_HOST": store.host, "REDIS_PORT": str(store.port), "REDIS_USER": store.username}
        env |= {"REDIS_PASSWORD": store.password, "REDIS_URL": store.url}
        # Over TLS, the CA to verify the server with (nothing is mounted for a plain connection).
        app = kube.Container(name="app", image="docker.io/library/busybox:1.37.0", env=env, mounts=[*store.ca_mounts()])
        kube.Workloads(scope, "app", ctx=ctx, components=[kube.Component(name="app", containers=[app])])


class Backup(testing.StandIn):
    """A backup provider whose binding asks for a pod annotation, as Velero's does."""

    def __init__(self) -> None:
        super().__init__("backup", "backup")

    @hookimpl
    def ink_provide_backup(self, target: BackupTarget) -> BackupBinding:
        return BackupBinding(schedule="0 3 * * *", pod_annotations={"backup.example/volumes": target.pod_volume})


class Secrets(testing.StandIn):
    """A secrets provider that keeps the plaintext, so the tests can read the rendered files."""

    def __init__(self) -> None:
        super().__init__("secrets", "secrets")
        self.values: dict[str, dict[str, str]] = {}

    @hookimpl
    def ink_provide_secret(self, secret: ResolvedSecret) -> SecretBinding:
        self.values[f"{secret.namespace}/{secret.name}"] = dict(secret.data)
        return SecretBinding(name=secret.name, namespace=secret.namespace, keys=tuple(sorted(secret.data)))


def synth(tmp_path: Path, config: str = "", *, app: App | None = None, **extra: object):
    return testing.synth(tmp_path, config, plugins=PLUGINS, extra={"app": app or App(), **extra})


def plain(
    tmp_path: Path, config: str = "", app: App | None = None, plugins: tuple[str, ...] = (), **extra: object
) -> tuple[Any, Secrets]:
    secrets = Secrets()
    result = testing.synth(
        tmp_path, config, plugins=["valkey", *plugins], extra={"app": app or App(), "secrets": secrets, **extra}
    )
    return result, secrets


TLS_PLUGINS = [*PLUGINS, "cert-manager"]


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory):
    return synth(tmp_path_factory.mktemp("valkey"))


@pytest.fixture(scope="module")
def over_tls(tmp_path_factory: pytest.TempPathFactory):
    """With a TLS provider (cert-manager): the store serves TLS with a certificate from the in-cluster CA."""
    return testing.synth(tmp_path_factory.mktemp("valkey-tls"), plugins=TLS_PLUGINS, extra={"app": App()})


def deployment(result) -> dict:
    return testing.objects(result)["app/deployment-app-redis.yaml"]


def valkey_container(result) -> dict:
    return deployment(result)["spec"]["template"]["spec"]["containers"][0]


def app_env(result) -> dict[str, Any]:
    container = testing.objects(result)["app/deployment-app.yaml"]["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_the_package_defines_and_provides_redis_through_its_entry_points() -> None:
    host = make_plugin_host(environ={"INK_LOAD_PLUGINS": "valkey"})
    assert "valkey" in host.names
    spec = host.capabilities["redis"]
    assert spec.defined_by == "ink-plugin-valkey"
    assert spec.provide_hook == "ink_provide_redis"
    assert spec.after == ("backup",)  # a persistent store's volume is covered by the consumer's backup binding
    assert host.implements("valkey", "ink_provide_redis")


def test_output_matches_the_reviewed_snapshot(default, snapshot) -> None:
    assert testing.snapshot_text(default, ["app", "valkey"]) == snapshot


def test_output_validates(default, ink_validator: ManifestValidator) -> None:
    report = ink_validator.validate_all(testing.objects(default).items())
    assert report.problems == []
    assert report.skipped == {}


def test_the_instance_runs_in_the_consumers_namespace_as_valkeys_user(default) -> None:
    body = deployment(default)
    assert body["metadata"]["namespace"] == "app"
    assert body["metadata"]["labels"]["app.kubernetes.io/name"] == "valkey"
    assert body["metadata"]["labels"]["app.kubernetes.io/version"] == VERSION
    pod = body["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == 999
    container = pod["containers"][0]
    assert container["image"] == f"docker.io/valkey/valkey:{VERSION}"
    assert container["args"] == ["valkey-server", "/etc/valkey/valkey.conf"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["readinessProbe"]["exec"]["command"][-1] == "valkey-cli -p 6379 ping | grep -q PONG"
    assert {v["name"]: next(k for k in v if k != "name") for v in pod["volumes"]} == {
        "config": "secret",
        "data": "emptyDir",  # no persistence: a cache
    }
    # The provider's own folder holds only its namespace: it runs nothing.
    assert sorted(p for p in default.files if p.startswith("valkey/") and "/networkpolicy-" not in p) == [
        "valkey/namespace-valkey.yaml"
    ]


def test_consumer_gets_host_port_user_and_the_secret_refs(default) -> None:
    env = app_env(default)
    assert env["REDIS_HOST"] == "app-redis.app.svc"
    assert env["REDIS_PORT"] == "6379"
    assert env["REDIS_USER"] == "app"
    assert env["REDIS_PASSWORD"] == {"secretKeyRef": {"name": "app-redis", "key": "password"}}
    assert env["REDIS_URL"] == {"secretKeyRef": {"name": "app-redis", "key": "url"}}
    sealed = testing.objects(default)["app/sealedsecret-app-redis.yaml"]
    assert set(sealed["spec"]["encryptedData"]) == {"password", "url", "url_with_ca"}


def test_server_and_consumer_hold_the_same_password(tmp_path: Path) -> None:
    _, secrets = plain(tmp_path)
    connection = secrets.values["app/app-redis"]
    config = secrets.values["app/app-redis-config"]["valkey.conf"]
    password = connection["password"]
    assert len(password) == 32 and password.isalnum()
    assert connection["url"] == f"redis://app:{password}@app-redis.app.svc:6379/0"
    assert f"user app on >{password} ~* &* +@all" in config.splitlines()
    # Without logging in, only PING (the probes).
    assert "user default on nopass resetchannels -@all +ping" in config.splitlines()
    assert password not in testing.snapshot_text(_)


def test_password_only_makes_the_consumer_the_default_user(tmp_path: Path) -> None:
    result, secrets = plain(tmp_path, app=App({"password_only": True}))
    password = secrets.values["app/app-redis"]["password"]
    config = secrets.values["app/app-redis-config"]["valkey.conf"].splitlines()
    assert f"user default on >{password} ~* &* +@all" in config
    assert not any(line.startswith("user app ") or "nopass" in line for line in config)
    assert app_env(result)["REDIS_USER"] == "default"
    assert secrets.values["app/app-redis"]["url"] == f"redis://default:{password}@app-redis.app.svc:6379/0"
    # The probes' PING needs the password now: valkey-cli reads it from REDISCLI_AUTH.
    env = {e["name"]: e["valueFrom"] for e in valkey_container(result)["env"]}
    assert env == {"REDISCLI_AUTH": {"secretKeyRef": {"name": "app-redis", "key": "password"}}}


def test_need_params_set_memory_eviction_and_persistence(tmp_path: Path) -> None:
    params = {"max_memory": "256Mi", "eviction_policy": "allkeys-lru", "persistence": True, "storage_size": "4Gi"}
    result, secrets = plain(tmp_path, app=App(params, backup=True), backup=Backup())
    config = secrets.values["app/app-redis-config"]["valkey.conf"].splitlines()
    assert {"maxmemory 268435456", "maxmemory-policy allkeys-lru", "appendonly yes"} <= set(config)
    resources = valkey_container(result)["resources"]
    assert resources == {"requests": {"cpu": "25m", "memory": "288Mi"}, "limits": {"memory": "576Mi"}}
    objects = testing.objects(result)
    claim = objects["app/persistentvolumeclaim-app-redis-data.yaml"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "4Gi"
    template = deployment(result)["spec"]["template"]
    # The consumer's backup binding for the store's volume reaches the store's pods.
    assert template["metadata"]["annotations"]["backup.example/volumes"] == "data"
    assert deployment(result)["spec"]["strategy"] == {"type": "Recreate"}
    assert not any("no backup covers" in w for w in result.warnings)


def test_persistence_without_a_backup_target_warns(tmp_path: Path) -> None:
    result, _ = plain(tmp_path, app=App({"persistence": True}))
    assert any(
        "redis/app keeps its data on the volume app-redis-data, which no backup covers" in w for w in result.warnings
    )


def test_defaults_keep_no_data(tmp_path: Path) -> None:
    _, secrets = plain(tmp_path)
    config = secrets.values["app/app-redis-config"]["valkey.conf"].splitlines()
    assert {"maxmemory 67108864", "maxmemory-policy noeviction", "appendonly no", 'save ""'} <= set(config)


def test_settings_from_ink_toml_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = synth(tmp_path, '[plugins.valkey]\nimage_tag = "9.0.8"\ncpu_request = "100m"\n')
    assert valkey_container(result)["image"] == "docker.io/valkey/valkey:9.0.8"
    assert valkey_container(result)["resources"]["requests"]["cpu"] == "100m"
    monkeypatch.setenv("INK_PLUGINS__VALKEY__IMAGE_TAG", "9.1.3-alpine")
    result = synth(tmp_path / "env")
    assert valkey_container(result)["image"] == "docker.io/valkey/valkey:9.1.3-alpine"


def test_a_bad_param_names_the_need_and_the_field(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match=r"redis/app is not a valid RedisNeed: eviction_policy"):
        synth(tmp_path, app=App({"eviction_policy": "sometimes"}))


def test_a_need_name_too_long_for_the_object_names_is_refused(tmp_path: Path) -> None:
    class Long(App):
        @hookimpl
        def ink_needs(self) -> list[NamedNeed]:
            return [NamedNeed(capability="redis", id="a" * 51)]

    with pytest.raises(PluginError, match=r"is not a valid RedisNeed: name: String should have at most 50"):
        synth(tmp_path, app=Long())


def test_a_bad_setting_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"plugins\.valkey\.cpu_request"):
        synth(tmp_path, '[plugins.valkey]\ncpu_request = "lots"\n')


def test_without_the_provider_a_required_need_is_an_error(tmp_path: Path) -> None:
    from ink.errors import ResolutionError

    with pytest.raises(ResolutionError, match=r"app needs redis \(redis/app\)"):
        testing.synth(tmp_path, plugins=["sealed-secrets"], extra={"app": App()})


def test_tls_output_matches_the_reviewed_snapshot(over_tls, snapshot) -> None:
    assert testing.snapshot_text(over_tls, ["app"]) == snapshot


def test_tls_output_validates(over_tls, ink_validator: ManifestValidator) -> None:
    report = ink_validator.validate_all(testing.objects(over_tls).items())
    assert report.problems == []
    assert report.skipped == {}


def test_without_a_tls_provider_the_store_stays_plain(default) -> None:
    objects = testing.objects(default)
    assert not any(o["kind"] == "Certificate" for o in objects.values())
    container = valkey_container(default)
    assert "--tls" not in container["readinessProbe"]["exec"]["command"][-1]
    app = objects["app/deployment-app.yaml"]["spec"]["template"]["spec"]
    assert "volumes" not in app  # no CA to mount


def test_with_a_tls_provider_the_store_serves_tls_from_the_internal_ca(tmp_path: Path) -> None:
    result, secrets = plain(tmp_path, plugins=("cert-manager",))
    objects = testing.objects(result)
    certificate = objects["app/certificate-app-redis-tls.yaml"]
    assert certificate["metadata"]["namespace"] == "app"
    assert certificate["spec"]["issuerRef"] == {
        "group": "cert-manager.io",
        "kind": "ClusterIssuer",
        "name": "ink-internal-ca",
    }
    assert certificate["spec"]["dnsNames"] == [
        "app-redis",
        "app-redis.app",
        "app-redis.app.svc",
        "app-redis.app.svc.cluster.local",
    ]
    assert "server auth" in certificate["spec"]["usages"]
    config = secrets.values["app/app-redis-config"]["valkey.conf"].splitlines()
    assert {
        "port 0",
        "tls-port 6379",
        "tls-cert-file /etc/valkey-tls/tls.crt",
        "tls-key-file /etc/valkey-tls/tls.key",
        "tls-ca-cert-file /etc/valkey-tls/ca.crt",
        "tls-auth-clients no",
        "tls-auto-reload-interval 3600",
    } <= set(config)
    assert "port 6379" not in config
    pod = deployment(result)["spec"]["template"]["spec"]
    tls_volume = next(v for v in pod["volumes"] if v["name"] == "tls")
    assert tls_volume["secret"]["secretName"] == "app-redis-tls"
    container = pod["containers"][0]
    assert {"name": "tls", "mountPath": "/etc/valkey-tls", "readOnly": True} in container["volumeMounts"]
    # The probes PING over TLS, checking the chain against the CA.
    probe = "valkey-cli --tls --cacert /etc/valkey-tls/ca.crt -p 6379 ping | grep -q PONG"
    assert container["readinessProbe"]["exec"]["command"][-1] == probe
    assert container["livenessProbe"]["exec"]["command"][-1] == probe
    password = secrets.values["app/app-redis"]["password"]
    assert secrets.values["app/app-redis"]["url"] == f"rediss://app:{password}@app-redis.app.svc:6379/0"
    assert secrets.values["app/app-redis"]["url_with_ca"] == (
        f"rediss://app:{password}@app-redis.app.svc:6379/0"
        "?ssl_ca_certs=/etc/ink/redis-ca/ca.crt&ssl_check_hostname=true"
    )
    # The consumer mounts the CA alone (not the server's key) where ca_file points.
    app = objects["app/deployment-app.yaml"]["spec"]["template"]["spec"]
    assert app["volumes"] == [
        {
            "name": "redis-ca",
            "secret": {
                "secretName": "app-redis-tls",
                "items": [{"key": "ca.crt", "path": "ca.crt"}],
                "defaultMode": 288,
            },
        }
    ]
    binding = result.graph.services["app"].bindings["redis/app"]
    assert (binding.tls, binding.ca_file, binding.transport) == (True, "/etc/ink/redis-ca/ca.crt", "tls")


def test_a_need_for_a_plain_connection_stays_plain_beside_a_tls_provider(tmp_path: Path) -> None:
    result, secrets = plain(tmp_path, plugins=("cert-manager",), app=App({"tls": False}))
    assert "port 6379" in secrets.values["app/app-redis-config"]["valkey.conf"].splitlines()
    assert secrets.values["app/app-redis"]["url"].startswith("redis://")
    assert secrets.values["app/app-redis"]["url_with_ca"] == secrets.values["app/app-redis"]["url"]
    assert "app/certificate-app-redis-tls.yaml" not in testing.objects(result)
    assert result.graph.services["app"].bindings["redis/app"].transport == "plain"


def test_an_image_older_than_9_1_gets_no_reload_directive_and_a_warning(tmp_path: Path) -> None:
    from ink_plugin_valkey.construct import reloads_tls

    assert [reloads_tls(t) for t in ("9.1.4", "9.1.3-alpine", "10.0.0", "9.0.8", "8.1", "unstable")] == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    # valkey-server refuses to start on a directive it does not know: 9.0 must not get it.
    result, secrets = plain(tmp_path, '[plugins.valkey]\nimage_tag = "9.0.8"\n', plugins=("cert-manager",))
    config = secrets.values["app/app-redis-config"]["valkey.conf"].splitlines()
    assert "tls-port 6379" in config
    assert not any(line.startswith("tls-auto-reload-interval") for line in config)
    assert any("'9.0.8' is older than 9.1" in w and "restart it after each renewal" in w for w in result.warnings)
