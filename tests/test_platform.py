"""The embedded default homelab with every plugin installed: everything wired, everything valid.

One synth of the whole tree (no ink.toml), plus a small forward-auth app, followed from each
declaration to the objects on both sides.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from ink import hookimpl, run, sealing, testing
from ink.models import AuthClient, DatabaseClaim, Route, ServiceInfo
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator


class Wiki:
    """A service without native OIDC: single sign-on through forward-auth in front of its route."""

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="wiki", title="Wiki", version="1.0.0", homepage="https://example.org")

    @hookimpl
    def ink_ingress_routes(self) -> list[Route]:
        return [Route(host="wiki", service="wiki", port=80, public=True)]

    @hookimpl
    def ink_auth_clients(self) -> list[AuthClient]:
        return [AuthClient(kind="forward-auth", host="wiki")]


@pytest.fixture(scope="module")
def homelab(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, run.SynthResult]:
    directory = tmp_path_factory.mktemp("homelab")
    return directory, testing.synth(directory, extra={"wiki": Wiki()})


@pytest.fixture(scope="module")
def objects(homelab) -> dict[str, dict[str, Any]]:
    return testing.objects(homelab[1])


def unseal(directory: Path, sealed: dict[str, Any], key: str) -> str:
    private = serialization.load_pem_private_key((directory / ".ink" / sealing.DEV_KEY_NAME).read_bytes(), None)
    meta = sealed["metadata"]
    value = sealed["spec"]["encryptedData"][key]
    return sealing.unseal_value(private, namespace=meta["namespace"], name=meta["name"], ciphertext=value).decode()


def container_env(objects: dict[str, dict[str, Any]], path: str) -> dict[str, Any]:
    container = objects[path]["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_every_installed_plugin_is_in_the_output(homelab) -> None:
    folders = {path.split("/")[0] for path in homelab[1].files}
    host = make_plugin_host(environ={})
    # Off by default only where it cannot work unconfigured (smtp needs the user's mail account, coturn the
    # address it advertises, vault a manual init), is the alternative to a default (external-secrets: the secrets
    # provider instead of sealed-secrets, which stays the default), or is opt-in by design (istio: privileged
    # node agents, and it changes every meshed namespace's NetworkPolicies; plugins/istio/README.md; kasm: its
    # sessions run on Kasm Agents outside the cluster, which the user installs first; plugins/kasm/README.md).
    off = {name for name in host.names if not _enabled_by_default(host.call(name, "ink_service_info"))}
    assert off == {"smtp", "coturn", "vault", "external-secrets", "istio", "kasm"}
    # _cluster/ holds the k3s configuration fragment (ink.cluster), not a service.
    assert folders == ({*host.names, "wiki"} - off) | {"_cluster"}


def _enabled_by_default(info: ServiceInfo) -> bool:
    field = info.settings_model.model_fields.get("enabled") if info.settings_model else None
    return field is None or field.default is not False


def test_everything_validates(objects, crd_dir: Path) -> None:
    # Strict: shared/crds has a schema for every kind the homelab emits (TLSStore and BackupTarget since 2026-08).
    report = ManifestValidator("1.33", [crd_dir]).validate_all(objects.items())
    assert [str(p) for p in report.problems] == []
    assert report.checked == len(objects)


def test_names_are_stable_and_readable(objects) -> None:
    for body in objects.values():
        assert not re.search(r"-c8[0-9a-f]{6,}$", body["metadata"]["name"])
        labels = body["metadata"]["labels"]
        for key in ("name", "instance", "version", "part-of", "managed-by"):
            assert f"app.kubernetes.io/{key}" in labels


def test_application_names_are_unique_and_every_service_has_one(objects) -> None:
    apps = [o["metadata"]["name"] for o in objects.values() if o["kind"] == "Application"]
    assert len(apps) == len(set(apps))
    services = {path.split("/")[0] for path in objects} - {"argocd"}
    assert services <= set(apps)


def test_every_route_has_tls_from_the_wildcard_certificate(objects) -> None:
    routes = [o for o in objects.values() if o["kind"] == "IngressRoute"]
    assert {r["metadata"]["namespace"] for r in routes} >= {"vaultwarden", "authentik", "wiki"}
    for route in routes:
        assert route["spec"]["tls"] == {}, "served by the default TLSStore"
    store = objects["traefik/tlsstore-default.yaml"]
    certificate = objects["traefik/certificate-wildcard-tls.yaml"]
    assert store["spec"]["defaultCertificate"]["secretName"] == certificate["spec"]["secretName"]
    assert certificate["spec"]["dnsNames"] == ["example.com", "*.example.com"]
    issuer = objects["cert-manager/clusterissuer-letsencrypt.yaml"]
    assert certificate["spec"]["issuerRef"]["name"] == issuer["metadata"]["name"]


def test_database_claim_to_role_database_secret_and_env(homelab, objects) -> None:
    directory, _ = homelab
    for service in ("vaultwarden", "authentik"):
        role = objects[f"cloudnativepg/sealedsecret-postgres-ha-role-{service}.yaml"]
        database = objects[f"cloudnativepg/database-postgres-ha-{service}.yaml"]
        assert database["spec"]["owner"] == service
        app_secret = objects[f"{service}/sealedsecret-{service}-db.yaml"]
        password = unseal(directory, role, "password")
        assert unseal(directory, app_secret, "password") == password
    cluster_roles = {r["name"] for r in objects["cloudnativepg/cluster-postgres-ha.yaml"]["spec"]["managed"]["roles"]}
    # One managed role per database claim in the homelab, nothing else.
    claims = {n.name for n in homelab[1].graph.needs if isinstance(n, DatabaseClaim)}
    assert {"vaultwarden", "authentik", "gitea", "coder"} <= claims
    assert cluster_roles == claims
    env = container_env(objects, "vaultwarden/deployment-vaultwarden.yaml")
    assert env["DATABASE_URL"] == {"secretKeyRef": {"name": "vaultwarden-db", "key": "uri"}}


def test_oidc_client_both_sides(homelab, objects) -> None:
    directory, _ = homelab
    env = container_env(objects, "vaultwarden/deployment-vaultwarden.yaml")
    assert env["SSO_AUTHORITY"] == "https://auth.example.com/application/o/vaultwarden/"
    assert env["SSO_CLIENT_SECRET"] == {"secretKeyRef": {"name": "vaultwarden-oidc", "key": "client-secret"}}
    app_side = unseal(directory, objects["vaultwarden/sealedsecret-vaultwarden-oidc.yaml"], "client-secret")
    idp_side = unseal(directory, objects["authentik/sealedsecret-authentik-oidc-vaultwarden.yaml"], "client-secret")
    assert app_side == idp_side
    blueprint = _blueprint(objects)
    providers = {e["identifiers"]["name"]: e for e in blueprint["entries"] if e["model"].endswith("oauth2provider")}
    vault = providers["vaultwarden"]["attrs"]
    assert vault["client_id"] == "vaultwarden"
    assert [u["url"] for u in vault["redirect_uris"]] == ["https://vault.example.com/identity/connect/oidc-signin"]


def test_forward_auth_both_sides(homelab, objects) -> None:
    route = objects["wiki/ingressroute-wiki.yaml"]
    middleware = objects["wiki/middleware-wiki-forward-auth.yaml"]
    app_rule = next(r for r in route["spec"]["routes"] if r.get("middlewares"))
    assert app_rule["middlewares"] == [{"name": middleware["metadata"]["name"]}]
    assert middleware["spec"]["forwardAuth"]["address"].endswith("/outpost.goauthentik.io/auth/traefik")
    outpost_rule = next(r for r in route["spec"]["routes"] if "outpost.goauthentik.io" in r["match"])
    assert outpost_rule["services"][0]["namespace"] == "authentik"
    blueprint = _blueprint(objects)
    proxies = [e for e in blueprint["entries"] if e["model"].endswith("proxyprovider")]
    # One proxy provider per forward-auth client of the homelab (this test's wiki among them), nothing else.
    clients = [n for n in homelab[1].graph.needs if isinstance(n, AuthClient) and n.kind == "forward-auth"]
    assert {"wiki", "meet", "search"} <= {c.host for c in clients}
    assert sorted(p["attrs"]["external_host"] for p in proxies) == sorted(
        f"https://{c.host}.example.com" for c in clients
    )
    outpost = next(e for e in blueprint["entries"] if e["model"] == "authentik_outposts.outpost")
    assert len(outpost["attrs"]["providers"]) == len(proxies)


def test_public_route_goes_through_the_tunnel(objects) -> None:
    config = yaml.safe_load(objects["cloudflared/configmap-cloudflared.yaml"]["data"]["config.yaml"])
    assert config["ingress"][0]["hostname"] == "wiki.example.com"
    assert config["ingress"][-1] == {"service": "http_status:404"}


def test_every_stateful_thing_is_backed_up_or_exempt(homelab) -> None:
    directory, _ = homelab
    rows = run.backup_report(directory / "ink.toml", host=testing.host(extra={"wiki": Wiki()}))
    kinds = {(row.kind, row.service) for row in rows}
    assert {("database", "vaultwarden"), ("database", "authentik"), ("volume", "vaultwarden")} <= kinds
    for row in rows:
        assert row.covered_by, f"{row.kind} {row.name} of {row.service} is not covered by any backup"
    vaultwarden = next(r for r in rows if r.kind == "volume" and r.service == "vaultwarden")
    assert (vaultwarden.covered_by, vaultwarden.schedule, vaultwarden.retention) == ("velero", "0 3 * * *", "720h")
    # Velero's weekly drill of the namespace: the drilled namespaces (a pod volume target each) take turns in name
    # order, each one drill_spacing (30 minutes) after the one before, from the drill_schedule (Sundays 05:00).
    drilled = sorted({r.service for r in rows if r.kind == "volume" and r.covered_by == "velero" and r.drill})
    assert {"gitea", "rocketchat", "vaultwarden"} <= set(drilled)
    start = 5 * 60 + 30 * drilled.index("vaultwarden")
    expected = f"{start % 60} {start // 60} * * 0, result in ConfigMap velero/drill-vaultwarden-result"
    assert vaultwarden.drill == expected
    database = next(r for r in rows if r.kind == "database" and r.service == "vaultwarden")
    assert database.drill == "0 4 * * 0, result in ConfigMap cloudnativepg/postgres-ha-drill-result"
    schedule = next(o for p, o in testing.objects(homelab[1]).items() if p.startswith("velero/schedule-"))
    assert schedule["spec"]["schedule"] == "0 3 * * *"
    assert schedule["spec"]["template"]["ttl"] == "720h"


def test_providers_deploy_before_their_consumers(objects) -> None:
    waves = {
        o["metadata"]["name"]: int(o["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])
        for path, o in objects.items()
        if path.startswith("argocd/application-") and o["spec"].get("source", {}).get("path")
    }
    assert waves["sealed-secrets"] < waves["cloudnativepg"] < waves["authentik"] < waves["vaultwarden"]
    assert waves["cert-manager"] < waves["traefik"] < waves["vaultwarden"]
    assert waves["minio"] < waves["velero"]


def _blueprint(objects: dict[str, dict[str, Any]]) -> dict[str, Any]:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    text = next(iter(objects["authentik/configmap-authentik-ink-blueprints.yaml"]["data"].values()))
    return yaml.load(text, Loader=Loader)  # a SafeLoader subclass that ignores authentik's tags


def test_ink_plugins_says_a_provider_is_disabled_rather_than_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """smtp is installed but off by default: its consumers' need is unmet because of that, not for lack of a plugin."""
    monkeypatch.chdir(tmp_path)
    plugins, capabilities = run.plugin_tables(None)
    assert {row[0]: row for row in capabilities}["smtp"][2] == "(no provider: smtp is disabled)"
    assert "smtp (no provider: smtp is disabled)" in {row[0]: row for row in plugins}["vaultwarden"][5]
    assert {row[0]: row for row in capabilities}["database"][2] == "cloudnativepg"
