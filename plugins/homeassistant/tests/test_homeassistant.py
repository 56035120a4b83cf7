"""Home Assistant: discovery, the reviewed output, the reverse-proxy fragment, host network, auth and backups."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ink import testing
from ink.errors import ConfigError, ResolutionError
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator

NAME = "homeassistant"
PLUGINS = ["homeassistant", "sealed-secrets"]
# The platform that gives Home Assistant its route, TLS, forward-auth (when asked) and backups.
PLATFORM = [*PLUGINS, "traefik", "cert-manager", "authentik", "cloudnativepg", "velero", "minio"]
POD_SECURITY = "pod-security.kubernetes.io/enforce"


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("homeassistant"), plugins=PLATFORM)


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("homeassistant-alone"), plugins=["homeassistant"])


def deployment(result) -> dict:
    return testing.objects(result)["homeassistant/deployment-homeassistant.yaml"]


def pod(result) -> dict:
    return deployment(result)["spec"]["template"]["spec"]


def setup_script(result) -> str:
    return pod(result)["initContainers"][0]["command"][2]


def fragment(result) -> dict[str, str]:
    return testing.objects(result)["homeassistant/configmap-homeassistant-ink.yaml"]["data"]


def test_discovered_through_its_entry_point() -> None:
    host = make_plugin_host(environ={})
    assert NAME in host.names
    assert host.dists[NAME].distribution == "ink-plugin-homeassistant"


def test_output_matches_reviewed_snapshot(default, snapshot) -> None:
    assert testing.snapshot_text(default, [NAME]) == snapshot


def test_output_validates(default, ink_validator: ManifestValidator) -> None:
    mine = {p: o for p, o in testing.objects(default).items() if p.startswith("homeassistant/")}
    report = ink_validator.validate_all(mine.items())
    assert report.problems == []
    assert report.skipped == {}


def test_upstream_facts(default) -> None:
    container = pod(default)["containers"][0]
    assert container["image"] == "ghcr.io/home-assistant/home-assistant:2026.10.1"
    assert container["command"] == ["python3", "-m", "homeassistant", "--config", "/config"]
    assert container["ports"] == [{"name": "http", "containerPort": 8123, "protocol": "TCP"}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/", "port": 8123, "scheme": "HTTP"}
    assert container["startupProbe"]["failureThreshold"] * container["startupProbe"]["periodSeconds"] == 300
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts == {"config": "/config", "tmp": "/tmp"}


def test_runs_hardened_as_non_root_in_a_restricted_namespace(default) -> None:
    spec = pod(default)
    assert spec["securityContext"]["runAsNonRoot"] is True
    for container in (*spec["initContainers"], *spec["containers"]):
        assert container["securityContext"]["runAsUser"] == 1000
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert "hostNetwork" not in spec
    namespace = testing.objects(default)["homeassistant/namespace-homeassistant.yaml"]
    assert namespace["metadata"]["labels"][POD_SECURITY] == "restricted"


def test_single_replica_on_one_volume(default) -> None:
    assert deployment(default)["spec"]["replicas"] == 1
    assert deployment(default)["spec"]["strategy"] == {"type": "Recreate"}
    assert not any(p.startswith("homeassistant/poddisruptionbudget") for p in default.files)


def test_trusted_proxies_are_the_pod_network(default) -> None:
    package = fragment(default)["ink.yaml"]
    assert "  use_x_forwarded_for: true\n" in package
    assert '  trusted_proxies: ["10.42.0.0/16"]\n' in package


def test_trusted_proxies_follow_the_network_setting(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, '[network]\npods = ["10.244.0.0/16", "fd00:42::/56"]\n', plugins=PLUGINS)
    assert '  trusted_proxies: ["10.244.0.0/16", "fd00:42::/56"]\n' in fragment(result)["ink.yaml"]


def test_a_bad_pod_network_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"10\.42\.0\.1/16"):
        testing.synth(tmp_path, '[network]\npods = ["10.42.0.1/16"]\n', plugins=PLUGINS)


def run_setup(result, config_dir: Path) -> subprocess.CompletedProcess[str]:
    """The init container's script against a real folder: FRAGMENT_DIR and /config pointed at temp dirs."""
    fragments = config_dir.parent / "fragments"
    fragments.mkdir(exist_ok=True)
    for name, text in fragment(result).items():
        (fragments / name).write_text(text)
    script = setup_script(result).replace("/etc/ink/homeassistant", str(fragments))
    script = script.replace("cd /config", f"cd {config_dir}")
    return subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, check=False)


def test_first_start_writes_upstreams_default_configuration_with_packages(default, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    done = run_setup(default, config)
    assert done.returncode == 0, done.stderr
    text = (config / "configuration.yaml").read_text()
    assert text.startswith("# Loads default set of integrations. Do not remove.\ndefault_config:\n")
    assert "homeassistant:\n  packages: !include_dir_named packages\n" in text
    assert (config / "automations.yaml").read_text() == "[]\n"
    assert (config / "scripts.yaml").read_text() == ""
    assert (config / "packages" / "ink.yaml").read_text() == fragment(default)["ink.yaml"]


def test_the_users_configuration_is_kept_and_only_gains_the_packages_line(default, tmp_path: Path) -> None:
    config = tmp_path / "config"
    (config / "packages").mkdir(parents=True)
    (config / "configuration.yaml").write_text("default_config:\nlogger:\n  default: info\n")
    (config / "packages" / "ink.yaml").write_text("stale: true\n")
    (config / "packages" / "mine.yaml").write_text("input_boolean: {}\n")
    assert run_setup(default, config).returncode == 0
    text = (config / "configuration.yaml").read_text()
    assert text.startswith("default_config:\nlogger:\n  default: info\n")
    assert text.endswith("homeassistant:\n  packages: !include_dir_named packages\n")
    assert (config / "packages" / "ink.yaml").read_text() == fragment(default)["ink.yaml"]
    assert (config / "packages" / "mine.yaml").read_text() == "input_boolean: {}\n"
    # A second start changes nothing.
    assert run_setup(default, config).returncode == 0
    assert (config / "configuration.yaml").read_text() == text


def test_a_homeassistant_section_without_packages_stops_with_the_fix(default, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    original = "homeassistant:\n  name: Home\n"
    (config / "configuration.yaml").write_text(original)
    done = run_setup(default, config)
    assert done.returncode == 1
    assert "add that line under it" in done.stderr
    assert (config / "configuration.yaml").read_text() == original


def test_a_homeassistant_section_with_packages_is_left_alone(default, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    original = "homeassistant:\n    name: Home\n    packages: !include_dir_named packages\n"
    (config / "configuration.yaml").write_text(original)
    assert run_setup(default, config).returncode == 0
    assert (config / "configuration.yaml").read_text() == original


def test_route_through_the_ingress_with_its_own_login(default) -> None:
    route = testing.objects(default)["homeassistant/ingressroute-home.yaml"]
    (rule,) = route["spec"]["routes"]
    assert rule["match"] == "Host(`home.example.com`)"
    assert rule["services"] == [{"name": "homeassistant", "port": 8123}]
    assert "middlewares" not in rule
    blueprint = testing.objects(default).get("authentik/configmap-authentik-ink-blueprints.yaml", {"data": {}})
    assert "home.example.com" not in str(blueprint["data"])


def test_sso_puts_forward_auth_in_front_on_both_sides(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, "[plugins.homeassistant]\nsso = true\n", plugins=PLATFORM)
    route = testing.objects(result)["homeassistant/ingressroute-home.yaml"]
    app = next(r for r in route["spec"]["routes"] if r["match"] == "Host(`home.example.com`)")
    assert app["middlewares"] == [{"name": "home-forward-auth"}]
    middleware = testing.objects(result)["homeassistant/middleware-home-forward-auth.yaml"]
    assert middleware["spec"]["forwardAuth"]["address"].startswith("http://authentik-server.authentik.svc")
    blueprint = testing.objects(result)["authentik/configmap-authentik-ink-blueprints.yaml"]["data"]
    assert "https://home.example.com" in next(iter(blueprint.values()))


def test_sso_asked_for_without_an_auth_provider_says_so(tmp_path: Path) -> None:
    with pytest.raises(ResolutionError, match=r"\[plugins.homeassistant\] sso is set, but"):
        testing.synth(tmp_path, "[plugins.homeassistant]\nsso = true\n", plugins=[*PLUGINS, "traefik", "cert-manager"])


def test_host_network_is_an_explicit_exemption(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, "[plugins.homeassistant]\nhost_network = true\n", plugins=PLUGINS)
    spec = pod(result)
    assert spec["hostNetwork"] is True
    assert spec["dnsPolicy"] == "ClusterFirstWithHostNet"
    namespace = testing.objects(result)["homeassistant/namespace-homeassistant.yaml"]
    assert namespace["metadata"]["labels"][POD_SECURITY] == "privileged"
    # Still non-root: the host network needs no root for ports above 1024.
    assert spec["containers"][0]["securityContext"]["runAsNonRoot"] is True


def test_config_volume_backed_up_on_the_storage_class(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, 'storage_class = "longhorn"\n', plugins=PLATFORM)
    claim = testing.objects(result)["homeassistant/persistentvolumeclaim-homeassistant-config.yaml"]
    assert claim["spec"]["storageClassName"] == "longhorn"
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    template = deployment(result)["spec"]["template"]
    assert template["metadata"]["annotations"]["backup.velero.io/backup-volumes"] == "config"


def test_without_the_platform_it_runs_with_warnings(alone) -> None:
    assert "homeassistant/deployment-homeassistant.yaml" in alone.files
    assert not any(p.startswith("homeassistant/ingressroute") for p in alone.files)
    assert "backup.velero.io/backup-volumes" not in deployment(alone)["spec"]["template"]["metadata"].get(
        "annotations", {}
    )
    assert any("ingress/home is left out" in w for w in alone.warnings)


def test_settings_from_ink_toml(tmp_path: Path) -> None:
    config = """
domain = "home.example.org"

[plugins.homeassistant]
hostname = "hass"
image_tag = "2026.10.0"
storage_size = "20Gi"
backup = false
env = { PYTHONWARNINGS = "ignore" }
"""
    result = testing.synth(tmp_path, config, plugins=PLATFORM)
    container = pod(result)["containers"][0]
    assert container["image"] == "ghcr.io/home-assistant/home-assistant:2026.10.0"
    assert pod(result)["initContainers"][0]["image"] == container["image"]
    assert {"name": "PYTHONWARNINGS", "value": "ignore"} in container["env"]
    route = testing.objects(result)["homeassistant/ingressroute-hass.yaml"]
    assert route["spec"]["routes"][0]["match"] == "Host(`hass.home.example.org`)"
    claim = testing.objects(result)["homeassistant/persistentvolumeclaim-homeassistant-config.yaml"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert "annotations" not in deployment(result)["spec"]["template"]["metadata"] or (
        "backup.velero.io/backup-volumes" not in deployment(result)["spec"]["template"]["metadata"]["annotations"]
    )


def test_settings_from_the_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("INK_PLUGINS__HOMEASSISTANT__HOST_NETWORK", "true")
    result = testing.synth(tmp_path, plugins=PLUGINS)
    assert pod(result)["hostNetwork"] is True


def test_disabled_leaves_no_trace(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, "[plugins.homeassistant]\nenabled = false\n", plugins=PLUGINS)
    assert not any(p.startswith("homeassistant/") for p in result.files)


def test_a_typo_in_a_setting_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="host_netwrok"):
        testing.synth(tmp_path, "[plugins.homeassistant]\nhost_netwrok = true\n", plugins=PLUGINS)


def test_network_policies_are_exact(default) -> None:
    mine = {p: o["spec"] for p, o in testing.objects(default).items() if p.startswith("homeassistant/networkpolicy-")}
    assert sorted(mine) == [
        "homeassistant/networkpolicy-allow-dns.yaml",
        "homeassistant/networkpolicy-allow-ingress-server.yaml",
        "homeassistant/networkpolicy-allow-internet.yaml",
        "homeassistant/networkpolicy-allow-same-namespace.yaml",
        "homeassistant/networkpolicy-default-deny.yaml",
    ]
    (ingress,) = mine["homeassistant/networkpolicy-allow-ingress-server.yaml"]["ingress"]
    assert ingress["from"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "traefik"}},
        }
    ]
    assert ingress["ports"] == [{"port": 8123, "protocol": "TCP"}]
    (internet,) = mine["homeassistant/networkpolicy-allow-internet.yaml"]["egress"]
    assert internet["to"][0]["ipBlock"]["cidr"] == "0.0.0.0/0"
    assert sorted(p["port"] for p in internet["ports"]) == [80, 443]


def test_more_than_one_replica_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="replicas"):
        testing.synth(tmp_path, "[plugins.homeassistant]\nreplicas = 2\n", plugins=PLUGINS)
