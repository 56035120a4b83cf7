"""Server-side dry-run of manifests against a real Kubernetes API server.

Schemas cannot see most of what a cluster rejects: the API server's own validation (selectors,
port names, volume mounts, immutable fields), CRD CEL rules, strict field validation and Pod
Security admission. Every object is sent as a server-side apply with ``dryRun=All`` and
``fieldValidation=Strict``: the server runs admission and validation (as a create when the object
is new, an update when it exists), and persists nothing. Pod Security and other admission
warnings come back in ``Warning`` headers and count as problems.

Order: Namespaces first, then everything else. A namespace that does not exist yet cannot hold a
dry-run object (the server answers "namespace not found"), so objects in it are reported as not
checked rather than as errors; the Namespace itself is dry-run like any object.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import ssl
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import yaml

from ink.errors import UserError
from ink.validate import manifest_documents

FIELD_MANAGER = "ink"
_DRY_RUN = {"dryRun": "All", "fieldValidation": "Strict", "fieldManager": FIELD_MANAGER, "force": "true"}


@dataclass(frozen=True)
class Cluster:
    """How to reach one API server, as read from a kubeconfig context."""

    context: str
    server: str
    ca_pem: bytes | None = None
    insecure: bool = False
    tls_server_name: str | None = None
    token: str | None = None
    client_cert_pem: bytes | None = None
    client_key_pem: bytes | None = None


@dataclass(frozen=True)
class Response:
    status: int
    body: Any
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """What the server said about one object."""

    object: str
    source: str
    error: str = ""
    warnings: tuple[str, ...] = ()
    unchecked: str = ""  # why the object could not be sent (its namespace or API does not exist yet)

    @property
    def ok(self) -> bool:
        return not self.error and not self.warnings and not self.unchecked


@dataclass
class DryRunReport:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """One line per error or warning, naming the object and quoting the server."""
        lines = []
        for o in self.outcomes:
            where = f"{o.source}: {o.object}" if o.source else o.object
            if o.error:
                lines.append(f"{where}: {o.error}")
            lines.extend(f"{where}: warning: {w}" for w in o.warnings)
        return lines

    @property
    def unchecked(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.unchecked]

    @property
    def checked(self) -> int:
        return sum(1 for o in self.outcomes if not o.unchecked)

    @property
    def ok(self) -> bool:
        return not self.problems


# --- kubeconfig -------------------------------------------------------------------------------


def kubeconfig_paths(path: Path | None, environ: Mapping[str, str]) -> list[Path]:
    """``--kubeconfig``, else every file in ``$KUBECONFIG``, else ``~/.kube/config`` (kubectl's order)."""
    if path is not None:
        return [path]
    if environ.get("KUBECONFIG"):
        return [Path(p) for p in environ["KUBECONFIG"].split(os.pathsep) if p]
    return [Path(environ.get("HOME", str(Path.home()))) / ".kube" / "config"]


def _read_kubeconfigs(paths: Sequence[Path]) -> tuple[str | None, dict[str, dict[str, Any]]]:
    """kubectl's merge: the first file to set a value wins; entries are looked up by name."""
    current: str | None = None
    named: dict[str, dict[str, Any]] = {"clusters": {}, "users": {}, "contexts": {}}
    for path in paths:
        if not path.is_file():
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
            raise UserError(f"{path}: not a readable kubeconfig: {str(err).splitlines()[0]}") from None
        if not isinstance(data, dict):
            raise UserError(f"{path}: not a kubeconfig (expected a mapping with clusters, users, contexts)")
        current = current or data.get("current-context") or None
        for section, inner in (("clusters", "cluster"), ("users", "user"), ("contexts", "context")):
            for entry in data.get(section) or []:
                if isinstance(entry, dict) and isinstance(entry.get(inner), dict):
                    named[section].setdefault(str(entry.get("name")), {**entry[inner], "_dir": path.parent})
    return current, named


def _file_or_data(entry: Mapping[str, Any], key: str) -> bytes | None:
    if entry.get(f"{key}-data"):
        return base64.b64decode(entry[f"{key}-data"])
    if entry.get(key):
        file = Path(entry["_dir"], os.path.expanduser(entry[key]))
        try:
            return file.read_bytes()
        except OSError as err:
            raise UserError(f"kubeconfig {key} {file}: {err.strerror}; fix the path in the kubeconfig") from None
    return None


def _exec_credential(spec: Mapping[str, Any], user: str) -> dict[str, Any]:
    """Run a client-go exec credential plugin (kubelogin, aws, gke-gcloud-auth-plugin…) for its status."""
    command = [str(spec.get("command", "")), *map(str, spec.get("args") or [])]
    env = {**os.environ, **{str(e["name"]): str(e["value"]) for e in spec.get("env") or []}}
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise UserError(f"kubeconfig user {user!r}: credential plugin {command[0]!r} failed to run: {err}") from None
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise UserError(f"kubeconfig user {user!r}: credential plugin {command[0]!r} failed: {detail}")
    try:
        return json.loads(done.stdout).get("status") or {}
    except (ValueError, AttributeError):
        raise UserError(
            f"kubeconfig user {user!r}: credential plugin {command[0]!r} printed no ExecCredential"
        ) from None


def load_cluster(path: Path | None, environ: Mapping[str, str], context: str | None = None) -> Cluster:
    """The cluster and credentials of ``context`` (default: the current context) of the kubeconfig."""
    paths = kubeconfig_paths(path, environ)
    if not any(p.is_file() for p in paths):
        raise UserError(f"no kubeconfig at {', '.join(map(str, paths))}; pass --kubeconfig or set KUBECONFIG")
    current, named = _read_kubeconfigs(paths)
    name = context or current
    if not name:
        raise UserError(f"{paths[0]}: no current-context; run `kubectl config use-context NAME` or pass --context")
    ctx = named["contexts"].get(name)
    if ctx is None:
        raise UserError(f"{paths[0]}: context {name!r} not found; `kubectl config get-contexts` lists them")
    cluster = named["clusters"].get(str(ctx.get("cluster")))
    if cluster is None or not cluster.get("server"):
        raise UserError(f"{paths[0]}: context {name!r} names cluster {ctx.get('cluster')!r}, which has no server")
    user_name = str(ctx.get("user", ""))
    user = named["users"].get(user_name, {})
    token = user.get("token")
    if not token and user.get("tokenFile"):
        token = (_file_or_data(user, "tokenFile") or b"").decode().strip()
    cert, key = _file_or_data(user, "client-certificate"), _file_or_data(user, "client-key")
    if user.get("exec") and not token and not cert:
        status = _exec_credential(user["exec"], user_name)
        token = status.get("token")
        if status.get("clientCertificateData"):
            cert = status["clientCertificateData"].encode()
            key = str(status.get("clientKeyData", "")).encode()
    if user.get("auth-provider") and not token and not cert:
        raise UserError(
            f"kubeconfig user {user_name!r} uses the removed auth-provider mechanism; "
            "switch it to an exec credential plugin (kubectl does the same since 1.26)"
        )
    return Cluster(
        context=name,
        server=str(cluster["server"]).rstrip("/"),
        ca_pem=_file_or_data(cluster, "certificate-authority"),
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
        tls_server_name=cluster.get("tls-server-name"),
        token=token,
        client_cert_pem=cert,
        client_key_pem=key,
    )


# --- client -----------------------------------------------------------------------------------


class Unreachable(UserError):
    """No API server answered at the configured address."""


def _ssl_context(cluster: Cluster) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if cluster.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif cluster.ca_pem:
        try:
            context.load_verify_locations(cadata=cluster.ca_pem.decode(errors="replace"))
        except (ssl.SSLError, ValueError):
            raise UserError(
                f"kubeconfig context {cluster.context!r}: the certificate-authority is not a PEM certificate"
            ) from None
    if cluster.client_cert_pem:
        # ssl only loads a key pair from files: keep them for the instant it takes, owner-only.
        with tempfile.TemporaryDirectory(prefix="ink-kube-") as tmp:
            cert, key = Path(tmp, "cert.pem"), Path(tmp, "key.pem")
            for file, data in ((cert, cluster.client_cert_pem), (key, cluster.client_key_pem or b"")):
                file.touch(mode=0o600)
                file.write_bytes(data)
            try:
                context.load_cert_chain(cert, key if cluster.client_key_pem else None)
            except ssl.SSLError:
                raise UserError(
                    f"kubeconfig context {cluster.context!r}: the client certificate and key are not a PEM pair"
                ) from None
    return context


class _HTTPSConnection(http.client.HTTPSConnection):
    """HTTPS that verifies the certificate against the kubeconfig's ``tls-server-name`` when one is set."""

    def __init__(self, *args: Any, server_name: str | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._server_name = server_name

    def connect(self) -> None:
        if not self._server_name:
            return super().connect()
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self._server_name)  # type: ignore[attr-defined]
        return None


class KubeClient:
    """A small REST client: one kept-alive HTTPS connection, discovery, JSON in and out."""

    def __init__(self, cluster: Cluster, timeout: float = 30.0) -> None:
        self.cluster = cluster
        url = urlsplit(cluster.server)
        if url.scheme not in ("https", "http") or not url.hostname:
            raise UserError(f"kubeconfig cluster server {cluster.server!r} is not an http(s) URL")
        self._url = url
        self._timeout = timeout
        self._ssl = _ssl_context(cluster) if url.scheme == "https" else None
        self._connection: http.client.HTTPConnection | None = None
        self._resources: dict[str, dict[str, tuple[str, bool]]] = {}

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            host, port = self._url.hostname or "", self._url.port
            if self._ssl is not None:
                self._connection = _HTTPSConnection(
                    host, port, timeout=self._timeout, context=self._ssl, server_name=self.cluster.tls_server_name
                )
            else:
                self._connection = http.client.HTTPConnection(host, port, timeout=self._timeout)
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: Mapping[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Response:
        target = self._url.path.rstrip("/") + path + (f"?{urlencode(query)}" if query else "")
        headers = {"Accept": "application/json", "User-Agent": "ink"}
        if self.cluster.token:
            headers["Authorization"] = f"Bearer {self.cluster.token}"
        payload = None if body is None else json.dumps(body).encode()
        if payload is not None:
            headers["Content-Type"] = content_type
        for attempt in (1, 2):  # a kept-alive connection the server closed is retried once, fresh
            connection = self._connect()
            try:
                connection.request(method, target, body=payload, headers=headers)
                reply = connection.getresponse()
                raw = reply.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as err:
                self.close()
                if attempt == 2:
                    raise Unreachable(f"API server {self.cluster.server} closed the connection: {err}") from None
            except ssl.SSLEOFError:
                # The server closed a kept-alive TLS connection (idle): the same as above, over TLS. A fresh
                # connection that ends so is a TLS failure.
                self.close()
                if attempt == 2:
                    raise Unreachable(
                        f"API server {self.cluster.server}: TLS failed (the server closed the connection); "
                        "check the kubeconfig's certificate-authority"
                    ) from None
            except ssl.SSLError as err:
                self.close()
                raise Unreachable(
                    f"API server {self.cluster.server}: TLS failed ({err.reason or err}); "
                    "check the kubeconfig's certificate-authority"
                ) from None
            except OSError as err:
                self.close()
                raise Unreachable(
                    f"no API server reachable at {self.cluster.server} (context {self.cluster.context!r}): "
                    f"{err.strerror or err}; check the kubeconfig or pass --kubeconfig"
                ) from None
        try:
            decoded = json.loads(raw) if raw else None
        except ValueError:
            decoded = raw.decode(errors="replace")
        return Response(reply.status, decoded, tuple(_warnings(reply.headers.get_all("Warning") or [])))

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    # Discovery: apiVersion and kind to the resource's plural name and scope, from the server.

    def resources(self, api_version: str) -> dict[str, tuple[str, bool]]:
        """kind -> (plural, namespaced) for one group version; empty when the server does not serve it."""
        if api_version not in self._resources:
            base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            reply = self.get(base)
            if reply.status == 404:
                return {}  # not cached: a CRD created later makes it appear
            _raise_for(reply, f"discovery of {api_version}")
            self._resources[api_version] = {
                r["kind"]: (r["name"], bool(r["namespaced"]))
                for r in reply.body.get("resources", [])
                if "/" not in r["name"]  # subresources such as deployments/scale
            }
        return self._resources[api_version]

    def object_path(self, obj: Mapping[str, Any]) -> str | None:
        """The REST path of ``obj`` (by name), or None when the server has no such kind."""
        api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
        found = self.resources(api_version).get(kind)
        if found is None:
            return None
        plural, namespaced = found
        base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        meta = obj.get("metadata") or {}
        scope = f"/namespaces/{quote(str(meta.get('namespace') or 'default'))}" if namespaced else ""
        return f"{base}{scope}/{plural}/{quote(str(meta.get('name', '')))}"

    def namespace_exists(self, name: str) -> bool:
        reply = self.get(f"/api/v1/namespaces/{quote(name)}")
        if reply.status == 404:
            return False
        _raise_for(reply, f"reading namespace {name}")
        return True

    def apply(self, obj: Mapping[str, Any], *, dry_run: bool = True) -> Response:
        """Server-side apply of ``obj``; a dry run unless told otherwise (only the test server is written to)."""
        path = self.object_path(obj)
        if path is None:
            raise LookupError(f"the server has no API for {obj.get('apiVersion')} {obj.get('kind')}")
        query = _DRY_RUN if dry_run else {k: v for k, v in _DRY_RUN.items() if k != "dryRun"}
        return self.request("PATCH", path, obj, query=query, content_type="application/apply-patch+yaml")


def _warnings(headers: Iterable[str]) -> Iterable[str]:
    """The text of RFC 7234 ``Warning: 299 - "text"`` headers, as the API server sends them."""
    for header in headers:
        _, _, rest = header.partition(" - ")
        text = rest.strip()
        if text.startswith('"'):
            text = text[1:].rsplit('"', 1)[0].replace('\\"', '"')
        yield text or header


def _raise_for(reply: Response, what: str) -> None:
    if reply.status in (401, 403):
        raise UserError(f"API server refused {what} ({reply.status}: {_message(reply)}); check the kubeconfig user")
    if reply.status >= 400:
        raise UserError(f"API server failed {what} ({reply.status}: {_message(reply)})")


def _message(reply: Response) -> str:
    if isinstance(reply.body, dict):
        return str(reply.body.get("message") or reply.body.get("reason") or reply.body)
    return str(reply.body).strip() or "no message"


# --- the check --------------------------------------------------------------------------------


def describe(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('apiVersion')} {obj.get('kind')} {where}{meta.get('name')}"


def _is_object(body: Any) -> bool:
    meta = body.get("metadata") if isinstance(body, Mapping) else None
    return (
        isinstance(meta, Mapping)
        and bool(meta.get("name"))
        and all(isinstance(body.get(key), str) and body[key] for key in ("apiVersion", "kind"))
    )


def dry_run(client: KubeClient, objects: Iterable[tuple[str, Any]]) -> DryRunReport:
    """Dry-run every object (Namespaces first); ``objects`` are (source, body) pairs."""
    report = DryRunReport()
    ordered = []
    for source, body in objects:
        if _is_object(body):
            ordered.append((source, body))
        else:
            error = "not a Kubernetes object (apiVersion, kind and metadata.name are required)"
            report.outcomes.append(Outcome("document", source, error=error))
    ordered.sort(key=lambda item: item[1]["kind"] != "Namespace")
    existing: dict[str, bool] = {}
    planned = {str(body["metadata"]["name"]) for _, body in ordered if body.get("kind") == "Namespace"}
    for source, body in ordered:
        name = describe(body)
        path = client.object_path(body)
        if path is None:
            why = f"the cluster serves no {body['apiVersion']} {body['kind']} (its CRD is not installed yet)"
            report.outcomes.append(Outcome(name, source, unchecked=why))
            continue
        namespace = (body.get("metadata") or {}).get("namespace")
        if namespace and "/namespaces/" in path:
            if namespace not in existing:
                existing[namespace] = client.namespace_exists(namespace)
            if not existing[namespace]:
                why = "namespace does not exist yet" + (" (dist/ creates it)" if namespace in planned else "")
                report.outcomes.append(Outcome(name, source, unchecked=f"{why}: {namespace}"))
                continue
        reply = client.apply(body)
        error = "" if reply.status < 400 else f"{reply.status} {_message(reply)}"
        report.outcomes.append(Outcome(name, source, error=error, warnings=reply.warnings))
    return report


def validate_on_server(
    paths: Sequence[Path], *, kubeconfig: Path | None, context: str | None, environ: Mapping[str, str]
) -> tuple[Cluster, DryRunReport]:
    """``ink validate --server``: dry-run the manifests under ``paths`` against the kubeconfig's cluster."""
    documents = manifest_documents(paths)
    cluster = load_cluster(kubeconfig, environ, context)
    client = KubeClient(cluster)
    try:
        _raise_for(client.get("/version"), "GET /version")
        return cluster, dry_run(client, documents)
    finally:
        client.close()
