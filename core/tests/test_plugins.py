"""The plugin host and the graph: discovery, blocking, hook contracts and failures.

Fake plugins are in-process objects registered through ``extra``. Every failing synth must
leave the previous output exactly as it was.
"""

from __future__ import annotations

import base64
import importlib.metadata
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from pydantic import Field

import ink
from ink import run, synth, testing
from ink.cli import main
from ink.config import load_config
from ink.errors import ConfigError, PluginError, ResolutionError, UserError
from ink.models import (
    Capability,
    DatabaseBinding,
    DatabaseClaim,
    GeneratedSecret,
    Quantity,
    SecretBinding,
    SecretClaim,
    ServiceInfo,
)
from ink.plugins import make_plugin_host
from ink.settings import ContainerResources, ServiceSettings

INSTALLED = ["cloudnativepg", "sealed-secrets", "vaultwarden"]


# --- fake plugins ---------------------------------------------------------------------------


class App:
    """A minimal service: describes itself and emits one ConfigMap."""

    def __init__(
        self, name: str = "app", *, provides: tuple[Capability, ...] = (), object_namespace: str | None = None
    ) -> None:
        self.name = name
        self.provides = provides
        self.object_namespace = object_namespace

    @ink.hookimpl
    def ink_service_info(self) -> Any:
        return ServiceInfo(
            name=self.name,
            title=self.name.title(),
            version="1.0.0",
            homepage="https://example.org",
            provides=self.provides,
        )

    @ink.hookimpl
    def ink_workloads(self, scope: Any, ctx: Any) -> None:
        from ink import kube

        metadata = {"name": "settings"}
        if self.object_namespace:
            metadata["namespace"] = self.object_namespace
        kube.api_object(
            scope, "settings", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": {"a": "b"}}
        )


class Misspelt(App):
    @ink.hookimpl
    def ink_workload(self, scope: Any, ctx: Any) -> None:
        """A typo of ink_workloads."""


class NeedsDatabase(App):
    @ink.hookimpl
    def ink_database_claims(self) -> Any:
        return [DatabaseClaim(name=self.name)]


class NeedsToken(App):
    @ink.hookimpl
    def ink_secrets(self) -> Any:
        return [SecretClaim(name=f"{self.name}-token", data={"token": GeneratedSecret(id=f"{self.name}/token")})]


class FailingInfo(App):
    @ink.hookimpl
    def ink_service_info(self) -> Any:
        raise RuntimeError("cannot describe myself")


class FailingDeclare(App):
    @ink.hookimpl
    def ink_database_claims(self) -> Any:
        raise RuntimeError("cannot declare")


class FailingWorkloads(App):
    @ink.hookimpl
    def ink_workloads(self, scope: Any, ctx: Any) -> None:
        raise RuntimeError("cannot build")


class WrongDeclareType(App):
    @ink.hookimpl
    def ink_database_claims(self) -> Any:
        return ["app"]


class WrongInfoType(App):
    @ink.hookimpl
    def ink_service_info(self) -> Any:
        return {"name": self.name}


class NoInfo:
    @ink.hookimpl
    def ink_workloads(self, scope: Any, ctx: Any) -> None:
        """Builds nothing and never describes itself."""


class Database(App):
    """A database provider that answers with a proper binding."""

    def __init__(self, name: str = "db", **kwargs: Any) -> None:
        super().__init__(name, provides=(Capability.DATABASE,), **kwargs)

    @ink.hookimpl
    def ink_provide_database(self, claim: DatabaseClaim, ctx: Any) -> Any:
        ref = {"name": f"{claim.name}-db", "key": "password"}
        return DatabaseBinding(
            host="db", port=5432, database=claim.name, user=claim.name, password=ref, uri={**ref, "key": "uri"}
        )


class WrongProvideType(Database):
    @ink.hookimpl
    def ink_provide_database(self, claim: DatabaseClaim, ctx: Any) -> Any:
        return {"host": "db", "port": 5432}


class NothingProvided(Database):
    @ink.hookimpl
    def ink_provide_database(self, claim: DatabaseClaim, ctx: Any) -> Any:
        return None


class PlainSecrets(App):
    """A broken secrets provider: writes the values into a plain Secret."""

    def __init__(self, name: str = "plainsecrets", *, encode: bool = False) -> None:
        super().__init__(name, provides=(Capability.SECRETS,))
        self.encode = encode

    @ink.hookimpl
    def ink_provide_secret(self, secret: Any, scope: Any, ctx: Any) -> Any:
        from ink import kube

        if self.encode:
            body = {"data": {k: base64.b64encode(v.encode()).decode() for k, v in secret.data.items()}}
        else:
            body = {"stringData": dict(secret.data)}
        kube.api_object(
            scope,
            "secret",
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": secret.name, "namespace": secret.namespace},
                **body,
            },
        )
        return SecretBinding(name=secret.name, namespace=secret.namespace, keys=tuple(sorted(secret.data)))


# --- helpers --------------------------------------------------------------------------------


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def previous(tmp_path: Path) -> dict[str, bytes]:
    """A good output in tmp_path/dist, written by a successful synth; returns its bytes."""
    testing.synth(tmp_path, plugins=[], extra={"app": App()})
    before = tree(tmp_path / "dist")
    assert "app/configmap-settings.yaml" in before
    return before


def assert_untouched(tmp_path: Path, before: dict[str, bytes]) -> None:
    assert tree(tmp_path / "dist") == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".dist.new-")] == []


def failing_synth(tmp_path: Path, error: type[Exception], extra: dict[str, object], **kwargs: Any) -> str:
    with pytest.raises(error) as info:
        testing.synth(tmp_path, extra=extra, **{"plugins": [], **kwargs})
    message = str(info.value)
    assert "\n" not in message
    return message


def cli_synth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: dict[str, object], *flags: str) -> Result:
    """``ink synth`` through click, in-process, with only the ``extra`` plugins installed."""
    config = testing.prepare(tmp_path)
    monkeypatch.setattr(run, "make_plugin_host", lambda **_: testing.host([], extra))
    return CliRunner().invoke(main, [*flags, "synth", "--config", str(config), "--out", str(tmp_path / "dist")])


# --- discovery ------------------------------------------------------------------------------


def test_installed_plugins_are_discovered_through_entry_points() -> None:
    host = make_plugin_host(environ={})
    assert set(INSTALLED) <= set(host.names)
    assert host.names == sorted(host.names)
    for name in INSTALLED:
        dist = host.dists[name]
        assert dist.distribution == f"ink-plugin-{name}"
        assert dist.version == importlib.metadata.version(f"ink-plugin-{name}")


def test_disable_plugins_blocks_one() -> None:
    host = make_plugin_host(environ={"INK_DISABLE_PLUGINS": "vaultwarden, "})
    assert "vaultwarden" not in host.names
    assert {"cloudnativepg", "sealed-secrets"} <= set(host.names)


@pytest.mark.parametrize("variable", ["INK_DISABLE_PLUGINS", "INK_LOAD_PLUGINS"])
def test_an_unknown_plugin_name_in_the_environment_is_refused(variable: str) -> None:
    # A typo would silently load (or keep) the wrong services: INK_LOAD_PLUGINS=valtwarden loads none.
    with pytest.raises(UserError) as info:
        make_plugin_host(environ={variable: "vaultwarden,valtwarden"})
    message = str(info.value)
    assert message.startswith(f"environment variable {variable}: no installed plugin named 'valtwarden'")
    assert "(did you mean 'vaultwarden'?)" in message


def test_an_in_process_plugin_is_a_known_name() -> None:
    host = make_plugin_host(load_entrypoints=False, extra={"app": object()}, environ={"INK_LOAD_PLUGINS": "app"})
    assert host.names == ["app"]


def test_disable_plugins_from_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INK_DISABLE_PLUGINS", "sealed-secrets")
    names = make_plugin_host().names
    assert "sealed-secrets" not in names
    assert {"cloudnativepg", "vaultwarden"} <= set(names)


def test_disable_plugins_also_blocks_extras() -> None:
    host = make_plugin_host(load_entrypoints=False, extra={"app": App()}, environ={"INK_DISABLE_PLUGINS": "app"})
    assert host.names == []


def test_load_plugins_allowlist() -> None:
    assert make_plugin_host(environ={"INK_LOAD_PLUGINS": "vaultwarden,cloudnativepg"}).names == [
        "cloudnativepg",
        "vaultwarden",
    ]
    assert make_plugin_host(environ={"INK_LOAD_PLUGINS": ""}).names == []
    assert testing.host(["sealed-secrets"], {"app": App()}).names == ["app", "sealed-secrets"]


def test_entry_point_that_cannot_be_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = importlib.metadata.EntryPoint("broken", "ink_plugin_that_does_not_exist", "ink")
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [broken])
    with pytest.raises(PluginError) as info:
        make_plugin_host(environ={})
    assert info.value.plugin == "broken"
    assert info.value.hook == "load"
    assert "ink_plugin_that_does_not_exist" in str(info.value)


def test_misspelt_hook_fails_at_load(tmp_path: Path, previous: dict[str, bytes]) -> None:
    with pytest.raises(PluginError) as info:
        testing.synth(tmp_path, plugins=[], extra={"typo": Misspelt("typo")})
    assert info.value.plugin == "typo"
    assert info.value.hook == "load"
    assert "ink_workload" in str(info.value)
    assert_untouched(tmp_path, previous)


def test_trace_logs_every_hook_call(capsys: pytest.CaptureFixture[str]) -> None:
    host = make_plugin_host(load_entrypoints=False, extra={"app": App()}, environ={"INK_TRACE_PLUGINS": "1"})
    host.call("app", "ink_service_info")
    assert "ink: calling app.ink_service_info()" in capsys.readouterr().err


# --- resolution -----------------------------------------------------------------------------


def test_need_without_provider(tmp_path: Path, previous: dict[str, bytes]) -> None:
    message = failing_synth(tmp_path, ResolutionError, {"app": NeedsDatabase()})
    assert "app needs database" in message
    assert_untouched(tmp_path, previous)


def test_need_without_provider_through_the_cli(
    tmp_path: Path, previous: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = cli_synth(tmp_path, monkeypatch, {"app": NeedsDatabase()})
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "app needs database" in lines[0]
    assert_untouched(tmp_path, previous)


def test_secret_without_secrets_provider(tmp_path: Path, previous: dict[str, bytes]) -> None:
    message = failing_synth(tmp_path, ResolutionError, {"app": NeedsToken()})
    assert "app needs secrets" in message
    assert_untouched(tmp_path, previous)


def test_two_providers_of_one_capability(tmp_path: Path, previous: dict[str, bytes]) -> None:
    message = failing_synth(tmp_path, ResolutionError, {"mydb": Database("mydb")}, plugins=["cloudnativepg"])
    assert "database" in message
    assert "'cloudnativepg'" in message
    assert "'mydb'" in message
    assert_untouched(tmp_path, previous)


def test_resolved_need_reaches_the_consumer(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, plugins=[], extra={"app": NeedsDatabase(), "db": Database()})
    files = [p for p in result.files if "/networkpolicy-" not in p]  # core's NetworkPolicies: tests/test_netpol.py
    assert sorted(p.split("/")[0] for p in files) == ["app", "app", "db", "db"]


# --- plugins that misbehave -----------------------------------------------------------------

RAISING = {
    "ink_service_info": FailingInfo,
    "ink_database_claims": FailingDeclare,
    "ink_workloads": FailingWorkloads,
}


@pytest.mark.parametrize("hook", RAISING)
def test_plugin_that_raises_is_named_with_its_hook(tmp_path: Path, previous: dict[str, bytes], hook: str) -> None:
    extra: dict[str, object] = {"bad": RAISING[hook]("bad")}
    if hook == "ink_database_claims":
        extra["db"] = Database()
    with pytest.raises(PluginError) as info:
        testing.synth(tmp_path, plugins=[], extra=extra)
    assert info.value.plugin == "bad"
    assert info.value.hook == hook
    assert "RuntimeError: cannot" in str(info.value)
    assert isinstance(info.value.__cause__, RuntimeError)
    assert_untouched(tmp_path, previous)


@pytest.mark.parametrize("hook", RAISING)
def test_plugin_failure_through_the_cli_has_no_traceback(
    tmp_path: Path, previous: dict[str, bytes], monkeypatch: pytest.MonkeyPatch, hook: str
) -> None:
    result = cli_synth(tmp_path, monkeypatch, {"bad": RAISING[hook]("bad"), "db": Database()})
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: plugin 'bad' failed in hook {hook}: RuntimeError: cannot ")
    assert_untouched(tmp_path, previous)


def test_debug_lets_the_traceback_through(
    tmp_path: Path, previous: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = cli_synth(tmp_path, monkeypatch, {"bad": FailingWorkloads("bad")}, "--debug")
    assert result.exit_code == 1
    assert isinstance(result.exception, PluginError)
    assert isinstance(result.exception.__cause__, RuntimeError)
    assert result.exc_info is not None
    assert_untouched(tmp_path, previous)


def test_wrong_type_from_service_info(tmp_path: Path, previous: dict[str, bytes]) -> None:
    message = failing_synth(tmp_path, PluginError, {"bad": WrongInfoType("bad")})
    assert message.startswith("plugin 'bad' failed in hook ink_service_info: returned dict, expected ServiceInfo")
    assert_untouched(tmp_path, previous)


def test_missing_service_info(tmp_path: Path, previous: dict[str, bytes]) -> None:
    message = failing_synth(tmp_path, PluginError, {"bad": NoInfo()})
    assert message.startswith("plugin 'bad' failed in hook ink_service_info: not implemented")
    assert_untouched(tmp_path, previous)


def test_wrong_type_from_declare_hook(tmp_path: Path, previous: dict[str, bytes]) -> None:
    message = failing_synth(tmp_path, PluginError, {"bad": WrongDeclareType("bad"), "db": Database()})
    assert message.startswith("plugin 'bad' failed in hook ink_database_claims: must return a list of DatabaseClaim")
    assert_untouched(tmp_path, previous)


def test_wrong_type_from_provide_hook(tmp_path: Path, previous: dict[str, bytes]) -> None:
    message = failing_synth(tmp_path, PluginError, {"consumer": NeedsDatabase("consumer"), "db": WrongProvideType()})
    assert message.startswith(
        "plugin 'db' failed in hook ink_provide_database: returned dict, expected DatabaseBinding"
    )
    assert_untouched(tmp_path, previous)


def test_provide_hook_returning_nothing(tmp_path: Path, previous: dict[str, bytes]) -> None:
    message = failing_synth(tmp_path, PluginError, {"consumer": NeedsDatabase("consumer"), "db": NothingProvided()})
    assert message.startswith("plugin 'db' failed in hook ink_provide_database: provides database but returned nothing")
    assert "consumer" in message
    assert_untouched(tmp_path, previous)


def test_service_info_name_must_equal_registration_name(tmp_path: Path, previous: dict[str, bytes]) -> None:
    message = failing_synth(tmp_path, PluginError, {"other": App("app")})
    assert message.startswith("plugin 'other' failed in hook ink_service_info:")
    assert "'app'" in message
    assert_untouched(tmp_path, previous)


def test_same_object_from_two_plugins(tmp_path: Path, previous: dict[str, bytes]) -> None:
    extra: dict[str, object] = {
        "one": App("one", object_namespace="shared"),
        "two": App("two", object_namespace="shared"),
    }
    message = failing_synth(tmp_path, PluginError, extra)
    assert "ConfigMap shared/settings" in message
    assert "'one'" in message
    assert "'two'" in message
    assert_untouched(tmp_path, previous)


# --- secrets must never reach the output in plain text ---------------------------------------


@pytest.mark.parametrize("encode", [False, True], ids=["plain", "base64"])
def test_leaked_secret_fails_the_synth(tmp_path: Path, previous: dict[str, bytes], encode: bool) -> None:
    extra: dict[str, object] = {"app": NeedsToken(), "plainsecrets": PlainSecrets(encode=encode)}
    message = failing_synth(tmp_path, PluginError, extra)
    assert "app/secret-app-token.yaml contains a generated secret" in message
    assert ("base64-encoded" if encode else "in plain text") in message
    assert_untouched(tmp_path, previous)


def test_leak_is_blamed_on_the_plugin_that_built_the_object(tmp_path: Path) -> None:
    # The Secret lands in app's folder, but plainsecrets wrote it, in ink_provide_secret.
    with pytest.raises(PluginError) as info:
        testing.synth(tmp_path, plugins=[], extra={"app": NeedsToken(), "plainsecrets": PlainSecrets()})
    assert info.value.plugin == "plainsecrets"
    assert info.value.hook == "ink_provide_secret"


# --- what plugin authors get wrong (issue #9, category 8) ----------------------------------------


class KeyErrorInWorkloads(App):
    @ink.hookimpl
    def ink_workloads(self, scope: Any, ctx: Any) -> None:
        images: dict[str, str] = {}
        images["image"]


def test_a_plugin_exception_names_the_file_and_line_and_the_debug_hint(
    tmp_path: Path, previous: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = cli_synth(tmp_path, monkeypatch, {"bad": KeyErrorInWorkloads("bad")})
    assert result.exit_code == 1, result.output
    (line,) = result.stderr.strip().splitlines()
    line_number = KeyErrorInWorkloads.ink_workloads.__code__.co_firstlineno + 3
    assert line == (
        f"error: plugin 'bad' failed in hook ink_workloads: KeyError: 'image' at test_plugins.py:{line_number} "
        "(run with --debug for the traceback)"
    )
    assert_untouched(tmp_path, previous)


class BadDefaultSettings(ServiceSettings):
    storage_size: Quantity | None = "lots"  # the plugin author's mistake: never a valid quantity


class BadDefault(App):
    @ink.hookimpl
    def ink_service_info(self) -> Any:
        return ServiceInfo(
            name=self.name,
            title="Bad",
            version="1.0.0",
            homepage="https://example.org",
            settings_model=BadDefaultSettings,
        )


def test_an_invalid_default_in_a_settings_model_is_the_plugins_bug(tmp_path: Path, previous: dict[str, bytes]) -> None:
    message = failing_synth(tmp_path, PluginError, {"bad": BadDefault("bad")})
    assert message.startswith("plugin 'bad' failed in hook settings model: the default of storage_size is invalid")
    assert_untouched(tmp_path, previous)


class BigResourcesSettings(ServiceSettings):
    resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="500m", memory_request="1Gi", memory_limit="4Gi")
    )


class BigResources(App):
    @ink.hookimpl
    def ink_service_info(self) -> Any:
        return ServiceInfo(
            name=self.name,
            title="Big",
            version="1.0.0",
            homepage="https://example.org",
            settings_model=BigResourcesSettings,
        )


def test_a_partial_resources_table_keeps_the_plugins_other_defaults(tmp_path: Path) -> None:
    # Only memory_request set: the plugin's 4Gi limit stays (it used to fall back to the base's 512Mi and fail).
    config = '[plugins.big.resources]\nmemory_request = "2Gi"\n'
    config_path = testing.prepare(tmp_path, config)
    services = synth.describe(load_config(config_path), testing.host([], {"big": BigResources("big")}))
    resources = services["big"].settings.resources
    assert (resources.cpu_request, resources.memory_request, resources.memory_limit) == ("500m", "2Gi", "4Gi")


def test_every_plugin_table_problem_is_reported(tmp_path: Path) -> None:
    config = '[plugins.big]\nreplicas = -1\nhostname = "Big"\n\n[plugins.app]\nreplica = 2\n'
    message = failing_synth(
        tmp_path, ConfigError, {"big": BigResources("big"), "app": App()}, validate=False, config=config
    )
    assert "plugins.app.replica: unknown key" in message
    assert "also " in message
    assert "plugins.big.replicas" in message and "plugins.big.hostname" in message


def test_a_broken_installed_plugin_is_listed_and_the_rest_still_described(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.metadata.entry_points
    broken = importlib.metadata.EntryPoint("broken", "ink_plugin_that_does_not_exist", "ink")
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [*real(group=group), broken])
    monkeypatch.chdir(tmp_path)
    listing = CliRunner().invoke(main, ["plugins"])
    assert listing.exit_code == 0, listing.output
    row = next(line for line in listing.stdout.splitlines() if line.startswith("broken\t"))
    assert "BROKEN: cannot import ink_plugin_that_does_not_exist: ModuleNotFoundError" in row
    assert "vaultwarden\tink-plugin-vaultwarden" in listing.stdout
    schema = CliRunner().invoke(main, ["schema"])
    assert schema.exit_code == 0, schema.output
    assert "vaultwarden" in json.loads(schema.stdout)["properties"]["plugins"]["properties"]
    assert "warning: left out of the schema: plugin 'broken' failed in hook load" in schema.stderr
    # A synth must not leave the broken service out (that would remove it from the output): it fails.
    testing.prepare(tmp_path)
    failed = CliRunner().invoke(main, ["synth", "--out", str(tmp_path / "dist")])
    assert failed.exit_code == 1
    assert failed.stderr.startswith("error: plugin 'broken' failed in hook load: cannot import")
    assert not (tmp_path / "dist").exists()


def test_a_plugin_that_cannot_describe_itself_is_listed_as_broken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(run, "make_plugin_host", lambda **kw: make_plugin_host(extra={"bad": FailingInfo("bad")}, **kw))
    listing = CliRunner().invoke(main, ["plugins"])
    assert listing.exit_code == 0, listing.output
    assert "bad\t\t\tBROKEN: RuntimeError: cannot" in listing.stdout
    assert "vaultwarden\tink-plugin-vaultwarden" in listing.stdout
