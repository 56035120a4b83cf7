"""ink.dryrun without a server: reading kubeconfigs (kubectl's rules) and the server's warnings.

The dry-run itself is tested against a real kube-apiserver in tests/test_apiserver.py.
"""

from __future__ import annotations

import base64
import re
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from ink import dryrun
from ink.cli import main
from ink.errors import UserError


def kubeconfig(path: Path, *, current: str | None = "home", **user: object) -> Path:
    data = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "k3s", "cluster": {"server": "https://10.0.0.2:6443/", "certificate-authority": "ca.crt"}}
        ],
        "users": [{"name": "me", "user": user}],
        "contexts": [{"name": "home", "context": {"cluster": "k3s", "user": "me"}}],
    }
    if current:
        data["current-context"] = current
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    (path.parent / "ca.crt").write_bytes(b"CA")
    return path


def test_token_user_and_a_ca_file_relative_to_the_kubeconfig(tmp_path: Path) -> None:
    cluster = dryrun.load_cluster(kubeconfig(tmp_path / "kube" / "config", token="abc"), {})
    assert cluster == dryrun.Cluster(context="home", server="https://10.0.0.2:6443", ca_pem=b"CA", token="abc")


def test_client_certificate_data_as_k3s_writes_it(tmp_path: Path) -> None:
    path = kubeconfig(
        tmp_path / "config",
        **{
            "client-certificate-data": base64.b64encode(b"CERT").decode(),
            "client-key-data": base64.b64encode(b"KEY").decode(),
        },
    )
    cluster = dryrun.load_cluster(path, {})
    assert (cluster.client_cert_pem, cluster.client_key_pem, cluster.token) == (b"CERT", b"KEY", None)


def test_token_file(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("from-file\n")
    assert dryrun.load_cluster(kubeconfig(tmp_path / "config", tokenFile="token"), {}).token == "from-file"


def test_exec_credential_plugin(tmp_path: Path) -> None:
    script = 'import json; print(json.dumps({"status": {"token": "from-exec"}}))'
    path = kubeconfig(tmp_path / "config", exec={"command": sys.executable, "args": ["-c", script]})
    assert dryrun.load_cluster(path, {}).token == "from-exec"


def test_kubeconfig_variable_lists_files_and_the_first_wins(tmp_path: Path) -> None:
    first = kubeconfig(tmp_path / "a" / "config", current="home", token="first")
    second = kubeconfig(tmp_path / "b" / "config", current="other", token="second")
    cluster = dryrun.load_cluster(None, {"KUBECONFIG": f"{tmp_path / 'missing'}:{first}:{second}"})
    assert (cluster.context, cluster.token) == ("home", "first")


def test_default_path_is_home_kube_config(tmp_path: Path) -> None:
    kubeconfig(tmp_path / ".kube" / "config", token="t")
    assert dryrun.load_cluster(None, {"HOME": str(tmp_path)}).token == "t"


@pytest.mark.parametrize(
    ("setup", "context", "message"),
    [
        (lambda p: None, None, "no kubeconfig at "),
        (
            lambda p: kubeconfig(p, current=None, token="t"),
            None,
            ": no current-context; run `kubectl config use-context",
        ),
        (lambda p: kubeconfig(p, token="t"), "work", ": context 'work' not found; `kubectl config get-contexts`"),
        (lambda p: p.write_text("[not, a, mapping]"), None, ": not a kubeconfig (expected a mapping"),
        (lambda p: p.write_text("clusters: [\n"), None, ": not a readable kubeconfig: "),
    ],
    ids=["missing", "no-current-context", "unknown-context", "not-a-mapping", "bad-yaml"],
)
def test_bad_kubeconfigs_are_one_line_user_errors(tmp_path: Path, setup, context, message: str) -> None:
    path = tmp_path / "config"
    setup(path)
    with pytest.raises(UserError) as caught:
        dryrun.load_cluster(path, {}, context)
    assert message in caught.value.message
    assert "\n" not in caught.value.message


def test_warning_headers_are_unquoted() -> None:
    headers = ['299 - "would violate PodSecurity \\"restricted:latest\\": privileged"', "299 - unquoted"]
    assert list(dryrun._warnings(headers)) == ['would violate PodSecurity "restricted:latest": privileged', "unquoted"]


def test_report_lines_name_the_source_and_the_object() -> None:
    report = dryrun.DryRunReport(
        [
            dryrun.Outcome("v1 Service a/b", "a/service-b.yaml", error="422 invalid port"),
            dryrun.Outcome("apps/v1 Deployment a/c", "", warnings=("w1",)),
            dryrun.Outcome("v1 ConfigMap x/y", "", unchecked="namespace does not exist yet: x"),
        ]
    )
    assert report.problems == [
        "a/service-b.yaml: v1 Service a/b: 422 invalid port",
        "apps/v1 Deployment a/c: warning: w1",
    ]
    assert report.checked == 2
    assert not report.ok


@pytest.mark.parametrize(
    ("cluster", "message"),
    [
        (dryrun.Cluster("home", "https://x", ca_pem=b"not a certificate"), "the certificate-authority is not a PEM"),
        (
            dryrun.Cluster("home", "https://x", client_cert_pem=b"junk", client_key_pem=b"junk"),
            "the client certificate and key are not a PEM pair",
        ),
        (dryrun.Cluster("home", "ftp://x"), "kubeconfig cluster server 'ftp://x' is not an http(s) URL"),
    ],
    ids=["ca", "client-cert", "scheme"],
)
def test_unusable_credentials_are_user_errors(cluster: dryrun.Cluster, message: str) -> None:
    with pytest.raises(UserError, match=re.escape(message)):
        dryrun.KubeClient(cluster)


def test_validate_server_without_a_kubeconfig_exits_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    missing = tmp_path / "nowhere"
    result = CliRunner().invoke(main, ["validate", "--server", "--kubeconfig", str(missing), str(tmp_path / "dist")])
    assert result.exit_code == 2
    assert result.stderr == f"error: no kubeconfig at {missing}; pass --kubeconfig or set KUBECONFIG\n"
    assert result.stdout == ""


class _Connection:
    """A stand-in HTTPS connection: fails each request with ``error`` while ``errors`` last, then answers 200."""

    def __init__(self, errors: list[BaseException]) -> None:
        self.errors = errors
        self.closed = False

    def request(self, *args: object, **kwargs: object) -> None:
        if self.errors:
            raise self.errors.pop(0)

    def getresponse(self) -> object:
        class Reply:
            status = 200
            headers = type("Headers", (), {"get_all": staticmethod(lambda name: None)})()

            def read(self) -> bytes:
                return b"{}"

        return Reply()

    def close(self) -> None:
        self.closed = True


def _client_with(monkeypatch: pytest.MonkeyPatch, errors: list[BaseException]) -> tuple[dryrun.KubeClient, list]:
    client = dryrun.KubeClient(dryrun.Cluster("home", "https://k8s.example.org:6443"))
    made: list[_Connection] = []

    def connect() -> _Connection:
        if client._connection is None:
            client._connection = _Connection(errors)  # type: ignore[assignment]
            made.append(client._connection)  # type: ignore[arg-type]
        return client._connection  # type: ignore[return-value]

    monkeypatch.setattr(client, "_connect", connect)
    return client, made


def test_a_kept_alive_tls_connection_the_server_closed_is_retried_fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    import ssl

    client, made = _client_with(monkeypatch, [ssl.SSLEOFError(8, "EOF occurred in violation of protocol")])
    assert client.request("GET", "/version").status == 200
    assert len(made) == 2 and made[0].closed  # the stale connection closed, a fresh one answered


def test_a_tls_connection_closed_twice_is_one_line_naming_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    import ssl

    errors: list[BaseException] = [ssl.SSLEOFError(8, "EOF"), ssl.SSLEOFError(8, "EOF")]
    client, _ = _client_with(monkeypatch, errors)
    with pytest.raises(dryrun.Unreachable, match=r"k8s\.example\.org:6443: TLS failed \(the server closed"):
        client.request("GET", "/version")
