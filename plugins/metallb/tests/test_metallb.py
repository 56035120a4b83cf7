"""MetalLB: discovery, the reviewed output, address validation, settings overrides and the metrics targets."""

from __future__ import annotations

from pathlib import Path

import pytest

from ink import testing
from ink.errors import ConfigError
from ink.models import Capability
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator

PLUGINS = ["metallb"]
POOL = "metallb/ipaddresspool-default.yaml"
ADVERTISEMENT = "metallb/l2advertisement-default.yaml"
APPLICATION = "metallb/application-metallb-chart.yaml"


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("metallb"), plugins=PLUGINS)


def test_discovered_through_its_entry_point() -> None:
    assert make_plugin_host(environ={}).dists["metallb"].distribution == "ink-plugin-metallb"


def test_output_matches_reviewed_snapshot(default, snapshot) -> None:
    assert testing.snapshot_text(default) == snapshot


def test_output_validates(default, ink_validator: ManifestValidator) -> None:
    report = ink_validator.validate_all(testing.objects(default).items())
    assert report.problems == []
    assert report.skipped == {}


def test_default_pool_is_announced_in_layer_2(default) -> None:
    objects = testing.objects(default)
    assert objects[POOL]["spec"] == {"addresses": ["192.168.1.240-192.168.1.250"]}
    assert objects[ADVERTISEMENT]["spec"] == {"ipAddressPools": ["default"]}
    assert objects[POOL]["metadata"]["namespace"] == "metallb"


def test_namespace_is_privileged_for_the_speaker(default) -> None:
    labels = testing.objects(default)["metallb/namespace-metallb.yaml"]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"


def test_installed_from_the_official_chart_without_bgp(default) -> None:
    source = testing.objects(default)[APPLICATION]["spec"]["source"]
    assert source["repoURL"] == "https://metallb.github.io/metallb"
    assert source["chart"] == "metallb"
    assert source["targetRevision"] == "0.16.1"
    values = source["helm"]["valuesObject"]
    assert values["controller"]["image"] == {"repository": "quay.io/metallb/controller", "tag": "v0.16.1"}
    assert values["speaker"]["image"] == {"repository": "quay.io/metallb/speaker", "tag": "v0.16.1"}
    assert values["frrk8s"] == {"enabled": False}
    # The ConfigMap configuration (configInline) was removed upstream in 0.13.
    assert "configInline" not in values


def test_settings_from_ink_toml(tmp_path: Path) -> None:
    config = """
[plugins.metallb]
addresses = ["10.0.50.0/28", "10.0.60.10 - 10.0.60.20", "fd00:10::/120"]
pool_name = "lan"
avoid_buggy_ips = true
interfaces = ["eth0"]
frr_k8s = true
"""
    objects = testing.objects(testing.synth(tmp_path, config, plugins=PLUGINS))
    pool = objects["metallb/ipaddresspool-lan.yaml"]
    assert pool["spec"] == {
        "addresses": ["10.0.50.0/28", "10.0.60.10-10.0.60.20", "fd00:10::/120"],
        "avoidBuggyIPs": True,
    }
    assert objects["metallb/l2advertisement-lan.yaml"]["spec"] == {"ipAddressPools": ["lan"], "interfaces": ["eth0"]}
    assert objects[APPLICATION]["spec"]["source"]["helm"]["valuesObject"]["frrk8s"] == {"enabled": True}


def test_settings_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INK_PLUGINS__METALLB__ADDRESSES", '["192.168.10.200-192.168.10.210"]')
    monkeypatch.setenv("INK_PLUGINS__METALLB__IMAGE_TAG", "v0.16.0")
    objects = testing.objects(testing.synth(tmp_path, plugins=PLUGINS))
    assert objects[POOL]["spec"]["addresses"] == ["192.168.10.200-192.168.10.210"]
    values = objects[APPLICATION]["spec"]["source"]["helm"]["valuesObject"]
    assert values["speaker"]["image"]["tag"] == "v0.16.0"


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("192.168.1.250-192.168.1.240", "starts after it ends; did you mean '192.168.1.240-192.168.1.250'?"),
        ("not-an-ip", "is not a valid range of IP addresses; use a CIDR such as '192.168.1.240/28' or a range"),
        ("192.168.1.240", "must be a CIDR such as"),
        ("192.168.1.7/24", "has host bits set; did you mean '192.168.1.0/24'?"),
        ("192.168.1.0/33", "is not a valid CIDR"),
        ("192.168.1.1-fd00::1", "mixes an IPv4 and an IPv6 address"),
        ("10.0.0.1-10.0.0.2-10.0.0.3", "is not a valid range of IP addresses"),
    ],
)
def test_invalid_address_is_a_config_error_naming_the_key(tmp_path: Path, entry: str, reason: str) -> None:
    config = f'[plugins.metallb]\naddresses = ["192.168.2.0/28", "{entry}"]\n'
    with pytest.raises(ConfigError) as error:
        testing.synth(tmp_path, config, plugins=PLUGINS)
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'ink.toml'}:2: plugins.metallb.addresses: '{entry}' ")
    assert reason in message


def test_invalid_address_from_the_environment_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INK_PLUGINS__METALLB__ADDRESSES", '["192.168.1.250-192.168.1.240"]')
    with pytest.raises(ConfigError) as error:
        testing.synth(tmp_path, plugins=PLUGINS)
    assert str(error.value).startswith(
        "environment variable INK_PLUGINS__METALLB__ADDRESSES: plugins.metallb.addresses: "
        "'192.168.1.250-192.168.1.240' starts after it ends"
    )


def test_overlapping_entries_are_rejected(tmp_path: Path) -> None:
    config = '[plugins.metallb]\naddresses = ["192.168.1.0/28", "192.168.1.10-192.168.1.20"]\n'
    with pytest.raises(ConfigError, match=r"plugins\.metallb\.addresses: .*'192\.168\.1\.10-192\.168\.1\.20' overlaps"):
        testing.synth(tmp_path, config, plugins=PLUGINS)


def test_an_empty_pool_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"plugins\.metallb\.addresses"):
        testing.synth(tmp_path, "[plugins.metallb]\naddresses = []\n", plugins=PLUGINS)


def test_k3s_servicelb_is_disabled(default) -> None:
    # ServiceLB would answer the same LoadBalancer Services with host ports on every node.
    assert [d.component for d in default.cluster["metallb"].k3s_disable] == ["servicelb"]


def by_kind(result, kind: str) -> list[dict]:
    return [obj for obj in testing.objects(result).values() if obj["kind"] == kind]


def test_the_controller_is_scraped_over_verified_tls_with_a_token_that_may_only_read_metrics(
    tmp_path: Path, ink_validator: ManifestValidator
) -> None:
    extra = {
        "monitoring": testing.StandIn("monitoring", Capability.METRICS),
        "certs": testing.StandIn("certs", Capability.TLS),
    }
    result = testing.synth(tmp_path, plugins=PLUGINS, extra=extra)
    # Pods and port against the rendered chart: tests/test_metrics_targets.py.
    targets = testing.metrics_targets(result, "metallb")
    assert sorted(targets) == ["controller", "speaker"]
    target = targets["controller"]
    assert (dict(target.pods), target.port, target.path, target.scheme) == (
        {"app.kubernetes.io/name": "metallb", "app.kubernetes.io/component": "controller"},
        9120,
        "/metrics",
        "https",
    )
    assert (target.ca.name, target.ca.key) == ("metallb-metrics-tls", "ca.crt")
    assert target.server_name == "metallb-metrics.metallb.svc"
    assert (target.bearer_token.name, target.bearer_token.key) == ("metallb-metrics-reader-token", "token")
    assert [(a.alert, a.severity) for a in target.alerts] == [("MetalLBAddressPoolExhausted", "critical")]
    assert not target.host_network
    # The speakers: the same port, certificate and token, on the host network (the scraper dials the nodes).
    speaker = targets["speaker"]
    assert dict(speaker.pods) == {"app.kubernetes.io/name": "metallb", "app.kubernetes.io/component": "speaker"}
    assert speaker.host_network and not speaker.alerts
    same = ("port", "path", "scheme", "ca", "server_name", "bearer_token")
    assert [getattr(speaker, f) for f in same] == [getattr(target, f) for f in same]
    values = testing.objects(result)[APPLICATION]["spec"]["source"]["helm"]["valuesObject"]
    assert values["tls"] == {
        "controllerMetricsTLSSecret": "metallb-metrics-tls",
        "speakerMetricsTLSSecret": "metallb-metrics-tls",
    }
    [certificate] = by_kind(result, "Certificate")
    assert certificate["spec"]["secretName"] == "metallb-metrics-tls"
    assert certificate["spec"]["dnsNames"] == [target.server_name]
    assert certificate["spec"]["issuerRef"]["name"] == "ink-internal-ca"
    [account] = by_kind(result, "ServiceAccount")
    assert account["metadata"]["name"] == "metallb-metrics-reader"
    assert account["automountServiceAccountToken"] is False
    [token] = by_kind(result, "Secret")
    assert token["type"] == "kubernetes.io/service-account-token"
    assert token["metadata"]["annotations"] == {"kubernetes.io/service-account.name": "metallb-metrics-reader"}
    assert "data" not in token and "stringData" not in token  # the token controller fills it in the cluster
    [role] = by_kind(result, "ClusterRole")
    assert role["rules"] == [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]
    [binding] = by_kind(result, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == "metallb-metrics-reader"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "metallb-metrics-reader", "namespace": "metallb"}]
    report = ink_validator.validate_all(testing.objects(result).items())
    assert report.problems == []


def test_the_speakers_are_reached_on_the_nodes_and_the_controller_as_pods(tmp_path: Path) -> None:
    # The scraper's egress to the nodes on 9120 (hostNetwork), and to the controller's pods.
    extra = {
        "monitoring": testing.StandIn("monitoring", Capability.METRICS),
        "certs": testing.StandIn("certs", Capability.TLS),
    }
    result = testing.synth(tmp_path, plugins=PLUGINS, extra=extra, validate=False)
    flows = {f.edge: f for f in result.network.flows if f.edge.startswith("metallb→monitoring:metrics/")}
    speaker = [f for f in result.network.flows if f.edge == "metallb→monitoring:metrics/speaker"]
    assert speaker and all(f.target.cidr for f in speaker)
    assert all(p.text() == "9120/TCP" for f in speaker for p in f.ports)
    assert not flows["metallb→monitoring:metrics/controller"].target.cidr


def test_without_a_tls_provider_the_controller_is_not_scraped(tmp_path: Path) -> None:
    # Its self-signed certificate cannot be verified, and a monitor cannot skip verification.
    extra = {"monitoring": testing.StandIn("monitoring", Capability.METRICS)}
    result = testing.synth(tmp_path, plugins=PLUGINS, extra=extra)
    assert testing.metrics_targets(result, "metallb") == {}
    assert "tls" not in testing.objects(result)[APPLICATION]["spec"]["source"]["helm"]["valuesObject"]
    assert by_kind(result, "ClusterRole") == by_kind(result, "Certificate") == []


def test_without_a_metrics_provider_nothing_changes(tmp_path: Path, default) -> None:
    extra = {"certs": testing.StandIn("certs", Capability.TLS)}
    result = testing.synth(tmp_path, plugins=PLUGINS, extra=extra)
    assert testing.metrics_targets(result, "metallb") == {}
    assert testing.snapshot_text(result, ["metallb"]) == testing.snapshot_text(default, ["metallb"])
