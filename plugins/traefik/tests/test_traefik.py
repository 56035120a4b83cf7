"""Traefik: discovery, the reviewed output, routes in the consumer's folder, forward-auth, settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from ink import hookimpl, testing
from ink.errors import ConfigError, ResolutionError
from ink.models import AuthBinding, AuthClient, Capability, Route, RoutePath, ServiceInfo, ServiceRef
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator

PLUGINS = ["traefik", "cert-manager", "sealed-secrets"]
APPLICATION = "traefik/application-traefik-chart.yaml"
TLS_STORE = "traefik/tlsstore-default.yaml"
OUTPOST_HEADERS = ("X-authentik-username", "X-authentik-groups", "X-authentik-email")


class App:
    """A consumer with one route; forward-auth in front of it if ``protected``."""

    def __init__(self, name: str, *, host: str, port: int, path: str = "/", protected: bool = False) -> None:
        self.name, self.host, self.port, self.path, self.protected = name, host, port, path, protected

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name=self.name, title=self.name.title(), version="1.0.0", homepage="https://example.org")

    @hookimpl
    def ink_ingress_routes(self) -> list[Route]:
        return [Route(host=self.host, service=self.name, port=self.port, path=self.path)]

    @hookimpl
    def ink_auth_clients(self) -> list[AuthClient] | None:
        return [AuthClient(kind="forward-auth", host=self.host)] if self.protected else None

    @hookimpl
    def ink_workloads(self, ctx) -> None:
        self.binding = ctx.route(self.host)


class IdentityProvider:
    """A stand-in auth provider answering forward-auth clients the way Authentik's embedded outpost does."""

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(
            name="idp", title="IdP", version="1.0.0", homepage="https://example.org", provides=(Capability.AUTH,)
        )

    @hookimpl
    def ink_provide_auth(self, client: AuthClient) -> AuthBinding:
        assert client.kind == "forward-auth"
        return AuthBinding(
            kind="forward-auth",
            forward_auth_url="http://idp-server.idp.svc.cluster.local/outpost.goauthentik.io/auth/traefik",
            forward_auth_headers=OUTPOST_HEADERS,
            outpost_path="/outpost.goauthentik.io/",
            outpost_service=ServiceRef(namespace="idp", name="idp-server", port=80),
        )


def consumers() -> dict[str, object]:
    return {
        "whoami": App("whoami", host="whoami", port=80),
        "api": App("api", host="api", port=8080, path="/v1"),
        "wiki": App("wiki", host="wiki", port=3000, protected=True),
        "idp": IdentityProvider(),
    }


def synth(directory: Path, config: str = "", extra: dict[str, object] | None = None):
    return testing.synth(directory, config, plugins=PLUGINS, extra=consumers() if extra is None else extra)


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory):
    return synth(tmp_path_factory.mktemp("traefik"))


def values_of(result) -> dict:
    return testing.objects(result)[APPLICATION]["spec"]["source"]["helm"]["valuesObject"]


def test_discovered_through_its_entry_point() -> None:
    assert make_plugin_host(environ={}).dists["traefik"].distribution == "ink-plugin-traefik"


def test_output_matches_reviewed_snapshot(default, snapshot) -> None:
    assert testing.snapshot_text(default, ["traefik", "whoami", "api", "wiki"]) == snapshot


def test_output_validates(default, crd_dir: Path) -> None:
    # Strict: every object has a schema (shared/crds has Traefik's TLSStore since the 2026-08 catalog snapshot).
    strict = ManifestValidator("1.33", [crd_dir]).validate_all(testing.objects(default).items())
    assert [str(p) for p in strict.problems] == []
    assert strict.checked == len(testing.objects(default))


def test_route_lands_in_the_consumers_folder(default) -> None:
    route = testing.objects(default)["whoami/ingressroute-whoami.yaml"]
    assert route["metadata"]["namespace"] == "whoami"
    assert route["metadata"]["labels"]["app.kubernetes.io/name"] == "whoami"
    assert route["spec"] == {
        "entryPoints": ["websecure"],
        "routes": [
            {"kind": "Rule", "match": "Host(`whoami.example.com`)", "services": [{"name": "whoami", "port": 80}]}
        ],
        "tls": {},
    }
    assert not any(path.startswith("whoami/middleware") for path in default.files)


def test_route_with_a_path_matches_the_prefix(default) -> None:
    route = testing.objects(default)["api/ingressroute-api.yaml"]
    assert route["spec"]["routes"][0]["match"] == "Host(`api.example.com`) && PathPrefix(`/v1`)"
    assert route["spec"]["routes"][0]["services"] == [{"name": "api", "port": 8080}]


def test_forward_auth_middleware_is_created_and_attached(default) -> None:
    objects = testing.objects(default)
    middleware = objects["wiki/middleware-wiki-forward-auth.yaml"]
    assert middleware["metadata"]["namespace"] == "wiki"
    assert middleware["spec"] == {
        "forwardAuth": {
            "address": "http://idp-server.idp.svc.cluster.local/outpost.goauthentik.io/auth/traefik",
            "trustForwardHeader": True,
            "authResponseHeaders": list(OUTPOST_HEADERS),
        }
    }
    outpost, app = objects["wiki/ingressroute-wiki.yaml"]["spec"]["routes"]
    assert app == {
        "kind": "Rule",
        "match": "Host(`wiki.example.com`)",
        "services": [{"name": "wiki", "port": 3000}],
        "middlewares": [{"name": "wiki-forward-auth"}],
    }
    # The outpost path goes to the identity provider's Service in its own namespace, unprotected,
    # and outranks the application's rule.
    assert outpost == {
        "kind": "Rule",
        "match": "Host(`wiki.example.com`) && PathPrefix(`/outpost.goauthentik.io/`)",
        "priority": 1000,
        "services": [{"name": "idp-server", "namespace": "idp", "port": 80}],
    }
    assert outpost["priority"] > len(app["match"])
    assert values_of(default)["providers"]["kubernetesCRD"]["allowCrossNamespace"] is True


class Office(App):
    """A consumer whose host has further paths: an API (prefix stripped), a sticky websocket, a public file."""

    @hookimpl
    def ink_ingress_routes(self) -> list[Route]:
        paths = (
            RoutePath(path="/api", service="office-back", port=8080, strip_prefix=True),
            RoutePath(path="/ws/", service="office", port=3001, sticky_cookie="office_ws"),
            RoutePath(path="/embed.js", service="office", port=3000, exact=True, forward_auth=False),
        )
        return [Route(host=self.host, service=self.name, port=self.port, paths=paths)]


def test_further_paths_strip_stick_and_skip_forward_auth(tmp_path: Path, crd_dir: Path) -> None:
    office = Office("office", host="office", port=3000, protected=True)
    result = synth(tmp_path, extra={"office": office, "idp": IdentityProvider()})
    objects = testing.objects(result)
    rules = {r["match"]: r for r in objects["office/ingressroute-office.yaml"]["spec"]["routes"]}
    host = "Host(`office.example.com`)"
    assert rules[host]["middlewares"] == [{"name": "office-forward-auth"}]
    # Forward-auth first, then the prefix is stripped.
    api = rules[f"{host} && PathPrefix(`/api`)"]
    assert api["services"] == [{"name": "office-back", "port": 8080}]
    assert api["middlewares"] == [{"name": "office-forward-auth"}, {"name": "office-strip-api"}]
    assert objects["office/middleware-office-strip-api.yaml"]["spec"] == {"stripPrefix": {"prefixes": ["/api"]}}
    ws = rules[f"{host} && PathPrefix(`/ws/`)"]
    cookie = {"name": "office_ws", "httpOnly": True, "secure": True, "sameSite": "lax"}
    assert ws["services"] == [{"name": "office", "port": 3001, "sticky": {"cookie": cookie}}]
    assert ws["middlewares"] == [{"name": "office-forward-auth"}]
    # An exact path, outside the login; longer rules win over the host's catch-all (Traefik's default priority).
    embed = rules[f"{host} && Path(`/embed.js`)"]
    assert "middlewares" not in embed
    assert all(len(match) > len(host) for match in rules if match != host)
    strict = ManifestValidator("1.33", [crd_dir]).validate_all(objects.items())
    assert [str(p) for p in strict.problems] == []


def test_a_route_lists_each_path_once() -> None:
    with pytest.raises(ValueError, match="lists the path '/api' twice"):
        Route(
            host="office",
            service="office",
            port=80,
            paths=(RoutePath(path="/api", service="a", port=1), RoutePath(path="/api", service="b", port=2)),
        )
    with pytest.raises(ValueError, match="path"):
        RoutePath(path="/", service="a", port=1)


def test_wildcard_certificate_is_the_default_tls_store(default) -> None:
    objects = testing.objects(default)
    certificate = objects["traefik/certificate-wildcard-tls.yaml"]
    assert certificate["metadata"]["namespace"] == "traefik"
    assert certificate["spec"]["dnsNames"] == ["example.com", "*.example.com"]
    assert certificate["spec"]["secretName"] == "wildcard-tls"
    store = objects[TLS_STORE]
    assert store["metadata"]["name"] == "default"
    assert store["metadata"]["namespace"] == "traefik"
    assert store["spec"] == {"defaultCertificate": {"secretName": "wildcard-tls"}}


def test_installed_from_the_official_chart(default) -> None:
    source = testing.objects(default)[APPLICATION]["spec"]["source"]
    assert source["repoURL"] == "https://traefik.github.io/charts"
    assert source["chart"] == "traefik"
    assert source["targetRevision"] == "41.7.0"
    values = source["helm"]["valuesObject"]
    assert values["image"] == {"registry": "docker.io", "repository": "traefik", "tag": "v3.7.14"}
    # Where chart v40 reads the Service type and v39 the redirection (tests/test_charts.py checks the chart).
    assert values["service"] == {"spec": {"type": "LoadBalancer"}}
    assert values["ports"]["web"] == {
        "http": {
            "redirections": {
                "entryPoint": {
                    "to": "websecure",
                    "scheme": "https",
                    "permanent": True,
                }
            }
        }
    }
    assert values["ingressClass"] == {"enabled": True, "isDefaultClass": True, "name": "traefik"}
    assert values["providers"]["kubernetesIngress"] == {"enabled": True}
    assert values["metrics"] == {"prometheus": {"service": {"enabled": True}}}
    assert values["deployment"] == {"replicas": 2}
    assert values["podDisruptionBudget"] == {"enabled": True, "maxUnavailable": 1}
    # The dashboard stays internal: the chart's dashboard IngressRoute is off by default and not enabled.
    assert "ingressRoute" not in values


def test_route_bindings_give_the_public_url(tmp_path: Path) -> None:
    extra = consumers()
    synth(tmp_path, 'domain = "home.example.org"\n', extra)
    api, whoami = extra["api"].binding, extra["whoami"].binding
    assert (api.url, api.hostname, api.provider) == (
        "https://api.home.example.org/v1",
        "api.home.example.org",
        "traefik",
    )
    assert (whoami.url, whoami.hostname) == ("https://whoami.home.example.org", "whoami.home.example.org")


def test_settings_from_ink_toml(tmp_path: Path) -> None:
    config = """
domain = "home.example.org"
ingress_class = "public"

[plugins.traefik]
replicas = 1
load_balancer_ip = "192.168.1.240"
kubernetes_ingress = false
service_monitor = true
image_tag = "v3.7.13"
resources = { cpu_request = "200m", memory_request = "256Mi", memory_limit = "1Gi", cpu_limit = "1" }
"""
    result = synth(tmp_path, config)
    values = values_of(result)
    assert values["deployment"] == {"replicas": 1}
    assert "podDisruptionBudget" not in values
    assert values["service"]["annotations"] == {"metallb.io/loadBalancerIPs": "192.168.1.240"}
    assert values["ingressClass"] == {"enabled": False, "isDefaultClass": True, "name": "public"}
    assert values["providers"]["kubernetesIngress"] == {"enabled": False}
    assert values["metrics"]["prometheus"]["serviceMonitor"] == {"enabled": True}
    assert values["image"]["tag"] == "v3.7.13"
    assert values["resources"] == {
        "requests": {"cpu": "200m", "memory": "256Mi"},
        "limits": {"memory": "1Gi", "cpu": "1"},
    }
    objects = testing.objects(result)
    assert objects["whoami/ingressroute-whoami.yaml"]["spec"]["routes"][0]["match"] == (
        "Host(`whoami.home.example.org`)"
    )
    assert objects["traefik/certificate-wildcard-tls.yaml"]["spec"]["dnsNames"] == [
        "home.example.org",
        "*.home.example.org",
    ]


def test_settings_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INK_PLUGINS__TRAEFIK__REPLICAS", "3")
    monkeypatch.setenv("INK_PLUGINS__TRAEFIK__LOAD_BALANCER_IP", "10.0.0.5")
    values = values_of(synth(tmp_path))
    assert values["deployment"] == {"replicas": 3}
    assert values["service"]["annotations"] == {"metallb.io/loadBalancerIPs": "10.0.0.5"}


def test_invalid_load_balancer_ip_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"plugins\.traefik\.load_balancer_ip: must be a single IP address"):
        synth(tmp_path, '[plugins.traefik]\nload_balancer_ip = "192.168.1.240-192.168.1.250"\n')


def test_without_the_default_certificate_no_tls_provider_is_needed(tmp_path: Path) -> None:
    result = testing.synth(
        tmp_path,
        "[plugins.traefik]\ndefault_certificate = false\n",
        plugins=["traefik"],
        extra={"whoami": App("whoami", host="whoami", port=80)},
    )
    assert TLS_STORE not in result.files
    assert "whoami/ingressroute-whoami.yaml" in result.files


def test_the_default_certificate_needs_a_tls_provider(tmp_path: Path) -> None:
    with pytest.raises(ResolutionError, match=r"traefik needs tls \(tls/wildcard-tls\)"):
        testing.synth(tmp_path, plugins=["traefik"])


def test_k3s_bundled_traefik_is_disabled(default) -> None:
    # k3s installs its own Traefik unless its server configuration disables it (ink.cluster writes that file).
    assert [d.component for d in default.cluster["traefik"].k3s_disable] == ["traefik"]
    assert "- traefik\n" in default.files["_cluster/k3s/config.yaml.d/50-ink.yaml"]


def test_the_metrics_entry_point_is_scraped_only_with_a_metrics_provider(tmp_path: Path) -> None:
    monitoring = testing.StandIn("monitoring", Capability.METRICS)
    target = testing.metrics_targets(synth(tmp_path, extra={"monitoring": monitoring}), "traefik")["metrics"]
    # Pods and port against the rendered chart: tests/test_metrics_targets.py.
    assert (dict(target.pods), target.port, target.chart_monitor) == (
        {"app.kubernetes.io/name": "traefik"},
        9100,
        False,
    )
    chart = synth(tmp_path, "[plugins.traefik]\nservice_monitor = true\n", extra={"monitoring": monitoring})
    assert testing.metrics_targets(chart, "traefik")["metrics"].chart_monitor  # the chart's ServiceMonitor scrapes
    assert testing.metrics_targets(synth(tmp_path), "traefik") == {}
