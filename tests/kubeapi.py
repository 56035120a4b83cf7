"""A real, throwaway Kubernetes API server for the tests: etcd plus kube-apiserver on 127.0.0.1.

Both are built from the Go module proxy by ``tests/tools/gobuild.py`` (pinned, cached by version).
Nothing listens beyond loopback; ports are random free ones; etcd keeps its data in a temporary
folder. The processes die with the test session whatever happens: each runs in its own process
group that ``stop()`` (and an atexit hook) kills, and the kernel kills it too if the Python
process dies first (``PR_SET_PDEATHSIG``), so a SIGKILLed pytest leaves nothing behind.

No controller-manager or scheduler runs: server-side dry-run needs only the API server, and
objects a real cluster would create (the namespaces' default ServiceAccount…) are not needed.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import ctypes
import datetime
import ipaddress
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ink.dryrun import Cluster, KubeClient

sys.path.insert(0, str(Path(__file__).parent / "tools"))
import gobuild

_PR_SET_PDEATHSIG = 1
READY_TIMEOUT = 180.0  # seconds; a cold start on a busy 2-core machine takes about 15


def _die_with_parent() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A serving certificate for 127.0.0.1 and localhost, valid for a day; it is its own CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ink-test-apiserver")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "serving.crt", directory / "serving.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


@dataclass
class TestAPIServer:
    """A running etcd and kube-apiserver; ``client()`` talks to it as a cluster admin."""

    directory: Path
    cluster: Cluster
    processes: list[subprocess.Popen[bytes]]
    version: str

    def client(self) -> KubeClient:
        return KubeClient(self.cluster)

    def write_kubeconfig(self, path: Path) -> Path:
        """A kubeconfig for this server (token auth, the serving certificate as CA), as kubectl writes one."""
        ca = (self.directory / "serving.crt").read_bytes()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "ink-test",
            "clusters": [
                {
                    "name": "ink-test",
                    "cluster": {
                        "server": self.cluster.server,
                        "certificate-authority-data": base64.b64encode(ca).decode(),
                    },
                }
            ],
            "users": [{"name": "admin", "user": {"token": self.cluster.token}}],
            "contexts": [{"name": "ink-test", "context": {"cluster": "ink-test", "user": "admin"}}],
        }
        path.write_text(yaml.safe_dump(config))
        return path

    def stop(self) -> None:
        for process in reversed(self.processes):  # the API server before its etcd
            _kill_group(process)
        shutil.rmtree(self.directory, ignore_errors=True)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _spawn(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: stop() kills it and anything it started
            preexec_fn=_die_with_parent,  # the kernel's guarantee against a killed pytest
        )


def _log_tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def build_binaries() -> dict[str, Path]:
    """The pinned etcd and kube-apiserver, built from the Go module proxy on first use."""
    return {name: gobuild.build(gobuild.TOOLS[name]) for name in ("etcd", "kube-apiserver")}


def start(binaries: Mapping[str, Path] | None = None, attempts: int = 3) -> TestAPIServer:
    """Start etcd and kube-apiserver and wait for /readyz; raise with the logs if they do not come up.

    The free ports are found before the processes bind them, so another process can take one in
    between: that case (and only that) is retried with fresh ports.
    """
    binaries = binaries or build_binaries()
    for attempt in range(1, attempts + 1):
        try:
            return _start(binaries)
        except RuntimeError as err:
            if "address already in use" not in str(err) or attempt == attempts:
                raise
    raise AssertionError("unreachable")


def _start(binaries: Mapping[str, Path]) -> TestAPIServer:
    directory = Path(tempfile.mkdtemp(prefix="ink-apiserver-"))
    processes: list[subprocess.Popen[bytes]] = []
    server = None
    try:
        cert, key = _self_signed(directory)
        sa_key = ec.generate_private_key(ec.SECP256R1())
        sa_file, sa_public = directory / "service-account.key", directory / "service-account.pub"
        sa_file.write_bytes(
            sa_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
            )
        )
        sa_public.write_bytes(
            sa_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        token = secrets.token_urlsafe(32)
        (directory / "tokens.csv").write_text(f"{token},ink-test-admin,ink-test-admin,system:masters\n")
        etcd_port, peer_port, api_port = _free_port(), _free_port(), _free_port()
        etcd_log, api_log = directory / "etcd.log", directory / "kube-apiserver.log"
        processes.append(
            _spawn(
                [
                    str(binaries["etcd"]),
                    "--name=ink-test",
                    f"--data-dir={directory / 'etcd'}",
                    f"--listen-client-urls=http://127.0.0.1:{etcd_port}",
                    f"--advertise-client-urls=http://127.0.0.1:{etcd_port}",
                    f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
                    f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
                    f"--initial-cluster=ink-test=http://127.0.0.1:{peer_port}",
                    "--listen-metrics-urls=",
                    "--unsafe-no-fsync",  # throwaway data: durability is not worth the disk waits
                    "--log-level=warn",
                ],
                etcd_log,
            )
        )
        processes.append(
            _spawn(
                [
                    str(binaries["kube-apiserver"]),
                    f"--etcd-servers=http://127.0.0.1:{etcd_port}",
                    "--bind-address=127.0.0.1",
                    "--advertise-address=127.0.0.1",
                    # The kubernetes Service's endpoints would be this loopback address, which the
                    # reconciler refuses; nothing here routes to it anyway.
                    "--endpoint-reconciler-type=none",
                    f"--secure-port={api_port}",
                    f"--tls-cert-file={cert}",
                    f"--tls-private-key-file={key}",
                    f"--token-auth-file={directory / 'tokens.csv'}",
                    "--authorization-mode=RBAC",  # the token's user is in system:masters
                    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                    f"--service-account-key-file={sa_public}",
                    f"--service-account-signing-key-file={sa_file}",
                    "--service-cluster-ip-range=10.43.0.0/16",  # k3s's default range
                    # PodSecurity is on by default; named so that turning it off is a visible change.
                    "--enable-admission-plugins=PodSecurity",
                    "--allow-privileged=true",  # as k3s: privilege is Pod Security's to refuse, per namespace
                    f"--cert-dir={directory / 'certs'}",
                    "--profiling=false",
                    "--v=1",
                ],
                api_log,
            )
        )
        cluster = Cluster(
            context="ink-test", server=f"https://127.0.0.1:{api_port}", ca_pem=cert.read_bytes(), token=token
        )
        server = TestAPIServer(directory, cluster, processes, version="")
        _wait_ready(server, {"etcd": etcd_log, "kube-apiserver": api_log})
        atexit.register(server.stop)
        return server
    except BaseException:
        for process in reversed(processes):
            _kill_group(process)
        if server is None:
            shutil.rmtree(directory, ignore_errors=True)
        raise


def _wait_ready(server: TestAPIServer, logs: Mapping[str, Path]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    client = server.client()
    last = "no answer yet"
    try:
        while time.monotonic() < deadline:
            for process, (name, log) in zip(server.processes, logs.items(), strict=True):
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode} while starting:\n{_log_tail(log)}")
            try:
                reply = client.get("/readyz")
                if reply.status == 200:
                    server.version = str(client.get("/version").body.get("gitVersion"))
                    return
                last = f"/readyz {reply.status}: {reply.body}"
            except Exception as err:  # refused while it starts
                last = str(err)
            time.sleep(0.5)
        raise RuntimeError(
            f"kube-apiserver not ready after {READY_TIMEOUT:.0f}s ({last}):\n{_log_tail(logs['kube-apiserver'])}"
        )
    finally:
        client.close()


@contextlib.contextmanager
def running() -> Iterator[TestAPIServer]:
    server = start()
    try:
        yield server
    finally:
        server.stop()


# --- what the tests do with it ------------------------------------------------------------------


def create(client: KubeClient, obj: Mapping[str, Any]) -> tuple[str, ...]:
    """Really create (server-side apply) ``obj``: what dry-runs need to exist (namespaces, CRDs, an object to update).

    Returns the server's warnings (Pod Security admission warns on a Namespace label, for instance), which
    a test of that object must treat as problems, as the dry-run does.

    A namespace gets its ``default`` ServiceAccount too, as the controller-manager (not running here)
    would give it: the ServiceAccount admission plugin refuses pods in a namespace without one.
    """
    reply = client.apply(obj, dry_run=False)
    if reply.status >= 400:
        raise AssertionError(f"creating {obj['kind']} {obj['metadata']['name']} failed: {reply.status} {reply.body}")
    if obj["kind"] == "Namespace" and obj["apiVersion"] == "v1":
        account = {"metadata": {"name": "default", "namespace": obj["metadata"]["name"]}}
        create(client, {"apiVersion": "v1", "kind": "ServiceAccount", **account})
    return reply.warnings


def wait_established(client: KubeClient, names: list[str], timeout: float = 60.0) -> None:
    """Wait until every named CRD reports Established (its API is served)."""
    deadline = time.monotonic() + timeout
    pending = set(names)
    while pending and time.monotonic() < deadline:
        for name in sorted(pending):
            reply = client.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
            conditions = (reply.body or {}).get("status", {}).get("conditions", []) if reply.status == 200 else []
            if any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions):
                pending.discard(name)
        if pending:
            time.sleep(0.2)
    if pending:
        raise AssertionError(f"CRDs not Established after {timeout:.0f}s: {', '.join(sorted(pending))}")
