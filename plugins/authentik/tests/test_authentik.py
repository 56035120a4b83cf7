"""authentik: discovery, the reviewed output, the chart values, and both kinds of single sign-on client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from ink import hookimpl, sealing, testing
from ink.context import ServiceContext
from ink.errors import ConfigError
from ink.models import AuthBinding, AuthClient, Capability, Route, RouteBinding, ServiceInfo
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator

PLUGINS = ["authentik", "cloudnativepg", "sealed-secrets"]
APP = "authentik/application-authentik-chart.yaml"
BLUEPRINTS = "authentik/configmap-authentik-ink-blueprints.yaml"
BUILT_IN = "goauthentik.io/providers/oauth2"  # managed ids of the scope mappings authentik ships
FORWARD_AUTH_HEADERS = [
    "X-authentik-username",
    "X-authentik-groups",
    "X-authentik-entitlements",
    "X-authentik-email",
    "X-authentik-name",
    "X-authentik-uid",
    "X-authentik-jwt",
    "X-authentik-meta-jwks",
    "X-authentik-meta-outpost",
    "X-authentik-meta-provider",
    "X-authentik-meta-app",
    "X-authentik-meta-version",
]


class Ingress(testing.StandIn):
    """A stand-in ingress provider: answers routes with their URL and emits nothing."""

    def __init__(self) -> None:
        super().__init__("ingress", Capability.INGRESS)


class Consumer:
    """A service with a route and one single sign-on client; it keeps the auth binding it got."""

    def __init__(self, name: str, client: AuthClient) -> None:
        self.name = name
        self.client = client
        self.bindings: dict[str, AuthBinding] = {}

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(
            name=self.name, title=self.name.capitalize(), version="1.0.0", homepage="https://example.org"
        )

    @hookimpl
    def ink_ingress_routes(self) -> list[Route]:
        return [Route(host=self.client.host, service=self.name, port=80)]

    @hookimpl
    def ink_auth_clients(self) -> list[AuthClient]:
        return [self.client]

    @hookimpl
    def ink_workloads(self, ctx: ServiceContext) -> None:
        self.bindings[self.client.host] = ctx.auth(self.client.host)


def consumers() -> dict[str, Any]:
    return {
        "ingress": Ingress(),
        "notes": Consumer("notes", AuthClient(kind="oidc", host="notes", redirect_paths=("/oauth/callback",))),
        "whoami": Consumer("whoami", AuthClient(kind="forward-auth", host="whoami")),
    }


def synth(directory: Path, config: str = "", extra: dict[str, Any] | None = None):
    return testing.synth(directory, config, plugins=PLUGINS, extra=extra if extra is not None else consumers())


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("authentik")
    extra = consumers()
    return directory, synth(directory, extra=extra), extra


class _IgnoreTags(yaml.SafeLoader):
    """Reads authentik's custom tags as {"!Tag": value}, so the blueprint can be inspected."""


def _tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.SequenceNode):
        return {f"!{suffix}": loader.construct_sequence(node, deep=True)}
    return {f"!{suffix}": loader.construct_scalar(node)}  # type: ignore[arg-type]


_IgnoreTags.add_multi_constructor("!", _tagged)


def blueprint(result) -> dict[str, Any]:
    data = testing.objects(result)[BLUEPRINTS]["data"]
    assert list(data) == ["ink-clients.yaml"]
    return yaml.load(data["ink-clients.yaml"], Loader=_IgnoreTags)  # a SafeLoader subclass


def entry(document: dict[str, Any], model: str, **identifiers: str) -> dict[str, Any]:
    found = [e for e in document["entries"] if e["model"] == model and e["identifiers"] == identifiers]
    assert len(found) == 1, f"{model} {identifiers}: {found}"
    return found[0]


def values(result) -> dict[str, Any]:
    return testing.objects(result)[APP]["spec"]["source"]["helm"]["valuesObject"]


def env(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in items}


def opened(directory: Path, result, path: str, field: str) -> str:
    key = serialization.load_pem_private_key((directory / ".ink" / sealing.DEV_KEY_NAME).read_bytes(), None)
    body = testing.objects(result)[path]
    meta = body["metadata"]
    ciphertext = body["spec"]["encryptedData"][field]
    return sealing.unseal_value(key, namespace=meta["namespace"], name=meta["name"], ciphertext=ciphertext).decode()


# --- the plugin and its output ------------------------------------------------------------------------


def test_discovered_through_its_entry_point() -> None:
    host = make_plugin_host(environ={})
    assert "authentik" in host.names
    assert host.dists["authentik"].distribution == "ink-plugin-authentik"


def test_output_matches_reviewed_snapshot(default, snapshot) -> None:
    assert testing.snapshot_text(default[1], ["authentik"]) == snapshot


def test_output_validates(default, ink_validator: ManifestValidator) -> None:
    report = ink_validator.validate_all(testing.objects(default[1]).items())
    assert report.problems == []
    assert report.skipped == {}


def test_installed_from_the_official_chart(default) -> None:
    source = testing.objects(default[1])[APP]["spec"]["source"]
    assert source["repoURL"] == "https://charts.goauthentik.io"
    assert source["chart"] == "authentik"
    assert source["targetRevision"] == "2026.8.3"
    assert source["helm"]["releaseName"] == "authentik"
    chart = values(default[1])
    assert chart["global"]["image"] == {
        "repository": "ghcr.io/goauthentik/server",
        "tag": "2026.8.3",
        "pullPolicy": "IfNotPresent",
    }
    assert chart["postgresql"] == {"enabled": False}
    assert "redis" not in chart  # authentik 2025.10+ needs no Redis; the chart dropped its subchart
    assert chart["authentik"] == {"enabled": False}  # no chart-made config Secret: all settings via env


def test_database_and_secret_key_come_from_secrets(default) -> None:
    common = env(values(default[1])["global"]["env"])
    assert common["AUTHENTIK_SECRET_KEY"] == {"secretKeyRef": {"name": "authentik-secret-key", "key": "secret-key"}}
    assert common["AUTHENTIK_POSTGRESQL__HOST"] == "postgres-ha-rw.cloudnativepg.svc"
    assert common["AUTHENTIK_POSTGRESQL__PORT"] == "5432"
    assert common["AUTHENTIK_POSTGRESQL__NAME"] == "authentik"
    assert common["AUTHENTIK_POSTGRESQL__USER"] == "authentik"
    assert common["AUTHENTIK_POSTGRESQL__PASSWORD"] == {"secretKeyRef": {"name": "authentik-db", "key": "password"}}
    files = default[1].files
    assert "authentik/sealedsecret-authentik-db.yaml" in files
    assert "cloudnativepg/database-postgres-ha-authentik.yaml" in files


def test_without_a_tls_provider_the_database_connection_sets_no_tls(default) -> None:
    chart = values(default[1])
    assert not any(name.startswith("AUTHENTIK_POSTGRESQL__SSL") for name in env(chart["global"]["env"]))
    assert "database-ca" not in {v["name"] for v in chart["global"]["volumes"]}


def test_with_a_tls_provider_the_database_is_verified_against_the_mounted_ca(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, plugins=[*PLUGINS, "cert-manager"], extra=consumers())
    chart = values(result)["global"]
    common = env(chart["env"])
    assert common["AUTHENTIK_POSTGRESQL__SSLMODE"] == "verify-full"
    rootcert = common["AUTHENTIK_POSTGRESQL__SSLROOTCERT"]
    # The file sslrootcert names is in the pods (global.* reach server and worker): the CA's Secret, one key.
    (mount,) = [m for m in chart["volumeMounts"] if m["name"] == "database-ca"]
    (volume,) = [v for v in chart["volumes"] if v["name"] == "database-ca"]
    assert rootcert == f"{mount['mountPath']}/ca.crt"
    assert mount["readOnly"] is True
    assert volume["secret"]["secretName"] == "authentik-db-ca"
    assert volume["secret"]["items"] == [{"key": "ca.crt", "path": "ca.crt"}]
    ca = testing.objects(result)["authentik/certificate-authentik-db-ca.yaml"]
    assert (ca["metadata"]["namespace"], ca["spec"]["secretName"]) == ("authentik", "authentik-db-ca")


def test_generated_secret_key_and_bootstrap_credentials(default) -> None:
    directory, result, _ = default
    assert len(opened(directory, result, "authentik/sealedsecret-authentik-secret-key.yaml", "secret-key")) == 64
    password = opened(directory, result, "authentik/sealedsecret-authentik-bootstrap.yaml", "password")
    token = opened(directory, result, "authentik/sealedsecret-authentik-bootstrap.yaml", "token")
    assert len(password) == 32 and len(token) == 64
    worker = env(values(result)["worker"]["env"])
    assert worker["AUTHENTIK_BOOTSTRAP_EMAIL"] == "admin@example.com"
    assert worker["AUTHENTIK_BOOTSTRAP_PASSWORD"] == {
        "secretKeyRef": {"name": "authentik-bootstrap", "key": "password"}
    }
    assert worker["AUTHENTIK_BOOTSTRAP_TOKEN"] == {"secretKeyRef": {"name": "authentik-bootstrap", "key": "token"}}
    # Bootstrap values are read by the worker only.
    assert not any(name.startswith("AUTHENTIK_BOOTSTRAP") for name in env(values(result)["global"]["env"]))


def test_ha_server_with_disruption_budget_and_hardened_pods(default) -> None:
    chart = values(default[1])
    assert chart["server"]["replicas"] == 2
    assert chart["server"]["pdb"] == {"enabled": True, "maxUnavailable": 1}
    assert chart["worker"]["replicas"] == 1
    assert chart["worker"]["pdb"] == {"enabled": False}
    for component in ("server", "worker"):
        security = chart[component]["containerSecurityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert chart[component]["resources"]["limits"]["memory"] == "1Gi"
    assert chart["global"]["securityContext"]["runAsUser"] == 1000
    assert {m["mountPath"] for m in chart["global"]["volumeMounts"]} == {"/data", "/dev/shm", "/tmp"}


def test_route_to_the_server_service(tmp_path: Path) -> None:
    routes: list[Route] = []

    class Recording(Ingress):
        @hookimpl
        def ink_provide_ingress(self, route: Route, ctx: ServiceContext) -> RouteBinding:
            routes.append(route)
            return super().ink_provide_ingress(route, ctx)

    synth(tmp_path, extra={"ingress": Recording()})
    (route,) = [r for r in routes if r.owner == "authentik"]
    assert (route.host, route.service, route.port, route.namespace) == ("auth", "authentik-server", 80, "authentik")


# --- OIDC ---------------------------------------------------------------------------------------------


def test_oidc_client_in_the_blueprint(default) -> None:
    document = blueprint(default[1])
    assert document["version"] == 1
    provider = entry(document, "authentik_providers_oauth2.oauth2provider", name="notes")
    attrs = provider["attrs"]
    assert attrs["client_type"] == "confidential"
    assert attrs["client_id"] == "notes"
    assert attrs["client_secret"] == {"!Env": "INK_OIDC_NOTES_CLIENT_SECRET"}
    assert attrs["redirect_uris"] == [
        {
            "matching_mode": "strict",
            "url": "https://notes.example.com/oauth/callback",
            "redirect_uri_type": "authorization",
        }
    ]
    assert attrs["grant_types"] == ["authorization_code", "refresh_token"]
    assert attrs["authorization_flow"] == {
        "!Find": ["authentik_flows.flow", ["slug", "default-provider-authorization-implicit-consent"]]
    }
    assert attrs["invalidation_flow"] == {
        "!Find": ["authentik_flows.flow", ["slug", "default-provider-invalidation-flow"]]
    }
    assert attrs["signing_key"] == {
        "!Find": ["authentik_crypto.certificatekeypair", ["name", "authentik Self-signed Certificate"]]
    }
    assert [m["!Find"][1][1] for m in attrs["property_mappings"]] == [
        "goauthentik.io/providers/oauth2/scope-openid",
        "goauthentik.io/providers/oauth2/scope-email",
        "goauthentik.io/providers/oauth2/scope-profile",
    ]
    application = entry(document, "authentik_core.application", slug="notes")
    assert application["attrs"]["provider"] == {"!KeyOf": provider["id"]}
    assert application["attrs"]["name"] == "Notes"


def test_oidc_binding(default) -> None:
    binding = default[2]["notes"].bindings["notes"]
    assert binding.kind == "oidc"
    assert binding.provider == "authentik"
    assert binding.issuer_url == "https://auth.example.com/application/o/notes/"
    # The endpoints clients without discovery need, shared by all of authentik's applications.
    assert binding.authorization_url == "https://auth.example.com/application/o/authorize/"
    assert binding.token_url == "https://auth.example.com/application/o/token/"
    assert binding.userinfo_url == "https://auth.example.com/application/o/userinfo/"
    assert binding.client_id == "notes"
    assert binding.client_secret is not None
    assert (binding.client_secret.name, binding.client_secret.key) == ("notes-oidc", "client-secret")


def test_both_sides_hold_the_same_client_secret(default) -> None:
    directory, result, _ = default
    consumer = opened(directory, result, "notes/sealedsecret-notes-oidc.yaml", "client-secret")
    assert opened(directory, result, "notes/sealedsecret-notes-oidc.yaml", "client-id") == "notes"
    authentik = opened(directory, result, "authentik/sealedsecret-authentik-oidc-notes.yaml", "client-secret")
    assert consumer == authentik
    assert len(consumer) == 64
    assert consumer not in "".join(result.files.values())
    # The worker gets it as the variable the blueprint reads.
    worker = env(values(result)["worker"]["env"])
    assert worker["INK_OIDC_NOTES_CLIENT_SECRET"] == {
        "secretKeyRef": {"name": "authentik-oidc-notes", "key": "client-secret"}
    }


def test_blueprint_mounted_on_the_worker(default) -> None:
    chart = values(default[1])
    assert chart["blueprints"] == {"configMaps": ["authentik-ink-blueprints"]}
    configmap = testing.objects(default[1])[BLUEPRINTS]
    assert configmap["metadata"]["namespace"] == "authentik"


def test_scopes_map_to_built_in_mappings_and_unknown_ones_warn(tmp_path: Path) -> None:
    client = AuthClient(
        kind="oidc", host="notes", redirect_paths=("/cb",), scopes=("email", "offline_access", "groups")
    )
    result = synth(tmp_path, extra={"ingress": Ingress(), "notes": Consumer("notes", client)})
    provider = entry(blueprint(result), "authentik_providers_oauth2.oauth2provider", name="notes")
    assert [m["!Find"][1][1] for m in provider["attrs"]["property_mappings"]] == [
        "goauthentik.io/providers/oauth2/scope-openid",
        "goauthentik.io/providers/oauth2/scope-email",
        "goauthentik.io/providers/oauth2/scope-offline_access",
    ]
    assert any("groups" in w and "no built-in mapping" in w for w in result.warnings)


def test_verified_email_client_gets_its_own_email_mapping_instead_of_the_built_in_one(tmp_path: Path) -> None:
    extra = consumers()
    vault = AuthClient(kind="oidc", host="vault", redirect_paths=("/cb",), verified_email=True)
    extra["vault"] = Consumer("vault", vault)
    document = blueprint(synth(tmp_path, extra=extra))
    mapping = entry(document, "authentik_providers_oauth2.scopemapping", name="ink: OpenID 'email' (verified)")
    assert mapping["attrs"]["scope_name"] == "email"
    # authentik's own guide (integrations/security/vaultwarden), word for word but for the trailing comma.
    expression = 'return {\n    "email": request.user.email,\n    "email_verified": True,\n}\n'
    assert mapping["attrs"]["expression"] == expression
    provider = entry(document, "authentik_providers_oauth2.oauth2provider", name="vault")
    assert provider["attrs"]["property_mappings"] == [
        {"!Find": ["authentik_providers_oauth2.scopemapping", ["managed", f"{BUILT_IN}/scope-openid"]]},
        {"!KeyOf": mapping["id"]},
        {"!Find": ["authentik_providers_oauth2.scopemapping", ["managed", f"{BUILT_IN}/scope-profile"]]},
    ]
    # !KeyOf only finds entries applied before it.
    assert document["entries"].index(mapping) < document["entries"].index(provider)
    # A client that does not ask keeps authentik's built-in email mapping (email_verified: false).
    notes = entry(document, "authentik_providers_oauth2.oauth2provider", name="notes")
    assert {"!KeyOf": mapping["id"]} not in notes["attrs"]["property_mappings"]
    assert [m["!Find"][1][1] for m in notes["attrs"]["property_mappings"]][1] == f"{BUILT_IN}/scope-email"


def test_no_verified_email_mapping_when_no_client_asks(default) -> None:
    models = [e["model"] for e in blueprint(default[1])["entries"]]
    assert "authentik_providers_oauth2.scopemapping" not in models


# --- forward auth -------------------------------------------------------------------------------------


def test_forward_auth_client_in_the_blueprint(default) -> None:
    document = blueprint(default[1])
    provider = entry(document, "authentik_providers_proxy.proxyprovider", name="whoami")
    assert provider["attrs"]["mode"] == "forward_single"
    assert provider["attrs"]["external_host"] == "https://whoami.example.com"
    application = entry(document, "authentik_core.application", slug="whoami")
    assert application["attrs"]["provider"] == {"!KeyOf": provider["id"]}
    outposts = [e for e in document["entries"] if e["model"] == "authentik_outposts.outpost"]
    assert len(outposts) == 1
    (outpost,) = outposts
    assert outpost["identifiers"] == {"managed": "goauthentik.io/outposts/embedded"}
    assert outpost["attrs"]["name"] == "authentik Embedded Outpost"
    assert outpost["attrs"]["providers"] == [{"!KeyOf": provider["id"]}]
    assert outpost["attrs"]["config"] == {"authentik_host": "https://auth.example.com/"}
    # The outpost entry comes after the providers it refers to.
    assert document["entries"].index(outpost) > document["entries"].index(provider)


def test_forward_auth_binding(default) -> None:
    binding = default[2]["whoami"].bindings["whoami"]
    assert binding.kind == "forward-auth"
    assert binding.forward_auth_url == ("http://authentik-server.authentik.svc:80/outpost.goauthentik.io/auth/traefik")
    assert list(binding.forward_auth_headers) == FORWARD_AUTH_HEADERS
    assert binding.outpost_path == "/outpost.goauthentik.io/"
    assert binding.outpost_service is not None
    assert binding.outpost_service.model_dump() == {"namespace": "authentik", "name": "authentik-server", "port": 80}
    assert binding.secrets == ()


def test_every_proxy_provider_in_one_outpost_entry(tmp_path: Path) -> None:
    extra = consumers()
    extra["grafana"] = Consumer("grafana", AuthClient(kind="forward-auth", host="grafana"))
    document = blueprint(synth(tmp_path, extra=extra))
    (outpost,) = [e for e in document["entries"] if e["model"] == "authentik_outposts.outpost"]
    assert outpost["attrs"]["providers"] == [{"!KeyOf": "grafana-provider"}, {"!KeyOf": "whoami-provider"}]


def test_no_clients_no_blueprint(tmp_path: Path) -> None:
    result = synth(tmp_path, extra={"ingress": Ingress()})
    assert BLUEPRINTS not in result.files
    assert values(result)["blueprints"] == {"configMaps": []}
    assert not any(e["name"].startswith("INK_OIDC_") for e in values(result)["worker"]["env"])


def test_two_clients_of_one_service_get_distinct_slugs(tmp_path: Path) -> None:
    class Two(Consumer):
        @hookimpl
        def ink_ingress_routes(self) -> list[Route]:
            return [Route(host="wiki", service="wiki", port=80), Route(host="wiki-admin", service="wiki", port=80)]

        @hookimpl
        def ink_auth_clients(self) -> list[AuthClient]:
            return [
                AuthClient(kind="oidc", host="wiki", redirect_paths=("/callback",)),
                AuthClient(kind="forward-auth", host="wiki-admin"),
            ]

    extra = {"ingress": Ingress(), "wiki": Two("wiki", AuthClient(kind="oidc", host="wiki"))}
    document = blueprint(synth(tmp_path, extra=extra))
    slugs = sorted(e["identifiers"]["slug"] for e in document["entries"] if e["model"] == "authentik_core.application")
    assert slugs == ["wiki-wiki", "wiki-wiki-admin"]


# --- settings -----------------------------------------------------------------------------------------


def test_settings_from_ink_toml(tmp_path: Path) -> None:
    config = """
domain = "home.example.org"

[plugins.authentik]
hostname = "sso"
chart_version = "2026.8.5"
image_tag = "2026.8.5"
bootstrap_email = "me@home.example.org"
server_replicas = 3
worker_replicas = 2
log_level = "debug"
"""
    extra = consumers()
    result = synth(tmp_path, config, extra=extra)
    app = testing.objects(result)[APP]
    assert app["spec"]["source"]["targetRevision"] == "2026.8.5"
    chart = values(result)
    assert chart["global"]["image"]["tag"] == "2026.8.5"
    assert chart["server"]["replicas"] == 3
    assert chart["worker"]["pdb"] == {"enabled": True, "maxUnavailable": 1}
    assert env(chart["worker"]["env"])["AUTHENTIK_BOOTSTRAP_EMAIL"] == "me@home.example.org"
    assert env(chart["global"]["env"])["AUTHENTIK_LOG_LEVEL"] == "debug"
    assert extra["notes"].bindings["notes"].issuer_url == "https://sso.home.example.org/application/o/notes/"
    outpost = next(e for e in blueprint(result)["entries"] if e["model"] == "authentik_outposts.outpost")
    assert outpost["attrs"]["config"] == {"authentik_host": "https://sso.home.example.org/"}


def test_settings_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INK_PLUGINS__AUTHENTIK__SERVER_REPLICAS", "1")
    monkeypatch.setenv("INK_PLUGINS__AUTHENTIK__HOSTNAME", "login")
    result = synth(tmp_path, "[plugins.authentik]\nserver_replicas = 4\n")
    chart = values(result)
    assert chart["server"]["replicas"] == 1
    assert chart["server"]["pdb"] == {"enabled": False}
    provider = entry(blueprint(result), "authentik_outposts.outpost", managed="goauthentik.io/outposts/embedded")
    assert provider["attrs"]["config"]["authentik_host"] == "https://login.example.com/"


def test_unknown_setting_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="replicas"):
        synth(tmp_path, "[plugins.authentik]\nreplicas = 2\n")


# --- with the real ingress provider ([tool.ink] test-plugins installs it) --------------------------------


def test_with_the_real_ingress_provider(tmp_path: Path, ink_validator: ManifestValidator) -> None:
    real = ["traefik", "cert-manager"]
    extra = {k: v for k, v in consumers().items() if k != "ingress"}
    result = testing.synth(tmp_path, plugins=PLUGINS + real, extra=extra, validate=False)
    # Only the folders this plugin and its consumers own: the providers' own folders are theirs to validate.
    mine = {p: o for p, o in testing.objects(result).items() if p.split("/")[0] in ("authentik", "notes", "whoami")}
    report = ink_validator.validate_all(mine.items())
    assert report.problems == []
    address = extra["whoami"].bindings["whoami"].forward_auth_url
    middlewares = [o for p, o in mine.items() if o["kind"] == "Middleware"]
    assert [m["spec"]["forwardAuth"]["address"] for m in middlewares] == [address]


def test_the_server_is_scraped_only_with_a_metrics_provider(tmp_path: Path) -> None:
    monitoring = testing.StandIn("monitoring", Capability.METRICS)
    target = testing.metrics_targets(synth(tmp_path, extra={**consumers(), "monitoring": monitoring}), "authentik")[
        "server"
    ]
    # Pods and port against the rendered chart: tests/test_metrics_targets.py.
    assert (target.pods["app.kubernetes.io/component"], target.port, target.path) == ("server", 9300, "/metrics")
    assert testing.metrics_targets(synth(tmp_path), "authentik") == {}
