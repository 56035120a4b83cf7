"""Rocket.Chat: its MongoDB database, route, Custom OAuth through authentik, Jitsi, mail, uploads and settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ink import hookimpl, testing
from ink.errors import ConfigError
from ink.models import ResolvedSecret, SecretBinding
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator
from ink_plugin_rocketchat import VERSION

# Integrations off: only what Rocket.Chat cannot run without (its database) and the secrets provider.
ALONE = ["rocketchat", "mongodb", "sealed-secrets"]
# Integrations on: ingress, TLS, SSO (authentik on PostgreSQL), mail, Jitsi (with TURN), backups (Velero on MinIO).
TOGETHER = [
    *ALONE,
    "traefik",
    "cert-manager",
    "authentik",
    "cloudnativepg",
    "smtp",
    "jitsi",
    "coturn",
    "velero",
    "minio",
]
CONFIG = """
domain = "home.example.org"

[plugins.jitsi]
jvb_load_balancer_ip = "192.168.1.242"

[plugins.smtp]
enabled = true
host = "smtp.example.org"
username = "homelab@example.org"
from_address = "homelab@example.org"
"""
JITSI_APP = "3b387ba9-f57c-44c6-9810-8c0256abd64c"


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("rocketchat-alone"), plugins=ALONE)


@pytest.fixture(scope="module")
def together(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("rocketchat-together"), CONFIG, plugins=TOGETHER)


def objects(result) -> dict[str, Any]:
    return testing.objects(result)


def deployment(result) -> dict[str, Any]:
    return objects(result)["rocketchat/deployment-rocketchat.yaml"]


def server(result) -> dict[str, Any]:
    return deployment(result)["spec"]["template"]["spec"]["containers"][0]


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def ref(name: str, key: str) -> dict[str, Any]:
    return {"secretKeyRef": {"name": name, "key": key}}


def setup_job(result) -> dict[str, Any] | None:
    jobs = [o for p, o in objects(result).items() if p.startswith("rocketchat/job-rocketchat-jitsi-setup-")]
    assert len(jobs) <= 1
    return jobs[0] if jobs else None


def test_discovered_through_its_entry_point() -> None:
    assert make_plugin_host(environ={}).dists["rocketchat"].distribution == "ink-plugin-rocketchat"


def test_output_alone_matches_reviewed_snapshot(alone, snapshot) -> None:
    assert testing.snapshot_text(alone, ["rocketchat"]) == snapshot


def test_output_together_matches_reviewed_snapshot(together, snapshot) -> None:
    assert testing.snapshot_text(together, ["rocketchat"]) == snapshot


@pytest.mark.parametrize("which", ["alone", "together"])
def test_output_validates(which, request, ink_validator: ManifestValidator) -> None:
    report = ink_validator.validate_all(objects(request.getfixturevalue(which)).items())
    assert report.problems == []
    assert report.skipped == {}


def test_official_image_port_probes_user_and_volumes(alone) -> None:
    container = server(alone)
    assert container["image"] == f"registry.rocket.chat/rocketchat/rocket.chat:{VERSION}"
    assert container["ports"] == [{"name": "http", "containerPort": 3000, "protocol": "TCP"}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": 3000, "scheme": "HTTP"}
    assert container["startupProbe"]["failureThreshold"] * container["startupProbe"]["periodSeconds"] >= 600
    assert container["securityContext"]["runAsUser"] == 65533
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {m["mountPath"] for m in container["volumeMounts"]} == {"/app/uploads", "/tmp"}
    assert deployment(alone)["spec"]["replicas"] == 1
    claim = objects(alone)["rocketchat/persistentvolumeclaim-rocketchat-uploads.yaml"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "8Gi"
    service = objects(alone)["rocketchat/service-rocketchat.yaml"]["spec"]["ports"]
    assert service == [{"name": "http", "port": 80, "targetPort": 3000, "protocol": "TCP"}]


def test_mongodb_binding_gives_mongo_url_and_the_oplog_url(alone) -> None:
    env = env_of(server(alone))
    assert env["MONGO_URL"] == ref("rocketchat-mongodb", "uri")
    assert env["MONGO_OPLOG_URL"] == ref("rocketchat-mongodb", "oplog-uri")
    # The database's user on the provider's replica set may read the oplog and the server status.
    users = {u["name"]: u for u in objects(alone)["mongodb/mongodbcommunity-mongodb.yaml"]["spec"]["users"]}
    assert users["rocketchat"]["roles"] == [
        {"name": "readWrite", "db": "rocketchat"},
        {"name": "read", "db": "local"},
        {"name": "clusterMonitor", "db": "admin"},
    ]
    # The consumer's pods may reach the members; nothing else in mongodb's namespace.
    egress = objects(alone)["rocketchat/networkpolicy-allow-egress.yaml"]["spec"]["egress"]
    mongo = [
        r
        for r in egress
        if r["to"][0].get("namespaceSelector", {}).get("matchLabels") == {"kubernetes.io/metadata.name": "mongodb"}
    ]
    assert mongo and mongo[0]["to"][0]["podSelector"] == {"matchLabels": {"app": "mongodb-svc"}}
    assert mongo[0]["ports"] == [{"port": 27017, "protocol": "TCP"}]


class Secrets(testing.StandIn):
    """A secrets provider that keeps the plaintext, to read the connection strings Rocket.Chat gets."""

    def __init__(self) -> None:
        super().__init__("secrets", "secrets")
        self.values: dict[str, dict[str, str]] = {}

    @hookimpl
    def ink_provide_secret(self, secret: ResolvedSecret) -> SecretBinding:
        self.values[f"{secret.namespace}/{secret.name}"] = dict(secret.data)
        return SecretBinding(name=secret.name, namespace=secret.namespace, keys=tuple(sorted(secret.data)))


def test_mongo_urls_point_at_the_providers_replica_set(tmp_path: Path) -> None:
    secrets = Secrets()
    testing.synth(tmp_path, plugins=["rocketchat", "mongodb"], extra={"secrets": secrets})
    mongo = secrets.values["rocketchat/rocketchat-mongodb"]
    password = mongo["password"]
    members = ",".join(f"mongodb-{i}.mongodb-svc.mongodb.svc.cluster.local:27017" for i in range(3))
    options = "replicaSet=mongodb&authSource=admin"
    assert mongo["uri"] == f"mongodb://rocketchat:{password}@{members}/rocketchat?{options}"
    assert mongo["oplog-uri"] == f"mongodb://rocketchat:{password}@{members}/local?{options}"
    # The operator sets the same password on the user.
    assert secrets.values["mongodb/mongodb-user-rocketchat"]["password"] == password
    # Without a TLS provider the replica set is plain: no CA to mount.
    assert "tls" not in mongo["uri"]


def test_alone_mounts_no_mongodb_ca(alone) -> None:
    assert not any(m["name"] == "mongodb-ca" for m in server(alone)["volumeMounts"])
    assert not any(path.startswith("rocketchat/certificate-") for path in objects(alone))


def test_with_tls_the_mongo_urls_verify_the_members_against_the_mounted_ca(tmp_path: Path) -> None:
    secrets = Secrets()
    result = testing.synth(tmp_path, plugins=["rocketchat", "mongodb", "cert-manager"], extra={"secrets": secrets})
    mongo = secrets.values["rocketchat/rocketchat-mongodb"]
    password = mongo["password"]
    members = ",".join(f"mongodb-{i}.mongodb-svc.mongodb.svc.cluster.local:27017" for i in range(3))
    # The Node.js driver's connection string options: TLS, verified against this CA file.
    options = "replicaSet=mongodb&authSource=admin&tls=true&tlsCAFile=/etc/ink/mongodb-ca/ca.crt"
    assert mongo["uri"] == f"mongodb://rocketchat:{password}@{members}/rocketchat?{options}"
    assert mongo["oplog-uri"] == f"mongodb://rocketchat:{password}@{members}/local?{options}"
    container = server(result)
    env = env_of(container)
    assert (env["MONGO_URL"], env["MONGO_OPLOG_URL"]) == (
        ref("rocketchat-mongodb", "uri"),
        ref("rocketchat-mongodb", "oplog-uri"),
    )
    mount = next(m for m in container["volumeMounts"] if m["name"] == "mongodb-ca")
    assert mount == {"name": "mongodb-ca", "mountPath": "/etc/ink/mongodb-ca", "readOnly": True}
    volumes = {v["name"]: v for v in deployment(result)["spec"]["template"]["spec"]["volumes"]}
    assert volumes["mongodb-ca"]["secret"]["secretName"] == "rocketchat-mongodb-ca"
    assert volumes["mongodb-ca"]["secret"]["items"] == [{"key": "ca.crt", "path": "ca.crt"}]
    # The CA reaches Rocket.Chat's namespace as a certificate from the in-cluster CA there.
    ca = objects(result)["rocketchat/certificate-rocketchat-mongodb-ca.yaml"]
    assert (ca["metadata"]["namespace"], ca["spec"]["issuerRef"]["name"]) == ("rocketchat", "ink-internal-ca")


def test_together_the_mongodb_edge_is_tls(together) -> None:
    from ink.run import edge_transports

    transports = {(e.source, e.name): t for e, t in edge_transports(together.graph, together.network).items()}
    assert transports[("rocketchat", "mongodb/rocketchat")] == "tls"
    mount = next(m for m in server(together)["volumeMounts"] if m["name"] == "mongodb-ca")
    assert mount["mountPath"] == "/etc/ink/mongodb-ca"


def test_alone_root_url_admin_and_uploads_without_integrations(alone) -> None:
    env = env_of(server(alone))
    assert env["ROOT_URL"] == "https://chat.example.com"
    assert env["ADMIN_USERNAME"] == "admin"
    assert env["ADMIN_PASS"] == ref("rocketchat-admin", "password")
    assert env["OVERWRITE_SETTING_Show_Setup_Wizard"] == "completed"
    assert env["OVERWRITE_SETTING_FileUpload_Storage_Type"] == "FileSystem"
    assert env["OVERWRITE_SETTING_FileUpload_FileSystemPath"] == "/app/uploads"
    # No auth, smtp or jitsi provider: none of their settings, and no setup Job.
    assert not [k for k in env if "OAuth" in k or "SMTP" in k or k.endswith("From_Email")]
    assert setup_job(alone) is None
    assert not [p for p in objects(alone) if p.startswith("rocketchat/ingressroute")]


def test_together_sso_through_authentik(together) -> None:
    env = env_of(server(together))
    prefix = "OVERWRITE_SETTING_Accounts_OAuth_Custom-Authentik"
    assert env["Accounts_OAuth_Custom_Authentik"] == "true"
    assert env[prefix] == "true"
    assert env[f"{prefix}-url"] == "https://auth.home.example.org"
    assert env[f"{prefix}-authorize_path"] == "/application/o/authorize/"
    assert env[f"{prefix}-token_path"] == "/application/o/token/"
    assert env[f"{prefix}-identity_path"] == "/application/o/userinfo/"
    assert env[f"{prefix}-id"] == "rocketchat"
    assert env[f"{prefix}-secret"]["secretKeyRef"]["key"]
    assert env[f"{prefix}-username_field"] == "preferred_username"
    # authentik registers Rocket.Chat's callback for the client.
    blueprint = "\n".join(str(o) for p, o in objects(together).items() if p.startswith("authentik/"))
    assert "https://chat.home.example.org/_oauth/authentik" in blueprint


def test_together_root_url_is_the_routes_public_url(together) -> None:
    assert env_of(server(together))["ROOT_URL"] == "https://chat.home.example.org"
    route = objects(together)["rocketchat/ingressroute-chat.yaml"]["spec"]["routes"][0]
    assert route["match"] == "Host(`chat.home.example.org`)"
    assert route["services"] == [{"name": "rocketchat", "port": 80}]


def test_together_mail_goes_through_smtp(together) -> None:
    env = env_of(server(together))
    assert env["OVERWRITE_SETTING_SMTP_Host"] == "smtp.example.org"
    assert env["OVERWRITE_SETTING_SMTP_Port"] == "587"
    assert (env["OVERWRITE_SETTING_SMTP_Protocol"], env["OVERWRITE_SETTING_SMTP_IgnoreTLS"]) == ("smtp", "false")
    assert env["OVERWRITE_SETTING_SMTP_Username"] == "homelab@example.org"
    assert env["OVERWRITE_SETTING_SMTP_Password"] == ref("rocketchat-smtp", "password")
    assert env["OVERWRITE_SETTING_From_Email"] == "homelab@example.org"


def test_together_jitsi_app_points_at_jitsis_public_url(together) -> None:
    job = setup_job(together)
    assert job is not None
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PostSync"
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["node", "/setup/jitsi.mjs"]
    assert env_of(container)["RC_URL"] == "http://rocketchat.rocketchat.svc:80"
    script = objects(together)["rocketchat/configmap-rocketchat-jitsi-setup.yaml"]["data"]["jitsi.mjs"]
    assert 'JSON.parse(readFileSync("/config/jitsi.json", "utf8"))' in script
    assert f"/api/apps/{JITSI_APP}/settings/" in script
    volumes = {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}
    assert volumes["wanted"]["secret"]["secretName"] == "rocketchat-jitsi"


def test_together_jitsi_settings_are_the_jitsi_plugins_public_url(tmp_path: Path) -> None:
    secrets = Secrets()
    plugins = [p for p in TOGETHER if p != "sealed-secrets"]
    testing.synth(tmp_path, CONFIG, plugins=plugins, extra={"secrets": secrets})
    # The jitsi plugin's route, with nothing but the domain typed by the user.
    wanted = secrets.values["rocketchat/rocketchat-jitsi"]["jitsi.json"]
    assert wanted == '{"jitsi_domain": "meet.home.example.org", "jitsi_ssl": true}\n'


def test_the_setup_job_does_not_change_with_the_domain(tmp_path: Path) -> None:
    other = testing.synth(tmp_path, CONFIG.replace("home.example.org", "lab.example.net"), plugins=TOGETHER)
    assert (
        setup_job(other)["metadata"]["name"]
        == setup_job(testing.synth(tmp_path / "b", CONFIG, plugins=TOGETHER))["metadata"]["name"]
    )


def test_together_uploads_are_backed_up(together) -> None:
    annotations = deployment(together)["spec"]["template"]["metadata"]["annotations"]
    assert annotations["backup.velero.io/backup-volumes"] == "uploads"


def test_jitsi_setting_off_drops_the_link_and_the_job(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, CONFIG + "\n[plugins.rocketchat]\njitsi = false\n", plugins=TOGETHER)
    assert setup_job(result) is None


def test_settings_from_ink_toml_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = '[plugins.rocketchat]\nhostname = "talk"\nimage_tag = "8.7.2"\nstorage_size = "20Gi"\n'
    result = testing.synth(tmp_path, config, plugins=ALONE)
    assert server(result)["image"] == "registry.rocket.chat/rocketchat/rocket.chat:8.7.2"
    assert env_of(server(result))["ROOT_URL"] == "https://talk.example.com"
    claim = objects(result)["rocketchat/persistentvolumeclaim-rocketchat-uploads.yaml"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    monkeypatch.setenv("INK_PLUGINS__ROCKETCHAT__ADMIN_USERNAME", "boss")
    assert env_of(server(testing.synth(tmp_path / "env", plugins=ALONE)))["ADMIN_USERNAME"] == "boss"


def test_more_than_one_replica_needs_a_licence(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"plugins\.rocketchat.*Enterprise licence"):
        testing.synth(tmp_path, "[plugins.rocketchat]\nreplicas = 2\n", plugins=ALONE)


def test_licensed_replicas_on_a_shared_volume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INK_SECRET_ROCKETCHAT_LICENSE", "licence-text")
    config = '[plugins.rocketchat]\nreplicas = 2\nenterprise_license = true\nstorage_access_mode = "ReadWriteMany"\n'
    result = testing.synth(tmp_path, config, plugins=ALONE)
    assert deployment(result)["spec"]["replicas"] == 2
    assert env_of(server(result))["OVERWRITE_SETTING_Enterprise_License"] == ref("rocketchat-license", "license")
    assert "rocketchat/poddisruptionbudget-rocketchat.yaml" in objects(result)


def test_user_env_cannot_override_the_wiring(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"plugins\.rocketchat\.env\.ROOT_URL"):
        testing.synth(tmp_path, '[plugins.rocketchat.env]\nROOT_URL = "https://x"\n', plugins=ALONE)


def test_a_bad_setting_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"plugins\.rocketchat\.hostname"):
        testing.synth(tmp_path, '[plugins.rocketchat]\nhostname = "Not A Label"\n', plugins=ALONE)


def test_with_a_metrics_provider_the_exporter_is_on_and_scraped(tmp_path: Path, alone) -> None:
    from ink.models import Capability

    monitoring = testing.StandIn("monitoring", Capability.METRICS)
    result = testing.synth(tmp_path, plugins=ALONE, extra={"monitoring": monitoring})
    target = testing.assert_metrics_target_serves(result, "rocketchat")
    assert (target.port, target.path, target.scheme) == (9458, "/metrics", "http")
    assert target.pods["app.kubernetes.io/component"] == "server"
    env = env_of(server(result))
    assert env["OVERWRITE_SETTING_Prometheus_Enabled"] == "true"
    assert env["OVERWRITE_SETTING_Prometheus_Port"] == "9458"
    # The Service publishes the web port only, as without metrics.
    service = objects(result)["rocketchat/service-rocketchat.yaml"]
    assert service == objects(alone)["rocketchat/service-rocketchat.yaml"]


def test_without_a_metrics_provider_the_exporter_stays_off(alone) -> None:
    assert testing.metrics_targets(alone, "rocketchat") == {}
    assert not any(name.startswith("OVERWRITE_SETTING_Prometheus") for name in env_of(server(alone)))
    assert [p["containerPort"] for p in server(alone)["ports"]] == [3000]
