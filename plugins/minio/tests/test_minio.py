"""The S3 provider: server, bucket claims, the bucket Job, and settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from ink import hookimpl, sealing, testing
from ink.errors import PluginError
from ink.models import BucketClaim, S3Binding, ServiceInfo
from ink.plugins import make_plugin_host
from ink.secrets import MasterKey
from ink.validate import ManifestValidator
from ink_plugin_minio import access_key_id, secret_access_key

PLUGINS = ["minio", "sealed-secrets"]


class App:
    """A consumer that claims buckets and remembers the bindings it got."""

    def __init__(
        self, name: str = "notes", buckets: tuple[str, ...] = ("notes-uploads",), *, tls: bool = False
    ) -> None:
        self.name = name
        self.buckets = buckets
        self.tls = tls  # its client verifies an https endpoint with the binding's CA
        self.bindings: dict[str, S3Binding] = {}

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name=self.name, title=self.name.title(), version="1.0.0", homepage="https://example.org")

    @hookimpl
    def ink_bucket_claims(self) -> list[BucketClaim]:
        return [BucketClaim(bucket=bucket, tls=self.tls) for bucket in self.buckets]

    @hookimpl
    def ink_workloads(self, scope, ctx) -> None:
        from ink import kube

        self.bindings = {bucket: ctx.bucket(bucket) for bucket in self.buckets}
        if self.tls:
            (first,) = list(self.bindings.values())[:1]
            env = {"AWS_ENDPOINT_URL": first.endpoint, "AWS_CA_BUNDLE": first.ca_file}
            app = kube.Container(
                name="app", image="docker.io/library/busybox:1.37.0", env=env, mounts=[*first.ca_mounts()]
            )
            kube.Workloads(scope, "app", ctx=ctx, components=[kube.Component(name="app", containers=[app])])


def synth(directory: Path, config: str = "", **apps: App):
    return testing.synth(directory, config, plugins=PLUGINS, extra=apps or {"notes": App()})


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("minio")
    app = App()
    return directory, synth(directory, notes=app), app


def objects(default) -> dict:
    return testing.objects(default[1])


def job(result) -> dict:
    (found,) = [body for path, body in testing.objects(result).items() if path.startswith("minio/job-")]
    return found


def unseal(directory: Path, body: dict, field: str) -> str:
    key = serialization.load_pem_private_key((directory / ".ink" / sealing.DEV_KEY_NAME).read_bytes(), None)
    meta = body["metadata"]
    value = body["spec"]["encryptedData"][field]
    return sealing.unseal_value(key, namespace=meta["namespace"], name=meta["name"], ciphertext=value).decode()


def test_discovered_through_its_entry_point() -> None:
    assert make_plugin_host(environ={}).dists["minio"].distribution == "ink-plugin-minio"


def test_output_matches_reviewed_snapshot(default, snapshot) -> None:
    assert testing.snapshot_text(default[1], ["minio", "notes"]) == snapshot


def test_output_validates(default, ink_validator: ManifestValidator) -> None:
    report = ink_validator.validate_all(objects(default).items())
    assert report.problems == []
    assert report.skipped == {}


def test_server_is_the_maintained_fork_with_real_health_endpoints(default) -> None:
    deployment = objects(default)["minio/deployment-minio.yaml"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "docker.io/pgsty/silo:RELEASE.2026-09-16T00-00-00Z"
    assert container["command"] == ["/usr/bin/silo"]
    assert container["args"] == ["server", "/data", "--address", ":9000", "--console-address", ":9001"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/minio/health/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/minio/health/ready"
    assert container["startupProbe"]["httpGet"]["path"] == "/minio/health/live"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert {e["name"] for e in container["env"]} == {"MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD", "MINIO_SITE_REGION"}
    assert {m["mountPath"] for m in container["volumeMounts"]} == {"/data", "/tmp"}


def test_data_volume_is_kept(default) -> None:
    claim = objects(default)["minio/persistentvolumeclaim-minio-data.yaml"]
    assert claim["metadata"]["annotations"]["argocd.argoproj.io/sync-options"] == "Delete=false,Prune=false"
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert claim["spec"]["resources"]["requests"]["storage"] == "100Gi"


def test_binding_points_at_the_service_and_a_consumer_side_secret(default) -> None:
    binding = default[2].bindings["notes-uploads"]
    assert binding.endpoint == "http://minio.minio.svc:9000"
    assert binding.bucket == "notes-uploads"
    assert binding.region == "us-east-1"
    assert binding.path_style is True
    assert (binding.access_key_id.name, binding.access_key_id.key) == ("notes-uploads-s3", "AWS_ACCESS_KEY_ID")
    assert (binding.secret_access_key.name, binding.secret_access_key.key) == (
        "notes-uploads-s3",
        "AWS_SECRET_ACCESS_KEY",
    )
    # The tuple carries both claims, with the generated values consumers may reuse.
    consumer, provider = binding.secrets
    assert (consumer.owner, provider.owner) == ("notes", "minio")
    assert consumer.data["AWS_ACCESS_KEY_ID"] == access_key_id("notes-uploads")
    assert consumer.data["AWS_SECRET_ACCESS_KEY"] == secret_access_key("notes-uploads")


def test_both_secrets_hold_the_same_credentials(default) -> None:
    directory, result, _ = default
    found = testing.objects(result)
    consumer = found["notes/sealedsecret-notes-uploads-s3.yaml"]
    provider = found["minio/sealedsecret-notes-uploads-s3.yaml"]
    master = MasterKey(testing.TEST_MASTER_KEY.encode(), "test")
    for field, spec in (("AWS_ACCESS_KEY_ID", access_key_id("notes-uploads")), ("AWS_SECRET_ACCESS_KEY", None)):
        value = unseal(directory, consumer, field)
        assert value == unseal(directory, provider, field)
        if spec is not None:
            assert value == master.derive(spec)
    assert unseal(directory, consumer, "AWS_ENDPOINT_URL") == "http://minio.minio.svc:9000"


def test_job_creates_bucket_user_and_policy_idempotently(default) -> None:
    found = objects(default)
    body = job(default[1])
    assert body["metadata"]["name"].startswith("minio-buckets-")
    assert len(body["metadata"]["name"]) == len("minio-buckets-") + 8
    assert body["spec"]["ttlSecondsAfterFinished"] == 86400
    assert body["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PostSync"
    pod = body["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == "docker.io/pgsty/mc:RELEASE.2026-09-16T00-00-00Z"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
    assert refs["MINIO_ROOT_PASSWORD"] == {"name": "minio-root", "key": "MINIO_ROOT_PASSWORD"}
    assert refs["BUCKET_NOTES_UPLOADS_ACCESS_KEY_ID"] == {"name": "notes-uploads-s3", "key": "AWS_ACCESS_KEY_ID"}
    script = found["minio/configmap-minio-buckets.yaml"]["data"]["setup.sh"]
    assert "mc mb --ignore-existing ink/notes-uploads" in script
    assert "mc admin policy create ink bucket-notes-uploads /config/policy-notes-uploads.json" in script
    assert 'mc admin user add ink "$BUCKET_NOTES_UPLOADS_ACCESS_KEY_ID"' in script
    assert '*"already in effect"*) return 0' in script
    policy = found["minio/configmap-minio-buckets.yaml"]["data"]["policy-notes-uploads.json"]
    assert '"arn:aws:s3:::notes-uploads/*"' in policy


def test_a_new_bucket_makes_a_new_job(default, tmp_path: Path) -> None:
    more = synth(tmp_path, notes=App(buckets=("notes-uploads", "notes-exports")))
    assert job(more)["metadata"]["name"] != job(default[1])["metadata"]["name"]
    script = testing.objects(more)["minio/configmap-minio-buckets.yaml"]["data"]["setup.sh"]
    assert script.index("ink/notes-exports") < script.index("ink/notes-uploads")  # sorted, stable


def test_no_claims_no_job(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, plugins=PLUGINS)
    assert not any(path.startswith(("minio/job-", "minio/configmap-")) for path in result.files)
    assert "minio/deployment-minio.yaml" in result.files


def test_a_bucket_name_too_short_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match="3 to 60 characters"):
        synth(tmp_path, notes=App(buckets=("ab",)))


def test_settings_from_ink_toml(tmp_path: Path) -> None:
    config = """
[plugins.minio]
storage_size = "1Ti"
region = "homelab"
image = "docker.io/pgsty/silo:RELEASE.2026-09-03T13-18-01Z"
"""
    app = App()
    result = synth(tmp_path, config, notes=app)
    found = testing.objects(result)
    assert found["minio/persistentvolumeclaim-minio-data.yaml"]["spec"]["resources"]["requests"]["storage"] == "1Ti"
    container = found["minio/deployment-minio.yaml"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "docker.io/pgsty/silo:RELEASE.2026-09-03T13-18-01Z"
    assert {"name": "MINIO_SITE_REGION", "value": "homelab"} in container["env"]
    assert app.bindings["notes-uploads"].region == "homelab"


def test_settings_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INK_PLUGINS__MINIO__MC_IMAGE", "docker.io/pgsty/mc:RELEASE.2026-09-13T00-00-00Z")
    body = job(synth(tmp_path))
    assert body["spec"]["template"]["spec"]["containers"][0]["image"] == (
        "docker.io/pgsty/mc:RELEASE.2026-09-13T00-00-00Z"
    )


def test_an_unpinned_image_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="image"):
        synth(tmp_path, '[plugins.minio]\nimage = "pgsty/silo"\n')


TLS_PLUGINS = [*PLUGINS, "cert-manager"]


@pytest.fixture(scope="module")
def over_tls(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("minio-tls")
    app = App(tls=True)
    return directory, testing.synth(directory, plugins=TLS_PLUGINS, extra={"notes": app}), app


def test_tls_output_matches_reviewed_snapshot(over_tls, snapshot) -> None:
    assert testing.snapshot_text(over_tls[1], ["minio", "notes"]) == snapshot


def test_tls_output_validates(over_tls, ink_validator: ManifestValidator) -> None:
    report = ink_validator.validate_all(testing.objects(over_tls[1]).items())
    assert report.problems == []
    assert report.skipped == {}


def test_with_a_tls_provider_and_verifying_consumers_the_server_serves_tls(over_tls) -> None:
    found = objects(over_tls)
    certificate = found["minio/certificate-minio-tls.yaml"]
    assert certificate["spec"]["issuerRef"]["name"] == "ink-internal-ca"
    assert certificate["spec"]["dnsNames"] == [
        "minio",
        "minio.minio",
        "minio.minio.svc",
        "minio.minio.svc.cluster.local",
    ]
    pod = found["minio/deployment-minio.yaml"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["args"][-2:] == ["--certs-dir", "/etc/minio/certs"]
    assert container["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"
    assert container["livenessProbe"]["httpGet"]["scheme"] == "HTTPS"
    certs = next(v for v in pod["volumes"] if v["name"] == "certs")
    # MinIO's names for cert-manager's keys: the pair at the top, the CA under CAs/.
    assert certs["secret"]["items"] == [
        {"key": "tls.crt", "path": "public.crt"},
        {"key": "tls.key", "path": "private.key"},
        {"key": "ca.crt", "path": "CAs/ca.crt"},
    ]
    binding = over_tls[2].bindings["notes-uploads"]
    assert binding.endpoint == "https://minio.minio.svc:9000"
    assert (binding.tls, binding.transport, binding.ca_file) == (True, "tls", "/etc/ink/s3-ca/ca.crt")
    # The CA reaches the consumer's namespace as ca.crt of a Certificate there, in its folder.
    ca = found["notes/certificate-notes-uploads-s3-ca.yaml"]
    assert ca["metadata"]["namespace"] == "notes"
    assert ca["spec"]["secretName"] == binding.ca.name == "notes-uploads-s3-ca"
    # The bucket Job's mc dials https and trusts the CA.
    mc = job(over_tls[1])["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in mc["env"]}
    assert env["SSL_CERT_FILE"] == "/etc/ink/s3-ca/ca.crt"
    script = found["minio/configmap-minio-buckets.yaml"]["data"]["setup.sh"]
    assert 'export MC_HOST_ink="https://${MINIO_ROOT_USER}:${MINIO_ROOT_PASSWORD}@minio.minio.svc:9000"' in script
    assert not any("stays plain" in w for w in over_tls[1].warnings)


def test_one_consumer_that_cannot_verify_keeps_the_server_plain_and_says_so(tmp_path: Path) -> None:
    apps = {"notes": App(tls=True), "photos": App("photos", ("photos-originals",))}
    result = testing.synth(tmp_path, plugins=TLS_PLUGINS, extra=apps)
    assert apps["notes"].bindings["notes-uploads"].endpoint == "http://minio.minio.svc:9000"
    assert apps["notes"].bindings["notes-uploads"].transport == "plain"
    assert not any(body["kind"] == "Certificate" and "minio" in path for path, body in testing.objects(result).items())
    assert any(
        "the S3 endpoint stays plain http" in w and "photos's s3/photos-originals cannot verify TLS" in w
        for w in result.warnings
    )


def test_without_a_tls_provider_the_server_stays_plain(tmp_path: Path) -> None:
    app = App(tls=True)
    result = testing.synth(tmp_path, plugins=PLUGINS, extra={"notes": app})
    assert app.bindings["notes-uploads"].endpoint == "http://minio.minio.svc:9000"
    assert app.bindings["notes-uploads"].ca is None
    container = testing.objects(result)["minio/deployment-minio.yaml"]["spec"]["template"]["spec"]["containers"][0]
    assert "--certs-dir" not in container["args"]
    assert not any("stays plain" in w for w in result.warnings)  # nothing to say: no TLS provider at all


def server_env(result) -> dict:
    container = testing.objects(result)["minio/deployment-minio.yaml"]["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value") for e in container["env"]}


def monitoring() -> testing.StandIn:
    from ink.models import Capability

    return testing.StandIn("monitoring", Capability.METRICS)


def test_with_a_metrics_provider_the_cluster_metrics_are_public_and_scraped(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, plugins=PLUGINS, extra={"notes": App(), "monitoring": monitoring()})
    target = testing.assert_metrics_target_serves(result, "minio", "cluster")
    assert (target.port, target.path, target.scheme, target.ca) == (9000, "/minio/v2/metrics/cluster", "http", None)
    assert server_env(result)["MINIO_PROMETHEUS_AUTH_TYPE"] == "public"


@pytest.mark.parametrize("order", ["notes-first", "monitoring-first"])
def test_over_tls_the_scrape_verifies_the_servers_certificate(tmp_path: Path, order: str) -> None:
    extra = {"notes": App(tls=True), "monitoring": monitoring()}
    if order == "monitoring-first":
        extra = dict(reversed(extra.items()))
    result = testing.synth(tmp_path, plugins=TLS_PLUGINS, extra=extra)
    target = testing.assert_metrics_target_serves(result, "minio", "cluster")
    assert (target.scheme, target.ca.name, target.ca.key) == ("https", "minio-tls", "ca.crt")
    # One of the certificate's names (minio.minio.svc): Prometheus dials the pod's address.
    assert target.server_name in testing.objects(result)["minio/certificate-minio-tls.yaml"]["spec"]["dnsNames"]


def test_a_consumer_that_cannot_verify_keeps_the_scrape_plain_too(tmp_path: Path) -> None:
    # Its claim comes from another plugin than the server: the metrics target still sees it (ctx.needs).
    apps = {"notes": App(tls=True), "photos": App("photos", ("photos-originals",)), "monitoring": monitoring()}
    result = testing.synth(tmp_path, plugins=TLS_PLUGINS, extra=apps)
    target = testing.metrics_targets(result, "minio")["cluster"]
    assert (target.scheme, target.ca) == ("http", None)


def test_without_a_metrics_provider_the_metrics_stay_behind_the_jwt(default) -> None:
    assert testing.metrics_targets(default[1], "minio") == {}
    assert "MINIO_PROMETHEUS_AUTH_TYPE" not in server_env(default[1])
