"""cloudflared: discovery, the reviewed output, ingress rules from public routes, sealed credentials."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from ink import hookimpl, sealing, testing
from ink.models import Capability, Route, ServiceInfo
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator
from ink_plugin_cloudflared import PLACEHOLDER_TUNNEL_ID, VERSION

PLUGINS = ["cloudflared", "sealed-secrets"]
TUNNEL_ID = "6ff42ae2-765d-4adf-8112-31c55c1551ef"
CREDENTIALS = (
    '{"AccountTag":"0123abcd","TunnelSecret":"c2VjcmV0LXZhbHVlLWZvci10ZXN0cw==","TunnelID":"' + TUNNEL_ID + '"}'
)


class Ingress(testing.StandIn):
    """A stand-in ingress provider: answers routes with their URL and emits nothing."""

    def __init__(self) -> None:
        super().__init__("ingress", Capability.INGRESS)


class Blog:
    """A consumer with one public and one internal route."""

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="blog", title="Blog", version="1.0.0", homepage="https://example.org")

    @hookimpl
    def ink_ingress_routes(self) -> list[Route]:
        return [
            Route(host="blog", service="blog", port=80, public=True),
            Route(host="blog-admin", service="blog", port=80),
        ]


class Wiki:
    """A second consumer with a public route, to see the rules sorted."""

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="wiki", title="Wiki", version="1.0.0", homepage="https://example.org")

    @hookimpl
    def ink_ingress_routes(self) -> list[Route]:
        return [Route(host="docs", service="wiki", port=3000, public=True)]


def synth(tmp_path: Path, config: str = "", *, wiki: bool = False):
    extra: dict[str, object] = {"ingress": Ingress(), "blog": Blog()}
    if wiki:
        extra["wiki"] = Wiki()
    return testing.synth(tmp_path, config, plugins=PLUGINS, extra=extra)


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory):
    return synth(tmp_path_factory.mktemp("cloudflared"))


def obj(result, name: str) -> dict:
    return testing.objects(result)[f"cloudflared/{name}"]


def config_of(result) -> dict:
    return yaml.safe_load(obj(result, "configmap-cloudflared.yaml")["data"]["config.yaml"])


def container(result) -> dict:
    return obj(result, "deployment-cloudflared.yaml")["spec"]["template"]["spec"]["containers"][0]


def test_discovered_through_its_entry_point() -> None:
    host = make_plugin_host(environ={})
    assert host.dists["cloudflared"].distribution == "ink-plugin-cloudflared"


def test_output_matches_reviewed_snapshot(default, snapshot) -> None:
    assert testing.snapshot_text(default, ["cloudflared"]) == snapshot


def test_output_validates(default, ink_validator: ManifestValidator) -> None:
    report = ink_validator.validate_all(testing.objects(default).items())
    assert report.problems == []
    assert report.skipped == {}


def test_only_public_routes_become_ingress_rules_then_the_catch_all(default) -> None:
    config = config_of(default)
    assert config["ingress"] == [
        {
            "hostname": "blog.example.com",
            "service": "https://traefik.traefik.svc:443",
            "originRequest": {"originServerName": "blog.example.com"},
        },
        {"service": "http_status:404"},
    ]
    assert "blog-admin" not in obj(default, "configmap-cloudflared.yaml")["data"]["config.yaml"]


def test_rules_of_every_service_sorted_by_hostname(tmp_path: Path) -> None:
    rules = config_of(synth(tmp_path, wiki=True))["ingress"]
    assert [r.get("hostname") for r in rules] == ["blog.example.com", "docs.example.com", None]
    assert rules[-1] == {"service": "http_status:404"}


def test_locally_managed_tunnel_config(default) -> None:
    config = config_of(default)
    assert config["tunnel"] == PLACEHOLDER_TUNNEL_ID
    assert config["credentials-file"] == "/etc/cloudflared/creds/credentials.json"
    assert config["metrics"] == "0.0.0.0:2000"
    assert config["no-autoupdate"] is True


def test_connector_deployment(default) -> None:
    deployment = obj(default, "deployment-cloudflared.yaml")
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]
    main = container(default)
    assert (
        main["image"] == f"docker.io/cloudflare/cloudflared:{VERSION}" == "docker.io/cloudflare/cloudflared:2026.10.0"
    )
    assert main["args"] == ["tunnel", "--config", "/etc/cloudflared/config/config.yaml", "run"]
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert main[probe]["httpGet"] == {"path": "/ready", "port": 2000, "scheme": "HTTP"}
    assert main["securityContext"]["runAsUser"] == 65532
    assert main["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["name"]: m["mountPath"] for m in main["volumeMounts"]}
    assert mounts == {"config": "/etc/cloudflared/config", "creds": "/etc/cloudflared/creds"}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["config"]["configMap"]["name"] == "cloudflared"
    assert volumes["creds"]["secret"]["secretName"] == "cloudflare-tunnel-credentials"
    assert volumes["creds"]["secret"]["items"] == [{"key": "credentials.json", "path": "credentials.json"}]
    pdb = obj(default, "poddisruptionbudget-cloudflared.yaml")
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]


def test_changed_routes_roll_the_pods(tmp_path: Path, default) -> None:
    def checksum(result) -> str:
        return obj(result, "deployment-cloudflared.yaml")["spec"]["template"]["metadata"]["annotations"][
            "checksum/config"
        ]

    assert checksum(synth(tmp_path, wiki=True)) != checksum(default)


def test_credentials_are_only_sealed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INK_SECRET_CLOUDFLARE_TUNNEL_CREDENTIALS", CREDENTIALS)
    result = synth(tmp_path)
    assert not any("cloudflare-tunnel-credentials" in w for w in result.warnings)
    sealed = obj(result, "sealedsecret-cloudflare-tunnel-credentials.yaml")
    assert sealed["metadata"]["namespace"] == "cloudflared"
    key = serialization.load_pem_private_key((tmp_path / ".ink" / sealing.DEV_KEY_NAME).read_bytes(), password=None)
    opened = sealing.unseal_value(
        key,
        namespace="cloudflared",
        name="cloudflare-tunnel-credentials",
        ciphertext=sealed["spec"]["encryptedData"]["credentials.json"],
    )
    assert opened.decode() == CREDENTIALS
    everything = "".join(result.files.values())
    assert CREDENTIALS not in everything
    assert "c2VjcmV0LXZhbHVlLWZvci10ZXN0cw" not in everything


def test_missing_credentials_and_placeholder_tunnel_warn(default) -> None:
    assert any("cloudflared: tunnel_id is the placeholder" in w for w in default.warnings)
    assert any("INK_SECRET_CLOUDFLARE_TUNNEL_CREDENTIALS" in w and "not set" in w for w in default.warnings)


def test_no_public_route_warns(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, plugins=PLUGINS)
    assert any("no service declares a public route" in w for w in result.warnings)
    assert config_of(result)["ingress"] == [{"service": "http_status:404"}]


def test_settings_from_ink_toml(tmp_path: Path) -> None:
    config = f"""
domain = "home.example.org"

[plugins.cloudflared]
tunnel_id = "{TUNNEL_ID}"
replicas = 3
image_tag = "2026.9.1"
origin_service = "https://ingress.edge.svc:8443"
no_tls_verify = true
resources = {{ memory_limit = "128Mi" }}
"""
    result = synth(tmp_path, config)
    assert not any("tunnel_id" in w for w in result.warnings)
    cfg = config_of(result)
    assert cfg["tunnel"] == TUNNEL_ID
    assert cfg["ingress"][0] == {
        "hostname": "blog.home.example.org",
        "service": "https://ingress.edge.svc:8443",
        "originRequest": {"originServerName": "blog.home.example.org", "noTLSVerify": True},
    }
    assert obj(result, "deployment-cloudflared.yaml")["spec"]["replicas"] == 3
    assert container(result)["image"] == "docker.io/cloudflare/cloudflared:2026.9.1"
    assert container(result)["resources"]["limits"] == {"memory": "128Mi"}


def test_plain_http_origin_has_no_tls_options(tmp_path: Path) -> None:
    result = synth(tmp_path, '[plugins.cloudflared]\norigin_service = "http://traefik.traefik.svc:80"\n')
    assert config_of(result)["ingress"][0] == {
        "hostname": "blog.example.com",
        "service": "http://traefik.traefik.svc:80",
    }


def test_settings_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INK_PLUGINS__CLOUDFLARED__REPLICAS", "4")
    monkeypatch.setenv("INK_PLUGINS__CLOUDFLARED__TUNNEL_ID", TUNNEL_ID)
    result = synth(tmp_path, "[plugins.cloudflared]\nreplicas = 2\n")
    assert obj(result, "deployment-cloudflared.yaml")["spec"]["replicas"] == 4
    assert config_of(result)["tunnel"] == TUNNEL_ID


def test_invalid_origin_is_a_config_error(tmp_path: Path) -> None:
    from ink.errors import ConfigError

    with pytest.raises(ConfigError, match="origin_service"):
        synth(tmp_path, '[plugins.cloudflared]\norigin_service = "traefik:443"\n')


def test_disabled_leaves_no_trace(tmp_path: Path) -> None:
    result = synth(tmp_path, "[plugins.cloudflared]\nenabled = false\n")
    assert not any(path.startswith("cloudflared/") for path in result.files)
