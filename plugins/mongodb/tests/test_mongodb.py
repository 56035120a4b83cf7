"""mongodb: defines the mongodb capability and answers each need with a user on the operator's replica set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ink import hookimpl, testing
from ink.errors import ConfigError, PluginError, ResolutionError, UserError
from ink.models import NamedNeed, ResolvedSecret, SecretBinding, ServiceInfo
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator
from ink_plugin_mongodb import MONGODB_VERSION

PLUGINS = ["mongodb", "sealed-secrets"]
WITH_S3 = ["mongodb", "minio", "sealed-secrets"]
# With a TLS provider the members serve TLS only, with a certificate from the in-cluster CA.
WITH_TLS = ["mongodb", "cert-manager", "sealed-secrets"]
CA_FILE = "/etc/ink/mongodb-ca/ca.crt"
MEMBERS = ",".join(f"mongodb-{i}.mongodb-svc.mongodb.svc.cluster.local:27017" for i in range(3))


class App:
    """A consumer that does not import ink_plugin_mongodb: it names the capability and reads by attribute."""

    def __init__(self, params: dict[str, Any] | None = None, *, name: str = "app", database: str = "app") -> None:
        self.params = params or {}
        self.name = name
        self.database = database

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name=self.name, title="App", version="1.0.0", homepage="https://example.org")

    @hookimpl
    def ink_needs(self) -> list[NamedNeed]:
        return [NamedNeed(capability="mongodb", id=self.database, params=self.params)]

    @hookimpl
    def ink_workloads(self, scope, ctx) -> None:
        from ink import kube

        db = ctx.bindings[f"mongodb/{self.database}"]
        env = {"MONGO_URL": db.uri, "MONGO_PASSWORD": db.password, "MONGO_HOST": db.host}
        env |= {"MONGO_REPLICA_SET": db.replica_set, "MONGO_USER": db.username}
        if db.oplog_uri is not None:
            env["MONGO_OPLOG_URL"] = db.oplog_uri
        self.binding = db
        app = kube.Container(name="app", image="docker.io/library/busybox:1.37.0", env=env, mounts=db.ca_mounts())
        kube.Workloads(scope, self.name, ctx=ctx, components=[kube.Component(name=self.name, containers=[app])])


class Secrets(testing.StandIn):
    """A secrets provider that keeps the plaintext, so the tests can compare the two sides' passwords."""

    def __init__(self) -> None:
        super().__init__("secrets", "secrets")
        self.values: dict[str, dict[str, str]] = {}

    @hookimpl
    def ink_provide_secret(self, secret: ResolvedSecret) -> SecretBinding:
        self.values[f"{secret.namespace}/{secret.name}"] = dict(secret.data)
        return SecretBinding(name=secret.name, namespace=secret.namespace, keys=tuple(sorted(secret.data)))


def synth(tmp_path: Path, config: str = "", *, plugins=PLUGINS, **extra: object):
    return testing.synth(tmp_path, config, plugins=plugins, extra={"app": App(), **extra})


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory):
    return synth(tmp_path_factory.mktemp("mongodb"))


@pytest.fixture(scope="module")
def with_s3(tmp_path_factory: pytest.TempPathFactory):
    return synth(tmp_path_factory.mktemp("mongodb-s3"), plugins=WITH_S3)


@pytest.fixture(scope="module")
def with_tls(tmp_path_factory: pytest.TempPathFactory):
    """cert-manager as the TLS provider, minio for the dump: every connection verifies the members."""
    app = App({"oplog": True})
    secrets = Secrets()
    result = testing.synth(
        tmp_path_factory.mktemp("mongodb-tls"),
        plugins=["mongodb", "cert-manager", "minio"],
        extra={"app": app, "secrets": secrets},
    )
    return result, app, secrets


def replica_set(result) -> dict:
    return testing.objects(result)["mongodb/mongodbcommunity-mongodb.yaml"]


def app_env(result) -> dict[str, Any]:
    container = testing.objects(result)["app/deployment-app.yaml"]["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_the_package_defines_and_provides_mongodb_through_its_entry_points() -> None:
    host = make_plugin_host(environ={"INK_LOAD_PLUGINS": "mongodb"})
    assert "mongodb" in host.names
    spec = host.capabilities["mongodb"]
    assert spec.defined_by == "ink-plugin-mongodb"
    assert spec.provide_hook == "ink_provide_mongodb"
    assert host.implements("mongodb", "ink_provide_mongodb")


def test_output_matches_the_reviewed_snapshot(default, snapshot) -> None:
    assert testing.snapshot_text(default, ["app", "mongodb"]) == snapshot


def test_output_with_backups_matches_the_reviewed_snapshot(with_s3, snapshot) -> None:
    assert testing.snapshot_text(with_s3, ["mongodb"]) == snapshot


def test_output_with_tls_matches_the_reviewed_snapshot(with_tls, snapshot) -> None:
    assert testing.snapshot_text(with_tls[0], ["app", "mongodb"]) == snapshot


@pytest.mark.parametrize("fixture", ["default", "with_s3", "with_tls"])
def test_output_validates(fixture, request, ink_validator: ManifestValidator) -> None:
    result = request.getfixturevalue(fixture)
    result = result[0] if isinstance(result, tuple) else result
    report = ink_validator.validate_all(testing.objects(result).items())
    assert report.problems == []
    assert report.skipped == {}


def test_the_operator_runs_one_replica_set_with_a_user_per_need(default) -> None:
    objects = testing.objects(default)
    app = objects["mongodb/application-mongodb-kubernetes-operator.yaml"]
    source = app["spec"]["source"]
    assert (source["chart"], source["repoURL"]) == ("mongodb-kubernetes", "https://mongodb.github.io/helm-charts")
    assert source["helm"]["valuesObject"]["operator"]["watchedResources"] == ["mongodbcommunity"]
    spec = replica_set(default)["spec"]
    assert (spec["type"], spec["members"], spec["version"]) == ("ReplicaSet", 3, MONGODB_VERSION)
    assert spec["security"] == {"authentication": {"modes": ["SCRAM"]}}
    users = {u["name"]: u for u in spec["users"]}
    assert sorted(users) == ["app", "ink-admin", "ink-backup"]
    assert users["app"] == {
        "name": "app",
        "db": "admin",
        "passwordSecretRef": {"name": "mongodb-user-app", "key": "password"},
        "roles": [{"name": "readWrite", "db": "app"}],  # its own database only
        "scramCredentialsSecretName": "mongodb-scram-app",
    }
    assert users["ink-backup"]["roles"] == [{"name": "backup", "db": "admin"}]
    assert "mongodb/sealedsecret-mongodb-user-app.yaml" in objects
    claim = spec["statefulSet"]["spec"]["volumeClaimTemplates"][0]
    assert claim["metadata"]["name"] == "data-volume"
    assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"


def test_consumer_gets_members_replica_set_and_secret_refs(default) -> None:
    env = app_env(default)
    assert env["MONGO_URL"] == {"secretKeyRef": {"name": "app-mongodb", "key": "uri"}}
    assert env["MONGO_PASSWORD"] == {"secretKeyRef": {"name": "app-mongodb", "key": "password"}}
    assert env["MONGO_HOST"] == "mongodb-svc.mongodb.svc"
    assert (env["MONGO_REPLICA_SET"], env["MONGO_USER"]) == ("mongodb", "app")
    assert "MONGO_OPLOG_URL" not in env
    sealed = testing.objects(default)["app/sealedsecret-app-mongodb.yaml"]
    assert set(sealed["spec"]["encryptedData"]) == {"username", "password", "uri"}


def test_operator_and_consumer_hold_the_same_password_and_a_ready_uri(tmp_path: Path) -> None:
    secrets = Secrets()
    result = testing.synth(tmp_path, plugins=["mongodb"], extra={"app": App({"oplog": True}), "secrets": secrets})
    consumer = secrets.values["app/app-mongodb"]
    password = consumer["password"]
    assert len(password) == 32 and password.isalnum()
    assert secrets.values["mongodb/mongodb-user-app"] == {"password": password}
    assert consumer["uri"] == f"mongodb://app:{password}@{MEMBERS}/app?replicaSet=mongodb&authSource=admin"
    assert consumer["oplog-uri"] == f"mongodb://app:{password}@{MEMBERS}/local?replicaSet=mongodb&authSource=admin"
    assert password not in testing.snapshot_text(result)
    assert app_env(result)["MONGO_OPLOG_URL"] == {"secretKeyRef": {"name": "app-mongodb", "key": "oplog-uri"}}
    users = {u["name"]: u for u in replica_set(result)["spec"]["users"]}
    assert users["app"]["roles"] == [{"name": "readWrite", "db": "app"}, {"name": "read", "db": "local"}]


def test_cluster_monitor_param_adds_the_role(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, plugins=PLUGINS, extra={"app": App({"cluster_monitor": True})})
    users = {u["name"]: u for u in replica_set(result)["spec"]["users"]}
    assert {"name": "clusterMonitor", "db": "admin"} in users["app"]["roles"]


def test_without_s3_there_is_no_dump_and_synth_says_so(default) -> None:
    assert not any("cronjob" in path for path in testing.objects(default))
    assert any(w.startswith("mongodb: no enabled plugin provides s3, so s3/mongodb-backups") for w in default.warnings)


def test_with_s3_a_daily_dump_goes_to_the_claimed_bucket(with_s3) -> None:
    objects = testing.objects(with_s3)
    cron = objects["mongodb/cronjob-mongodb-backup.yaml"]
    assert cron["spec"]["schedule"] == "30 2 * * *"
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    dump = pod["initContainers"][0]
    assert dump["image"] == f"docker.io/library/mongo:{MONGODB_VERSION}"
    assert 'mongodump --uri="$MONGODB_URI" --oplog --gzip' in dump["command"][-1]
    assert dump["env"] == [
        {"name": "MONGODB_URI", "valueFrom": {"secretKeyRef": {"name": "mongodb-user-ink-backup", "key": "uri"}}}
    ]
    upload = pod["containers"][0]
    script = upload["command"][-1]
    assert 'export MC_HOST_s3="http://${AWS_ACCESS_KEY_ID}:${AWS_SECRET_ACCESS_KEY}@minio.minio.svc:9000"' in script
    assert 'mc cp "/backup/$name" "s3/mongodb-backups/dumps/$name"' in script
    assert "--older-than 30d" in script
    env = {e["name"]: e.get("valueFrom", e.get("value")) for e in upload["env"]}
    assert env["AWS_ACCESS_KEY_ID"] == {"secretKeyRef": {"name": "mongodb-backups-s3", "key": "AWS_ACCESS_KEY_ID"}}
    # The consumer learns when its database is dumped.
    assert not any(w.startswith("mongodb: no enabled plugin provides s3") for w in with_s3.warnings)


def test_backup_binding_schedule_reaches_the_consumer(tmp_path: Path) -> None:
    seen = {}

    class Reader(App):
        @hookimpl
        def ink_workloads(self, scope, ctx) -> None:
            seen["schedule"] = ctx.bindings["mongodb/app"].backup_schedule

    testing.synth(tmp_path, plugins=WITH_S3, extra={"app": Reader()})
    assert seen["schedule"] == "30 2 * * *"


def test_settings_from_ink_toml_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = '[plugins.mongodb]\nmembers = 1\nversion = "8.0.25"\nstorage_size = "20Gi"\n'
    spec = replica_set(synth(tmp_path, config))["spec"]
    assert (spec["members"], spec["version"]) == (1, "8.0.25")
    assert spec["statefulSet"]["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "20Gi"
    monkeypatch.setenv("INK_PLUGINS__MONGODB__MEMBERS", "5")
    assert replica_set(synth(tmp_path / "env"))["spec"]["members"] == 5


def test_members_change_every_connection_string(tmp_path: Path) -> None:
    secrets = Secrets()
    testing.synth(
        tmp_path, "[plugins.mongodb]\nmembers = 1\n", plugins=["mongodb"], extra={"app": App(), "secrets": secrets}
    )
    uri = secrets.values["app/app-mongodb"]["uri"]
    assert "@mongodb-0.mongodb-svc.mongodb.svc.cluster.local:27017/app?replicaSet=mongodb" in uri


def test_network_rules_name_the_operators_service_and_pods(default) -> None:
    policies = {p: o for p, o in testing.objects(default).items() if "/networkpolicy-" in p}
    ingress = policies["mongodb/networkpolicy-allow-ingress-mongodb-svc.yaml"]["spec"]
    assert ingress["podSelector"] == {"matchLabels": {"app": "mongodb-svc"}}
    assert ingress["ingress"][0]["ports"] == [{"port": 27017, "protocol": "TCP"}]
    assert "app/networkpolicy-allow-egress.yaml" in policies


@pytest.mark.parametrize("database", ["admin", "local", "ink-backup"])
def test_a_reserved_database_or_user_is_refused(tmp_path: Path, database: str) -> None:
    with pytest.raises(UserError, match=rf"asks for the MongoDB database '{database}', which MongoDB or ink reserves"):
        testing.synth(tmp_path, plugins=PLUGINS, extra={"app": App(database=database)})


def test_two_services_cannot_share_a_database(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"both ask for the MongoDB database 'app'"):
        testing.synth(tmp_path, plugins=PLUGINS, extra={"app": App(), "other": App(name="other")})


def test_a_bad_param_names_the_need_and_the_field(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match=r"mongodb/app is not a valid MongoNeed: oplog"):
        testing.synth(tmp_path, plugins=PLUGINS, extra={"app": App({"oplog": "sometimes"})})


def test_a_bad_setting_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"plugins\.mongodb\.members"):
        synth(tmp_path, "[plugins.mongodb]\nmembers = 0\n")


def test_without_consumers_the_replica_set_has_only_inks_users(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, plugins=PLUGINS)
    assert [u["name"] for u in replica_set(result)["spec"]["users"]] == ["ink-admin", "ink-backup"]


def test_without_the_provider_a_required_need_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ResolutionError, match=r"app needs mongodb \(mongodb/app\)"):
        testing.synth(tmp_path, plugins=["sealed-secrets"], extra={"app": App()})


# --- TLS inside the cluster ---------------------------------------------------------------------


def transports(result) -> dict[tuple[str, str], str | None]:
    from ink.run import edge_transports

    assert result.graph is not None and result.network is not None
    return {(e.source, e.name): t for e, t in edge_transports(result.graph, result.network).items()}


def test_without_a_tls_provider_everything_stays_plain(default, with_s3) -> None:
    assert "tls" not in replica_set(default)["spec"]["security"]
    assert not any("certificate" in path for path in default.files)
    container = testing.objects(default)["app/deployment-app.yaml"]["spec"]["template"]["spec"]["containers"][0]
    assert "volumeMounts" not in container
    dump = testing.objects(with_s3)["mongodb/cronjob-mongodb-backup.yaml"]["spec"]["jobTemplate"]["spec"]
    script = dump["template"]["spec"]["initContainers"][0]["command"][-1]
    assert "--tls" not in script
    assert 'mongodump --uri="$MONGODB_URI" --oplog --gzip' in script
    # ink graph --policies says so.
    assert transports(default)[("app", "mongodb/app")] == "plain"


def test_without_a_tls_provider_the_binding_is_plain(tmp_path: Path) -> None:
    app, secrets = App({"oplog": True}), Secrets()
    testing.synth(tmp_path, plugins=["mongodb"], extra={"app": app, "secrets": secrets})
    binding = app.binding
    assert (binding.tls, binding.ca, binding.ca_file, binding.ca_mounts()) == (False, None, "", ())
    assert binding.transport == "plain"
    for key in ("uri", "oplog-uri"):
        assert "tls" not in secrets.values["app/app-mongodb"][key]


def test_with_tls_the_members_serve_tls_only_with_a_certificate_from_the_internal_ca(with_tls) -> None:
    result, _, _ = with_tls
    objects = testing.objects(result)
    assert replica_set(result)["spec"]["security"] == {
        "authentication": {"modes": ["SCRAM"]},
        "tls": {
            "enabled": True,
            "optional": False,  # requireTLS: no plaintext client is accepted
            "certificateKeySecretRef": {"name": "mongodb-tls"},
            "caCertificateSecretRef": {"name": "mongodb-tls"},
        },
    }
    certificate = objects["mongodb/certificate-mongodb-tls.yaml"]
    assert certificate["metadata"]["namespace"] == "mongodb"
    spec = certificate["spec"]
    assert spec["secretName"] == "mongodb-tls"
    assert spec["issuerRef"] == {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "ink-internal-ca"}
    # Every member's pod DNS name (what clients and the members dial) and the Service's names.
    assert spec["dnsNames"] == [
        *(f"mongodb-{i}.mongodb-svc.mongodb.svc.cluster.local" for i in range(3)),
        "mongodb-svc",
        "mongodb-svc.mongodb",
        "mongodb-svc.mongodb.svc",
        "mongodb-svc.mongodb.svc.cluster.local",
    ]
    # No extended key usage: the members also present it to one another as clients.
    assert "usages" not in spec
    assert objects["cert-manager/clusterissuer-ink-internal-ca.yaml"]["spec"] == {
        "ca": {"secretName": "ink-internal-ca"}
    }


def test_with_tls_the_certificate_follows_the_members(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, "[plugins.mongodb]\nmembers = 1\n", plugins=WITH_TLS, extra={"app": App()})
    names = testing.objects(result)["mongodb/certificate-mongodb-tls.yaml"]["spec"]["dnsNames"]
    assert [n for n in names if n.startswith("mongodb-") and not n.startswith("mongodb-svc")] == [
        "mongodb-0.mongodb-svc.mongodb.svc.cluster.local"
    ]


def test_with_tls_the_uris_verify_the_members_against_the_ca_in_the_consumers_namespace(with_tls) -> None:
    result, app, secrets = with_tls
    consumer = secrets.values["app/app-mongodb"]
    password = consumer["password"]
    options = f"replicaSet=mongodb&authSource=admin&tls=true&tlsCAFile={CA_FILE}"
    assert consumer["uri"] == f"mongodb://app:{password}@{MEMBERS}/app?{options}"
    assert consumer["oplog-uri"] == f"mongodb://app:{password}@{MEMBERS}/local?{options}"
    binding = app.binding
    assert binding.tls is True and binding.transport == "tls"
    assert (binding.ca.name, binding.ca.key) == ("app-mongodb-ca", "ca.crt")
    assert binding.ca_file == CA_FILE
    # The CA's copy: a certificate from the same issuer in the consumer's namespace (its Secret has ca.crt).
    objects = testing.objects(result)
    ca = objects["app/certificate-app-mongodb-ca.yaml"]
    assert (ca["metadata"]["namespace"], ca["spec"]["secretName"]) == ("app", "app-mongodb-ca")
    assert ca["spec"]["issuerRef"]["name"] == "ink-internal-ca"
    pod = objects["app/deployment-app.yaml"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["volumeMounts"] == [
        {"name": "mongodb-ca", "mountPath": "/etc/ink/mongodb-ca", "readOnly": True}
    ]
    (volume,) = pod["volumes"]
    assert volume["name"] == "mongodb-ca"
    assert volume["secret"]["secretName"] == "app-mongodb-ca"
    assert volume["secret"]["items"] == [{"key": "ca.crt", "path": "ca.crt"}]


def test_with_tls_the_dump_verifies_the_members(with_tls) -> None:
    result, _, secrets = with_tls
    cron = testing.objects(result)["mongodb/cronjob-mongodb-backup.yaml"]
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    dump = pod["initContainers"][0]
    assert f'mongodump --uri="$MONGODB_URI" --tls --tlsCAFile={CA_FILE} --oplog --gzip' in dump["command"][-1]
    mount = next(m for m in dump["volumeMounts"] if m["name"] == "mongodb-ca")
    assert mount == {"name": "mongodb-ca", "mountPath": "/etc/ink/mongodb-ca", "readOnly": True}
    volume = next(v for v in pod["volumes"] if v["name"] == "mongodb-ca")
    assert volume["secret"]["secretName"] == "mongodb-tls"  # the members' own certificate's ca.crt
    assert volume["secret"]["items"] == [{"key": "ca.crt", "path": "ca.crt"}]
    # The flags carry TLS; the uri stays free of it (mongodump refuses a uri and flags that disagree).
    assert "tls" not in secrets.values["mongodb/mongodb-user-ink-backup"]["uri"]


def test_with_tls_ink_graph_shows_the_edge_as_tls(with_tls) -> None:
    assert transports(with_tls[0])[("app", "mongodb/app")] == "tls"


def test_tls_optional_accepts_plaintext_clients_while_an_install_moves_to_tls(tmp_path: Path, monkeypatch) -> None:
    config = "[plugins.mongodb]\ntls_optional = true\n"
    spec = replica_set(testing.synth(tmp_path, config, plugins=WITH_TLS, extra={"app": App()}))["spec"]
    assert spec["security"]["tls"]["optional"] is True
    monkeypatch.setenv("INK_PLUGINS__MONGODB__TLS_OPTIONAL", "true")
    env_spec = replica_set(testing.synth(tmp_path / "env", plugins=WITH_TLS, extra={"app": App()}))["spec"]
    assert env_spec["security"]["tls"]["optional"] is True
    # Without a TLS provider there is nothing to make optional: the replica set stays plain.
    plain = replica_set(testing.synth(tmp_path / "plain", config, plugins=PLUGINS, extra={"app": App()}))["spec"]
    assert "tls" not in plain["security"]


def test_with_a_metrics_provider_the_agents_serve_metrics_behind_a_generated_password(tmp_path: Path) -> None:
    secrets = Secrets()
    result = synth(tmp_path, plugins=["mongodb", "prometheus"], secrets=secrets)
    spec = replica_set(result)["spec"]
    assert spec["prometheus"] == {
        "username": "prometheus",
        "passwordSecretRef": {"name": "mongodb-metrics", "key": "password"},
        "port": 9216,
    }
    agent = spec["statefulSet"]["spec"]["template"]["spec"]["containers"][1]
    assert agent["name"] == "mongodb-agent"
    assert agent["ports"] == [{"name": "prometheus", "containerPort": 9216, "protocol": "TCP"}]
    scrape = secrets.values["mongodb/mongodb-metrics"]
    assert scrape["username"] == "prometheus" and len(scrape["password"]) == 32
    assert scrape["password"] not in testing.snapshot_text(result)
    [endpoint] = testing.objects(result)["mongodb/podmonitor-mongodb-members.yaml"]["spec"]["podMetricsEndpoints"]
    assert endpoint["portNumber"] == 9216 and endpoint["scheme"] == "http"
    assert endpoint["basicAuth"] == {
        "username": {"name": "mongodb-metrics", "key": "username"},
        "password": {"name": "mongodb-metrics", "key": "password"},
    }
    monitor = testing.objects(result)["mongodb/podmonitor-mongodb-members.yaml"]
    assert monitor["spec"]["selector"] == {"matchLabels": {"app": "mongodb-svc"}}
    ingress = testing.objects(result)["mongodb/networkpolicy-allow-ingress-mongodb-svc.yaml"]["spec"]["ingress"]
    assert {"port": 9216, "protocol": "TCP"} in [p for rule in ingress for p in rule.get("ports", [])]


def test_without_a_metrics_provider_the_members_serve_no_metrics(default) -> None:
    spec = replica_set(default)["spec"]
    assert "prometheus" not in spec
    assert "ports" not in spec["statefulSet"]["spec"]["template"]["spec"]["containers"][1]
    assert not [k for k in testing.objects(default) if "metrics" in k]
    assert not testing.metrics_targets(default, "mongodb")
