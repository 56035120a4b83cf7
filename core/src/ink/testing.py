"""Helpers for testing ink and ink plugins: synthesise in-process, read the result.

Synthesising in-process reuses one jsii (Node) runtime for the whole test session, which
is what keeps a suite of many synths fast::

    from ink import testing

    def test_my_plugin(tmp_path):
        result = testing.synth(tmp_path, '[plugins.myservice]\\nreplicas = 2\\n',
                               plugins=["myservice", "cloudnativepg", "sealed-secrets"])
        deployment = testing.objects(result)["myservice/deployment-myservice.yaml"]
        assert deployment["spec"]["replicas"] == 2

The same helpers are pytest fixtures (``ink_synth``, ``ink_objects``, ``ink_host``, ``ink_validator``,
``crd_dir``) from ink-core's pytest plugin, ``ink.pytest_plugin``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from ink import cluster, run, sealing
from ink.capabilities import CapabilitySpec
from ink.context import ServiceContext
from ink.hookspecs import hookimpl
from ink.models import (
    AuthBinding,
    AuthClient,
    BackupBinding,
    BucketClaim,
    CertificateBinding,
    CertificateClaim,
    DatabaseBinding,
    DatabaseClaim,
    MetricsBinding,
    MetricsTarget,
    ResolvedSecret,
    Route,
    RouteBinding,
    S3Binding,
    Scraper,
    SecretBinding,
    SecretKeyRef,
    ServiceInfo,
)
from ink.plugins import PluginHost, make_plugin_host

TEST_MASTER_KEY = "ink-test-master-key-never-use-this-one-for-real-0123456789"
"""A fixed master key, so tests see the same generated credentials every run."""


@cache
def _dev_keypair_cache() -> tuple[bytes, bytes]:
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        cert, key = sealing.generate_dev_keypair(Path(directory))
        return cert.read_bytes(), key.read_bytes()


def prepare(directory: Path, config: str = "") -> Path:
    """Write ``ink.toml``, the test master key and a (cached) development sealing key pair.

    Returns the path of ``ink.toml``.
    """
    state = directory / ".ink"
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    (state / "master.key").write_text(TEST_MASTER_KEY + "\n", encoding="utf-8")
    cert, key = _dev_keypair_cache()
    (state / sealing.DEV_CERT_NAME).write_bytes(cert)
    key_path = state / sealing.DEV_KEY_NAME
    key_path.write_bytes(key)
    key_path.chmod(0o600)
    config_path = directory / "ink.toml"
    config_path.write_text(config, encoding="utf-8")
    return config_path


def host(
    plugins: Sequence[str] | None = None,
    extra: Mapping[str, object] | None = None,
    capabilities: Sequence[CapabilitySpec] = (),
) -> PluginHost:
    """A fresh plugin host: the installed plugins (or only ``plugins``), plus ``extra`` objects.

    ``capabilities`` defines more capabilities for this host only, as a package's
    ``ink.capabilities`` entry point would.
    """
    environ = {"INK_LOAD_PLUGINS": ",".join(plugins)} if plugins is not None else {}
    return make_plugin_host(environ=environ, extra=extra, capabilities=capabilities)


def synth(
    directory: Path,
    config: str = "",
    *,
    plugins: Sequence[str] | None = None,
    extra: Mapping[str, object] | None = None,
    crd_dirs: Sequence[Path] = (),
    validate: bool = True,
    capabilities: Sequence[CapabilitySpec] = (),
    environment: str | None = None,
) -> run.SynthResult:
    """Run ``ink synth`` in-process on ``config`` in ``directory``; output goes to ``directory/dist``
    (``directory/dist-<environment>`` for an ``[environments.<name>]`` of ``config``)."""
    config_path = prepare(directory, config)
    out = directory / "dist"
    return run.synth(
        config_path=config_path,
        out=run.environment_output(out, environment) if environment else out,
        environment=environment or "",
        extra_crd_dirs=list(crd_dirs),
        validate=validate,
        host=host(plugins, extra, capabilities),
    )


def objects(result: run.SynthResult) -> dict[str, dict[str, Any]]:
    """The synthesised objects by output path, e.g. ``vaultwarden/deployment-vaultwarden.yaml``.

    Files for people rather than Kubernetes (``_cluster/``, see :mod:`ink.cluster`) are left out.
    """
    return {
        path: yaml.safe_load(text) for path, text in result.files.items() if not path.startswith(cluster.NOT_MANIFESTS)
    }


def snapshot_text(result: run.SynthResult, folders: Sequence[str] | None = None) -> str:
    """All files (or those of ``folders``) joined in path order, for a reviewed snapshot.

    Sealed values are replaced by a placeholder: they depend on the sealing key, which tests
    do not pin (the sealing tests prove those values separately).
    """
    parts = []
    for path, text in sorted(result.files.items()):
        if folders is None or path.split("/")[0] in folders:
            parts.append(f"--- {path}\n{_mask_sealed(text)}")
    return "\n".join(parts)


def _mask_sealed(text: str) -> str:
    lines = []
    inside = False
    for line in text.splitlines():
        if line.strip() == "encryptedData:":
            inside = True
            lines.append(line)
            continue
        if inside and line.startswith("    ") and ": " in line:
            key = line.split(": ", 1)[0]
            lines.append(f"{key}: <sealed>")
            continue
        inside = False
        lines.append(line)
    return "\n".join(lines) + "\n"


class StandIn:
    """A provider for tests: answers each need of its capabilities with a minimal binding, emits nothing.

    Use it where a plugin's tests need a capability but not a real provider of it::

        ingress = testing.StandIn("ingress", Capability.INGRESS)
        testing.synth(tmp_path, plugins=["myservice"], extra={"ingress": ingress})
    """

    def __init__(self, name: str, *capabilities: str) -> None:
        self.name = name
        self.capabilities = capabilities

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(
            name=self.name, title=self.name, version="1.0.0", homepage="https://example.org", provides=self.capabilities
        )

    @hookimpl
    def ink_provide_database(self, claim: DatabaseClaim) -> DatabaseBinding:
        ref = SecretKeyRef(name=f"{claim.name}-db", key="password")
        uri = SecretKeyRef(name=f"{claim.name}-db", key="uri")
        return DatabaseBinding(host="db", port=5432, database=claim.name, user=claim.name, password=ref, uri=uri)

    @hookimpl
    def ink_provide_ingress(self, route: Route, ctx: ServiceContext) -> RouteBinding:
        return RouteBinding(url=ctx.url(route.host), hostname=f"{route.host}.{ctx.domain}")

    @hookimpl
    def ink_provide_auth(self, client: AuthClient) -> AuthBinding:
        return AuthBinding(
            kind=client.kind,
            issuer_url="https://sso.example.com/",
            authorization_url="https://sso.example.com/authorize/",
            token_url="https://sso.example.com/token/",
            userinfo_url="https://sso.example.com/userinfo/",
            client_id=client.owner,
            client_secret=SecretKeyRef(name=f"{client.owner}-oidc", key="client-secret"),
            forward_auth_url="http://sso.example.com/outpost",
        )

    @hookimpl
    def ink_provide_backup(self) -> BackupBinding:
        return BackupBinding(schedule="0 3 * * *")

    @hookimpl
    def ink_provide_bucket(self, claim: BucketClaim) -> S3Binding:
        ref = SecretKeyRef(name=f"{claim.bucket}-s3", key="key")
        return S3Binding(endpoint="http://s3", bucket=claim.bucket, access_key_id=ref, secret_access_key=ref)

    @hookimpl
    def ink_provide_certificate(self, claim: CertificateClaim) -> CertificateBinding:
        return CertificateBinding(secret_name=claim.name)

    @hookimpl
    def ink_provide_secret(self, secret: ResolvedSecret) -> SecretBinding:
        return SecretBinding(name=secret.name, namespace=secret.namespace, keys=tuple(sorted(secret.data)))

    @hookimpl
    def ink_provide_metrics(self, target: MetricsTarget) -> MetricsBinding:
        return MetricsBinding(monitor="" if target.chart_monitor else f"PodMonitor {target.namespace}/{target.owner}")

    @hookimpl
    def ink_network(self) -> list[Scraper]:
        return [Scraper(pods={"app": "scraper"}, source="test stand-in")] if "metrics" in self.capabilities else []


def metrics_targets(result: run.SynthResult, owner: str) -> dict[str, MetricsTarget]:
    """The metrics endpoints ``owner`` declared that a metrics provider answered, by name."""
    assert result.graph is not None
    return {n.name: n for n in result.graph.needs if isinstance(n, MetricsTarget) and n.owner == owner}


def _pod_templates(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The pod template(s) of a workload object (Pod, Deployment, StatefulSet, DaemonSet, Job, CronJob)."""
    kind, spec = obj.get("kind"), obj.get("spec") or {}
    if kind == "Pod":
        return [obj]
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        return [spec.get("template") or {}]
    if kind == "CronJob":
        return [((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}]
    return []


def assert_metrics_target_serves(
    result: run.SynthResult, owner: str, name: str = "metrics", rendered: Sequence[Mapping[str, Any]] = ()
) -> MetricsTarget:
    """Assert ``owner``'s metrics target ``name`` is answered and its pods serve it; return the target.

    Its ``pods`` labels must select at least one pod template in the target's namespace, in the synthesised
    output or in ``rendered`` (what a chart renders, for chart-installed services), and every pod they select
    must have ``port`` as a container port (of a container or a sidecar init container)::

        target = testing.assert_metrics_target_serves(result, "gitea")
        assert target.path == "/metrics"
    """
    targets = metrics_targets(result, owner)
    assert name in targets, f"{owner} has no answered metrics target {name!r} (has: {sorted(targets)})"
    target = targets[name]
    selected = []
    for obj in [*objects(result).values(), *rendered]:
        if not isinstance(obj, Mapping) or (obj.get("metadata") or {}).get("namespace") != target.namespace:
            continue
        for template in _pod_templates(obj):
            labels = (template.get("metadata") or {}).get("labels") or {}
            if all(labels.get(k) == v for k, v in target.pods.items()):
                selected.append((f"{obj['kind']} {obj['metadata'].get('name')}", template.get("spec") or {}))
    assert selected, f"{owner}'s metrics target {name!r} selects no pod in {target.namespace} ({dict(target.pods)})"
    for what, spec in selected:
        sidecars = [c for c in spec.get("initContainers") or () if c.get("restartPolicy") == "Always"]
        containers = [*(spec.get("containers") or ()), *sidecars]
        ports = {p.get("containerPort") for c in containers for p in c.get("ports") or ()}
        assert target.port in ports, f"{what} has no container port {target.port} (ports: {sorted(ports - {None})})"
    return target


@cache
def go_module_dir(module: str, version: str) -> Path:
    """The extracted tree of a Go module from the Go module proxy (``go mod download``; cached by Go).

    For test data an upstream repository ships only in its released artifacts, e.g. the CRDs of an
    operator whose chart source has none (they are generated when the chart is packaged) but whose
    module zip has them. Needs the ``go`` tool; fails with the tool's words when the proxy refuses.
    """
    import json
    import shutil
    import subprocess

    go = shutil.which("go") or "/usr/local/go/bin/go"
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"}
    done = subprocess.run(
        [go, "mod", "download", "-json", f"{module}@{version}"], capture_output=True, text=True, env=env, check=False
    )
    info = json.loads(done.stdout or "{}")
    if done.returncode != 0 or "Dir" not in info:
        raise RuntimeError(f"go mod download {module}@{version} failed: {info.get('Error') or done.stderr.strip()}")
    return Path(info["Dir"])
