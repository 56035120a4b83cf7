"""The S3 server (Deployment, Service, data volume) and the Job that creates buckets and users.

Upstream facts (pgsty/silo: Dockerfile.goreleaser, docs/metrics/healthcheck/README.md; pgsty/mc):
the image runs ``/usr/bin/silo`` (CMD ``silo``), sets ``HOME=/tmp``, keeps data in ``/data``,
serves S3 on 9000 and the console on ``--console-address``; ``/minio/health/live`` always answers
200 while the process is up, ``/minio/health/ready`` fails while overloaded. The ``mc`` client is
the ``pgsty/mc`` image (UBI micro, with a shell); ``mc admin policy attach`` fails with "already
in effect" when run twice, so the Job tolerates exactly that message.

TLS (pgsty/minio at RELEASE.2025-12-03T12-00-00Z, the newest stored snapshot; the pinned release keeps
MinIO's layout): ``--certs-dir`` names the folder; the server serves HTTPS on every port when it holds
``public.crt`` and ``private.key`` (``cmd/config-dir.go``, ``getTLSConfig`` in ``cmd/common-main.go``),
trusts the CAs in ``CAs/``, skips entries starting with ``..`` (a Secret volume's) and re-reads the pair
every 10 seconds, so cert-manager's renewals take effect without a restart. ``mc`` is a Go program:
``SSL_CERT_FILE`` adds the CA to the roots it trusts (Go ``crypto/x509``, Unix system roots).
"""

from __future__ import annotations

import json
import re

from ink import kube, tls
from ink.context import ServiceContext
from ink.models import BucketClaim, S3Binding, SecretKeyRef
from ink_plugin_minio import (
    ACCESS_KEY_ID,
    CONSOLE_PORT,
    ROOT_SECRET,
    S3_PORT,
    SECRET_ACCESS_KEY,
    SERVER_CERTIFICATE,
    SERVICE,
    credentials_secret,
    endpoint,
    scraped,
    serves_tls,
)

JOB_TTL_SECONDS = 86400  # a day to read the logs; Argo CD recreates the hook Job on the next sync anyway
CONFIG = "minio-buckets"
CERTS_DIR = "/etc/minio/certs"
# cert-manager's keys → MinIO's names (the CA under CAs/, which MinIO trusts for its own outgoing calls).
CERT_PATHS = {"tls.crt": "public.crt", "tls.key": "private.key", tls.CA_KEY: f"CAs/{tls.CA_KEY}"}


def minio(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings = ctx.settings
    secure = serves_tls(ctx)
    certs: list[kube.SecretFiles] = []
    if secure:
        tls.internal_certificate(
            scope,
            "server-certificate",
            ctx=ctx,
            name=SERVER_CERTIFICATE,
            namespace=ctx.namespace,
            dns_names=tls.service_names(SERVICE, ctx.namespace),
            component="server",
        )
        certs = [kube.SecretFiles(name=SERVER_CERTIFICATE, volume="certs", mount_path=CERTS_DIR, paths=CERT_PATHS)]
    elif tls.available(ctx):
        unable = ", ".join(tls.all_claims_verify(ctx, BucketClaim)[1])
        ctx.warn(
            f"the S3 endpoint stays plain http: one port serves every bucket, and {unable} cannot verify TLS "
            "(BucketClaim.tls is False); see the minio README"
        )
    scheme = "HTTPS" if secure else "HTTP"  # the kubelet's HTTPS probes do not verify the certificate
    server = kube.Container(
        name="server",
        image=settings.image,  # type: ignore[attr-defined]
        command=["/usr/bin/silo"],
        args=[
            "server",
            "/data",
            "--address",
            f":{S3_PORT}",
            "--console-address",
            f":{CONSOLE_PORT}",
            *(["--certs-dir", CERTS_DIR] if secure else []),
        ],
        ports=[kube.Port(name="s3", number=S3_PORT), kube.Port(name="console", number=CONSOLE_PORT)],
        health=kube.HttpProbe(path="/minio/health/live", port=S3_PORT, scheme=scheme),
        # Readiness has its own endpoint: not ready while the request queue is overloaded.
        readiness=kube.HttpProbe(path="/minio/health/ready", port=S3_PORT, scheme=scheme),
        startup_seconds=120,
        env={
            "MINIO_ROOT_USER": SecretKeyRef(name=ROOT_SECRET, key="MINIO_ROOT_USER"),
            "MINIO_ROOT_PASSWORD": SecretKeyRef(name=ROOT_SECRET, key="MINIO_ROOT_PASSWORD"),
            "MINIO_SITE_REGION": settings.region,  # type: ignore[attr-defined]
            # Public: every pod that may reach 9000 (the scraper, the buckets' clients) can read the metrics. The
            # alternative, a JWT from `mc admin prometheus generate`, is signed with the root key at run time.
            **({"MINIO_PROMETHEUS_AUTH_TYPE": "public"} if scraped(ctx) else {}),
        },
        resources=kube.Resources.of(settings.resources),  # type: ignore[attr-defined]
        mounts=[
            # Its own data is not a backup target: the backups of everything else live here.
            kube.Volume(
                name="data",
                mount_path="/data",
                size=settings.storage_size,  # type: ignore[attr-defined]
                backup_exempt="it holds the backups themselves; replicate the bucket off-site",
            ),
            # /tmp is HOME (mc config, certs dir ~/.minio/certs) on the read-only root filesystem.
            kube.Scratch(name="tmp", mount_path="/tmp"),
            *certs,
        ],
    )
    component = kube.Component(name="server", object_name=SERVICE, containers=[server])
    kube.Workloads(scope, "minio", ctx=ctx, components=[component])
    claims = sorted((need for need, _ in ctx.served if isinstance(need, BucketClaim)), key=lambda c: c.bucket)
    if claims:
        buckets_job(scope, ctx=ctx, claims=claims)


def policy(bucket: str) -> str:
    """Everything on one bucket and its objects, nothing else."""
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:*"],
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def env_prefix(bucket: str) -> str:
    return "BUCKET_" + re.sub(r"[^A-Z0-9]", "_", bucket.upper())


def setup_script(ctx: ServiceContext, claims: list[BucketClaim]) -> str:
    scheme, host = endpoint(ctx).split("://")
    lines = [
        "#!/bin/sh",
        "# Generated by ink: the buckets, users and policies the services claimed. Safe to run again.",
        "set -eu",
        f'export MC_HOST_ink="{scheme}://${{MINIO_ROOT_USER}}:${{MINIO_ROOT_PASSWORD}}@{host}"',
        "",
        "tries=0",
        "until mc ready ink >/dev/null 2>&1; do",
        "  tries=$((tries + 1))",
        '  if [ "$tries" -ge 60 ]; then echo "the S3 server did not become ready" >&2; exit 1; fi',
        "  sleep 5",
        "done",
        "",
        "# A second attach fails with 'policy change is already in effect' (minio/mc#4863): that is success.",
        "attach() {",
        '  if out=$(mc admin policy attach ink "$1" --user "$2" 2>&1); then return 0; fi',
        '  case "$out" in',
        '    *"already in effect"*) return 0 ;;',
        '    *) echo "$out" >&2; return 1 ;;',
        "  esac",
        "}",
    ]
    for claim in claims:
        bucket, prefix = claim.bucket, env_prefix(claim.bucket)
        lines += [
            "",
            f"# {bucket}, for {claim.owner}",
            f"mc mb --ignore-existing ink/{bucket}",
            f"mc admin policy create ink bucket-{bucket} /config/policy-{bucket}.json",
            f'mc admin user add ink "${prefix}_ACCESS_KEY_ID" "${prefix}_SECRET_ACCESS_KEY"',
            f'attach bucket-{bucket} "${prefix}_ACCESS_KEY_ID"',
        ]
    lines += ["", 'echo "buckets ready: ' + " ".join(c.bucket for c in claims) + '"']
    return "\n".join(lines) + "\n"


def buckets_job(scope: kube.Construct, *, ctx: ServiceContext, claims: list[BucketClaim]) -> None:
    """A ConfigMap with the script and policies, and a re-runnable Job that applies them.

    The Job is named by its content (script, policies, image): a changed bucket list makes a new Job.
    It runs after the server is healthy (Argo CD PostSync hook) and is kept a day to read the logs.
    """
    data = {"setup.sh": setup_script(ctx, claims)} | {f"policy-{c.bucket}.json": policy(c.bucket) for c in claims}
    env: dict[str, str | SecretKeyRef] = {
        "HOME": "/tmp",
        "MC_CONFIG_DIR": "/tmp/.mc",
        "MINIO_ROOT_USER": SecretKeyRef(name=ROOT_SECRET, key="MINIO_ROOT_USER"),
        "MINIO_ROOT_PASSWORD": SecretKeyRef(name=ROOT_SECRET, key="MINIO_ROOT_PASSWORD"),
    }
    for claim in claims:
        prefix, secret = env_prefix(claim.bucket), credentials_secret(claim.bucket)
        for suffix, key in (("ACCESS_KEY_ID", ACCESS_KEY_ID), ("SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)):
            env[f"{prefix}_{suffix}"] = SecretKeyRef(name=secret, key=key)
    ca: list[kube.SecretFiles] = []
    if serves_tls(ctx):
        # mc verifies the server with the CA from the server's own Secret (the same namespace).
        ca = [
            kube.SecretFiles(
                name=SERVER_CERTIFICATE, volume=S3Binding.CA_VOLUME, mount_path=S3Binding.CA_DIR, keys=(tls.CA_KEY,)
            )
        ]
        env["SSL_CERT_FILE"] = f"{S3Binding.CA_DIR}/{tls.CA_KEY}"
    kube.Workloads(
        scope,
        "buckets",
        ctx=ctx,
        components=[
            kube.Component(
                name="buckets",
                object_name=CONFIG,
                kind="Job",
                job=kube.SetupJob(argocd_hook="PostSync", ttl_seconds=JOB_TTL_SECONDS),
                containers=[
                    kube.Container(
                        name="mc",
                        image=ctx.settings.mc_image,  # type: ignore[attr-defined]
                        command=["/bin/sh", "/config/setup.sh"],
                        env=env,
                        resources=kube.Resources(cpu_request="10m", memory_request="32Mi", memory_limit="128Mi"),
                        mounts=[
                            kube.ConfigFiles(name=CONFIG, volume="config", mount_path="/config", files=data),
                            kube.Scratch(name="tmp", mount_path="/tmp"),
                            *ca,
                        ],
                    )
                ],
            )
        ],
    )
