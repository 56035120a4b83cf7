"""A broken plugin is reported by name and hook, whatever hook it breaks in, and nothing is written."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from ink import hookimpl, hookspecs, testing
from ink.errors import PluginError, ResolutionError, ValidationFailed
from ink.models import (
    AuthClient,
    BackupTarget,
    BucketClaim,
    Capability,
    CertificateClaim,
    DatabaseClaim,
    GeneratedSecret,
    MetricsTarget,
    Route,
    SecretClaim,
    ServiceInfo,
)

HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("ink_"))
ALL = tuple(Capability)


class Consumer:
    """Needs one of everything, so every provide hook is called."""

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="consumer", title="Consumer", version="1.0.0", homepage="https://example.org")

    @hookimpl
    def ink_ingress_routes(self) -> list[Route]:
        return [Route(host="consumer", service="consumer", port=80)]

    @hookimpl
    def ink_auth_clients(self) -> list[AuthClient]:
        return [AuthClient(kind="oidc", host="consumer", redirect_paths=("/cb",))]

    @hookimpl
    def ink_database_claims(self) -> list[DatabaseClaim]:
        return [DatabaseClaim(name="consumer")]

    @hookimpl
    def ink_bucket_claims(self) -> list[BucketClaim]:
        return [BucketClaim(bucket="consumer")]

    @hookimpl
    def ink_certificate_claims(self) -> list[CertificateClaim]:
        return [CertificateClaim(name="consumer-tls", dns_names=("consumer.example.com",))]

    @hookimpl
    def ink_backup_targets(self) -> list[BackupTarget]:
        return [BackupTarget(volume="consumer-data")]

    @hookimpl
    def ink_secrets(self) -> list[SecretClaim]:
        return [SecretClaim(name="consumer-key", data={"key": GeneratedSecret(id="consumer/key")})]

    @hookimpl
    def ink_metrics_targets(self) -> list[MetricsTarget]:
        return [MetricsTarget(pods={"app": "consumer"}, port=9090)]


def broken(hook: str) -> object:
    """A stand-in provider of every capability whose ``hook`` raises."""

    def explode(self, **kwargs: object) -> None:
        raise RuntimeError(f"boom in {hook}")

    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    explode.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    cls = type("Broken", (testing.StandIn,), {hook: hookimpl(explode)})
    return cls("broken", *ALL)


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def previous(tmp_path: Path) -> dict[str, bytes]:
    testing.synth(tmp_path, plugins=[], extra={"broken": testing.StandIn("broken", *ALL), "consumer": Consumer()})
    return tree(tmp_path / "dist")


@pytest.mark.parametrize("hook", HOOKS)
def test_a_plugin_raising_in_any_hook_is_named_with_the_hook(
    hook: str, tmp_path: Path, previous: dict[str, bytes]
) -> None:
    with pytest.raises(PluginError) as raised:
        testing.synth(tmp_path, plugins=[], extra={"broken": broken(hook), "consumer": Consumer()})
    assert raised.value.plugin == "broken"
    assert raised.value.hook == hook
    assert f"boom in {hook}" in str(raised.value)
    assert tree(tmp_path / "dist") == previous
    assert not list(tmp_path.glob(".dist.new-*"))


class InvalidObject(testing.StandIn):
    """Emits a Deployment with a misspelt field: the schema check must name this plugin."""

    @hookimpl
    def ink_workloads(self, scope, ctx) -> None:
        from ink import kube

        kube.api_object(
            scope,
            "bad",
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bad"}, "spec": {"replica": 1}},
        )


def test_an_object_that_fails_validation_names_its_plugin(tmp_path: Path, previous: dict[str, bytes]) -> None:
    with pytest.raises(ValidationFailed) as raised:
        testing.synth(tmp_path, plugins=[], extra={"broken": InvalidObject("broken", *ALL), "consumer": Consumer()})
    assert any(
        p.startswith("plugin 'broken' (ink_workloads): broken/deployment-bad.yaml") for p in raised.value.problems
    )
    assert any("'replica' was unexpected" in p for p in raised.value.problems)
    assert tree(tmp_path / "dist") == previous


class HostnameThief:
    """Routes the consumer's hostname."""

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="thief", title="Thief", version="1.0.0", homepage="https://example.org")

    @hookimpl
    def ink_ingress_routes(self) -> list[Route]:
        return [Route(host="consumer", service="thief", port=80)]


def test_a_plugin_claiming_another_services_hostname(tmp_path: Path, previous: dict[str, bytes]) -> None:
    extra = {"broken": testing.StandIn("broken", *ALL), "consumer": Consumer(), "thief": HostnameThief()}
    with pytest.raises(ResolutionError, match="'consumer' and 'thief' both route the hostname 'consumer'"):
        testing.synth(tmp_path, plugins=[], extra=extra)
    assert tree(tmp_path / "dist") == previous


class SecretThief:
    """Declares a secret in another service's namespace."""

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="thief", title="Thief", version="1.0.0", homepage="https://example.org")

    @hookimpl
    def ink_secrets(self) -> list[SecretClaim]:
        return [SecretClaim(name="consumer-key", namespace="consumer", data={"key": "x"})]


def test_a_plugin_declaring_for_another_service(tmp_path: Path, previous: dict[str, bytes]) -> None:
    extra = {"broken": testing.StandIn("broken", *ALL), "consumer": Consumer(), "thief": SecretThief()}
    with pytest.raises(PluginError) as raised:
        testing.synth(tmp_path, plugins=[], extra=extra)
    assert (raised.value.plugin, raised.value.hook) == ("thief", "ink_secrets")
    assert tree(tmp_path / "dist") == previous
