"""Istio ambient: opt-in, the reviewed output, which namespaces are meshed, the NetworkPolicies and mTLS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ink import testing
from ink.cli import main
from ink.errors import ConfigError
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator

# metallb runs host-network speakers (never meshed); traefik receives LAN clients, cert-manager and
# cloudnativepg webhook calls (entries into the mesh); vaultwarden → PostgreSQL is a hop to carry.
PLUGINS = ["istio", "sealed-secrets", "traefik", "cert-manager", "cloudnativepg", "vaultwarden", "metallb"]
ON = "[plugins.istio]\nenabled = true\n"
DATAPLANE = "istio.io/dataplane-mode"
PSS = "pod-security.kubernetes.io/enforce"


@pytest.fixture(scope="module")
def meshed(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("istio"), ON, plugins=PLUGINS)


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("plain"), plugins=PLUGINS)


def namespace_labels(result) -> dict[str, dict[str, str]]:
    return {
        o["metadata"]["name"]: o["metadata"]["labels"]
        for o in testing.objects(result).values()
        if o["kind"] == "Namespace"
    }


def policy(result, namespace: str, name: str) -> dict:
    return testing.objects(result)[f"{namespace}/networkpolicy-{name}.yaml"]["spec"]


def peer_authentications(result) -> dict[str, dict]:
    return {p: o for p, o in testing.objects(result).items() if o["kind"] == "PeerAuthentication"}


def test_discovered_through_its_entry_point() -> None:
    assert make_plugin_host(environ={}).dists["istio"].distribution == "ink-plugin-istio"


def test_off_unless_enabled(meshed, plain) -> None:
    objects = testing.objects(plain)
    assert not any(path.startswith("istio/") for path in objects)
    assert peer_authentications(plain) == {}
    assert all(DATAPLANE not in labels for labels in namespace_labels(plain).values())
    assert plain.network.mesh is None and plain.network.meshed == []
    assert "15008" not in json.dumps([o for o in objects.values() if o["kind"] == "NetworkPolicy"])


def test_output_matches_reviewed_snapshot(meshed, snapshot) -> None:
    assert testing.snapshot_text(meshed) == snapshot


def test_output_validates_but_for_istios_own_kinds(meshed, ink_validator: ManifestValidator) -> None:
    """Every object validates strictly; Istio's PeerAuthentication has no schema in ../shared/crds (see README)."""
    report = ink_validator.validate_all(testing.objects(meshed).items())
    unschemed = sorted({str(p).split(":")[0] for p in report.problems})
    assert unschemed == sorted(peer_authentications(meshed))
    assert all("no schema for security.istio.io/v1 PeerAuthentication" in str(p) for p in report.problems)
    assert report.skipped == {}


def test_namespaces_meshed_by_default_and_those_left_out(meshed) -> None:
    assert meshed.network.meshed == ["cert-manager", "cloudnativepg", "sealed-secrets", "traefik", "vaultwarden"]
    left_out = meshed.network.mesh.left_out
    assert set(left_out) == {"istio-system", "metallb"}
    assert "host network" in left_out["metallb"]
    labels = namespace_labels(meshed)
    assert {ns for ns, lab in labels.items() if lab.get(DATAPLANE) == "ambient"} == set(meshed.network.meshed)


def test_app_namespaces_stay_restricted_the_node_agents_are_privileged(meshed, plain) -> None:
    labels, before = namespace_labels(meshed), namespace_labels(plain)
    assert labels["istio-system"][PSS] == "privileged"
    for namespace in meshed.network.meshed:
        assert labels[namespace][PSS] == before[namespace][PSS]
    assert labels["vaultwarden"][PSS] == "restricted"


def test_flows_between_meshed_pods_also_open_the_tunnel_port(meshed, plain) -> None:
    egress = policy(meshed, "vaultwarden", "allow-egress")["egress"]
    to_postgres = next(rule for rule in egress if "cloudnativepg" in json.dumps(rule["to"]))
    assert to_postgres["ports"] == [{"port": 5432, "protocol": "TCP"}, {"port": 15008, "protocol": "TCP"}]
    ingress = json.dumps(policy(meshed, "cloudnativepg", "allow-ingress-postgres-ha"))
    assert '"port": 15008' in ingress
    before = policy(plain, "vaultwarden", "allow-egress")["egress"]
    assert next(r for r in before if "cloudnativepg" in json.dumps(r["to"]))["ports"] == [
        {"port": 5432, "protocol": "TCP"}
    ]


def test_the_kubelets_snat_probes_reach_every_meshed_namespace_only(meshed) -> None:
    objects = testing.objects(meshed)
    probe = {"ipBlock": {"cidr": "169.254.7.127/32"}}
    admitting = {
        o["metadata"]["namespace"]
        for o in objects.values()
        if o["kind"] == "NetworkPolicy"
        for rule in o["spec"].get("ingress", [])
        if rule["from"] == [probe] and "ports" not in rule
    }
    assert admitting == set(meshed.network.meshed)


def test_unmeshed_namespaces_keep_their_policies(meshed, plain) -> None:
    def metallb(result) -> dict:
        return {p: o for p, o in testing.objects(result).items() if p.startswith("metallb/") and "networkpolicy" in p}

    assert metallb(meshed) == metallb(plain)


def test_strict_mtls_mesh_wide_with_exceptions_where_traffic_enters(meshed) -> None:
    found = peer_authentications(meshed)
    assert found["istio/peerauthentication-default.yaml"]["spec"] == {"mtls": {"mode": "STRICT"}}
    assert found["istio/peerauthentication-default.yaml"]["metadata"]["namespace"] == "istio-system"
    traefik = found["traefik/peerauthentication-ink-entry-traefik.yaml"]
    assert traefik["metadata"]["namespace"] == "traefik"
    assert traefik["spec"] == {
        "selector": {"matchLabels": {"app.kubernetes.io/name": "traefik"}},
        "mtls": {"mode": "STRICT"},
        "portLevelMtls": {"8000": {"mode": "PERMISSIVE"}, "8443": {"mode": "PERMISSIVE"}},
    }
    webhook = found["cert-manager/peerauthentication-ink-entry-webhook.yaml"]["spec"]
    assert webhook["portLevelMtls"] == {"10250": {"mode": "PERMISSIVE"}}
    # Nothing enters vaultwarden from outside the mesh: STRICT from the mesh-wide policy alone.
    assert not any(path.startswith("vaultwarden/") for path in found)


def test_a_namespace_left_out_makes_its_clients_entries(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, ON + 'exclude = ["traefik"]\n', plugins=PLUGINS)
    assert "traefik" not in result.network.meshed
    assert result.network.mesh.left_out["traefik"] == "[plugins.istio] exclude"
    entry = peer_authentications(result)["vaultwarden/peerauthentication-ink-entry-server.yaml"]["spec"]
    assert entry["portLevelMtls"] == {"8080": {"mode": "PERMISSIVE"}}
    # traefik → vaultwarden is no longer carried by the mesh: the tunnel port is not opened for it.
    assert "15008" not in json.dumps(policy(result, "traefik", "allow-egress-traefik"))


def test_namespaces_setting_meshes_exactly_those_that_can_be(tmp_path: Path) -> None:
    config = ON + 'namespaces = ["vaultwarden", "cloudnativepg", "metallb"]\n'
    result = testing.synth(tmp_path, config, plugins=PLUGINS)
    assert result.network.meshed == ["cloudnativepg", "vaultwarden"]
    assert any("metallb is left out of the mesh" in w and "host network" in w for w in result.warnings)
    assert result.network.mesh.left_out["traefik"] == "not in [plugins.istio] namespaces"


def test_privileged_node_agents_only_on_request(tmp_path: Path) -> None:
    plugins = ["istio", "sealed-secrets", "longhorn", "minio"]
    default = testing.synth(tmp_path / "default", ON, plugins=plugins)
    assert "longhorn-system" not in default.network.meshed
    assert "privileged node agents" in default.network.mesh.left_out["longhorn-system"]
    asked = testing.synth(tmp_path / "asked", ON + 'namespaces = ["longhorn-system", "minio"]\n', plugins=plugins)
    assert asked.network.meshed == ["longhorn-system", "minio"]


def test_the_four_official_charts_at_the_pinned_release(meshed) -> None:
    objects = testing.objects(meshed)
    sources = {
        o["metadata"]["name"]: o["spec"]["source"] for p, o in objects.items() if p.startswith("istio/application-")
    }
    assert {name: s["chart"] for name, s in sources.items()} == {
        "istio-base-chart": "base",
        "istiod-chart": "istiod",
        "istio-cni-chart": "cni",
        "ztunnel-chart": "ztunnel",
    }
    assert {s["repoURL"] for s in sources.values()} == {"https://istio-release.storage.googleapis.com/charts"}
    assert {s["targetRevision"] for s in sources.values()} == {"1.30.3"}
    istiod = sources["istiod-chart"]["helm"]["valuesObject"]
    assert istiod["profile"] == "ambient" and istiod["global"] == {
        "hub": "docker.io/istio",
        "tag": "1.30.3",
        "platform": "k3s",
    }
    cni = sources["istio-cni-chart"]["helm"]["valuesObject"]
    assert cni["profile"] == "ambient" and cni["global"]["platform"] == "k3s"
    ztunnel = sources["ztunnel-chart"]["helm"]["valuesObject"]
    assert (ztunnel["hub"], ztunnel["tag"]) == ("docker.io/istio", "1.30.3")
    for values in (istiod, cni, ztunnel):
        assert values["resources"]["requests"]["memory"] and values["resources"]["limits"]["memory"]
    waves = {
        o["metadata"]["name"]: int(o["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])
        for p, o in objects.items()
        if p.startswith("istio/application-")
    }
    assert waves["istio-base-chart"] < waves["istiod-chart"] < waves["istio-cni-chart"] < waves["ztunnel-chart"]


def test_settings_from_ink_toml(tmp_path: Path) -> None:
    config = ON + 'platform = ""\nimage_tag = "1.30.2"\nztunnel_resources = { memory_limit = "1Gi" }\n'
    objects = testing.objects(testing.synth(tmp_path, config, plugins=PLUGINS))
    istiod = objects["istio/application-istiod-chart.yaml"]["spec"]["source"]["helm"]["valuesObject"]
    assert istiod["global"] == {"hub": "docker.io/istio", "tag": "1.30.2"}
    ztunnel = objects["istio/application-ztunnel-chart.yaml"]["spec"]["source"]["helm"]["valuesObject"]
    assert ztunnel["resources"]["limits"] == {"memory": "1Gi"}


def test_settings_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INK_PLUGINS__ISTIO__ENABLED", "true")
    monkeypatch.setenv("INK_PLUGINS__ISTIO__EXCLUDE", '["cert-manager"]')
    result = testing.synth(tmp_path, plugins=PLUGINS)
    assert result.network.meshed == ["cloudnativepg", "sealed-secrets", "traefik", "vaultwarden"]


def test_a_bad_namespace_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        testing.synth(tmp_path, ON + 'namespaces = ["Vault_Warden"]\n', plugins=PLUGINS)
    assert str(error.value).startswith(f"{tmp_path / 'ink.toml'}:3: plugins.istio.namespaces")


def test_without_partners_it_meshes_itself_alone(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, ON, plugins=["istio"])
    assert result.network.meshed == [] and result.network.mesh_entries == []
    assert list(peer_authentications(result)) == ["istio/peerauthentication-default.yaml"]


def test_ink_graph_marks_the_hops_the_mesh_carries_mtls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INK_LOAD_PLUGINS", ",".join(PLUGINS))

    def report(config: str) -> dict:
        path = testing.prepare(tmp_path / str(len(config)), config)
        out = CliRunner().invoke(main, ["graph", "--policies", "--json", "--config", str(path)])
        assert out.exit_code == 0, out.output
        return json.loads(out.stdout)

    def transports(found: dict) -> dict[str, str | None]:
        return {f"{e['source']}→{e['target']}:{e['name']}": e["transport"] for e in found["edges"]}

    plain, meshed = report(""), report(ON)
    postgres, route = "vaultwarden→cloudnativepg:database/vaultwarden", "vaultwarden→traefik:ingress/vault"
    assert (transports(plain)[postgres], transports(meshed)[postgres]) == ("tls", "mtls")
    assert (transports(plain)[route], transports(meshed)[route]) == (
        "plain",
        "mtls",
    )  # the ingress → app hop is plain HTTP unmeshed
    assert meshed["meshed"] == ["cert-manager", "cloudnativepg", "sealed-secrets", "traefik", "vaultwarden"]
    assert set(meshed["not_meshed"]) == {"istio-system", "metallb"} and plain["not_meshed"] == {}
    text = CliRunner().invoke(main, ["graph", "--policies", "--config", str(tmp_path / str(len(ON)) / "ink.toml")])
    assert "vaultwarden → cloudnativepg  need database/vaultwarden  (mtls)" in text.stdout
    assert "meshed (mtls between their pods): cert-manager, cloudnativepg" in text.stdout
    assert "not meshed: metallb (metallb runs pods on the host network" in text.stdout
