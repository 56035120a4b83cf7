"""Loading ink.toml and INK_* variables: every mistake is one line naming where and what."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from pydantic import BaseModel

from ink import config
from ink.cli import main
from ink.config import CONTROL_VARIABLES, MAX_CONFIG_BYTES, find_config, load_config, plugin_settings, plugin_tables
from ink.errors import ConfigError
from ink_plugin_cloudnativepg import CloudNativePGSettings
from ink_plugin_sealed_secrets import SealedSecretsSettings
from ink_plugin_vaultwarden import VaultwardenSettings

MODELS: dict[str, type[BaseModel]] = {
    "cloudnativepg": CloudNativePGSettings,
    "sealed-secrets": SealedSecretsSettings,
    "vaultwarden": VaultwardenSettings,
}
INSTALLED = sorted(MODELS)


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "ink.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def load_all(path: Path | None) -> dict[str, Any]:
    """Load the global settings and validate every installed plugin's table, as synth does."""
    config = load_config(path)
    tables = plugin_tables(config, INSTALLED)
    return {name: plugin_settings(config, name, tables.get(name, {}), MODELS[name]) for name in INSTALLED}


def error_of(path: Path | None) -> str:
    with pytest.raises(ConfigError) as info:
        load_all(path)
    message = str(info.value)
    assert "\n" not in message, message
    return message


def cli(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def cli_error(result: Result) -> str:
    """The one line a user error prints: exit 2, no traceback, nothing else on stderr."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def synth_cli(tmp_path: Path, config: Path) -> Result:
    return cli("synth", "--config", config, "--out", tmp_path / "dist")


# (ink.toml text, line of the mistake, key path, text the message must contain)
FILE_MISTAKES = {
    "unknown top-level key": ('domian = "home.example.org"\n', 1, "domian", "did you mean 'domain'"),
    "unknown nested key": (
        '[secrets]\nmaster_key_fil = "key"\n',
        2,
        "secrets.master_key_fil",
        "did you mean 'master_key_file'",
    ),
    "unknown key in a plugin table": (
        'domain = "home.example.org"\n\n[plugins.vaultwarden]\nreplica = 2\n',
        4,
        "plugins.vaultwarden.replica",
        "did you mean 'replicas'",
    ),
    "string for an integer (strict)": (
        '[plugins.vaultwarden]\nreplicas = "3"\n',
        2,
        "plugins.vaultwarden.replicas",
        "valid integer",
    ),
    "invalid domain": ('domain = "Not A Domain"\n', 1, "domain", "DNS name"),
    "invalid timezone": ('timezone = "Mars/Olympus_Mons"\n', 1, "timezone", "IANA time zone"),
    "malformed storage size": (
        '[plugins.vaultwarden]\nstorage_size = "5 gigs"\n',
        2,
        "plugins.vaultwarden.storage_size",
        "'5 gigs'",
    ),
    "negative replicas": ("[plugins.vaultwarden]\nreplicas = -1\n", 2, "plugins.vaultwarden.replicas", "-1"),
    "misspelt plugin table": (
        "[plugins.vaultwardn]\nreplicas = 2\n",
        1,
        "plugins.vaultwardn",
        "did you mean 'vaultwarden'",
    ),
    "plugin table that is not a table": ("[plugins]\nvaultwarden = 3\n", 2, "plugins.vaultwarden", "dictionary"),
    "unknown key in a dashed plugin's table": (
        '[plugins.sealed-secrets]\ncontroler_tag = "0.40.0"\n',
        2,
        "plugins.sealed-secrets.controler_tag",
        "did you mean 'controller_tag'",
    ),
}


@pytest.mark.parametrize("text, line, key, hint", FILE_MISTAKES.values(), ids=FILE_MISTAKES.keys())
def test_file_mistake_is_one_line_with_file_line_and_key(
    tmp_path: Path, text: str, line: int, key: str, hint: str
) -> None:
    path = write(tmp_path, text)
    message = error_of(path)
    assert message.startswith(f"{path}:{line}: {key}: "), message
    assert hint in message


@pytest.mark.parametrize("text, line, key, hint", FILE_MISTAKES.values(), ids=FILE_MISTAKES.keys())
def test_cli_reports_file_mistake_in_one_line(tmp_path: Path, text: str, line: int, key: str, hint: str) -> None:
    path = write(tmp_path, text)
    message = cli_error(synth_cli(tmp_path, path))
    assert message.startswith(f"error: {path}:{line}: {key}: "), message
    assert hint in message
    assert not (tmp_path / "dist").exists()


@pytest.mark.parametrize("size", ["1.2.3Gi", ".", "5mi", "5ki"])
def test_storage_size_must_be_a_kubernetes_quantity(tmp_path: Path, size: str) -> None:
    # The API server rejects these (resource.ParseQuantity); ink must not accept them as valid.
    path = write(tmp_path, f'[plugins.vaultwarden]\nstorage_size = "{size}"\n')
    message = error_of(path)
    assert message.startswith(f"{path}:2: plugins.vaultwarden.storage_size: "), message


def test_toml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, 'domain = "home.example.org"\ntimezone = \n')
    message = error_of(path)
    assert re.match(rf"{re.escape(str(path))}:2:\d+: invalid TOML: ", message), message
    assert re.match(rf"error: {re.escape(str(path))}:2:\d+: invalid TOML", cli_error(synth_cli(tmp_path, path)))


def test_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, b'domain = "home.example.org"\n# caf\xe9\n')
    message = error_of(path)
    assert message.startswith(f"{path}:2: not valid UTF-8"), message
    assert cli_error(synth_cli(tmp_path, path)).startswith(f"error: {path}:2: not valid UTF-8")


def test_file_larger_than_one_mebibyte_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "# " + "x" * MAX_CONFIG_BYTES + "\n")
    message = error_of(path)
    assert message.startswith(f"{path}: more than the "), message
    assert str(MAX_CONFIG_BYTES) in message
    assert cli_error(synth_cli(tmp_path, path)).startswith(f"error: {path}: more than the ")


def test_config_path_that_is_a_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    assert error_of(folder).startswith(f"{folder}: is a directory")
    # Through INK_CONFIG the same one line; --config itself is checked by click (usage error, exit 2).
    monkeypatch.setenv("INK_CONFIG", str(folder))
    assert cli_error(cli("synth", "--out", tmp_path / "dist")).startswith(f"error: {folder}: is a directory")
    monkeypatch.delenv("INK_CONFIG")
    result = cli("synth", "--config", folder, "--out", tmp_path / "dist")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "is a directory" in result.stderr


def test_missing_config_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    assert error_of(missing).startswith(f"{missing}: no such file")
    assert cli_error(synth_cli(tmp_path, missing)).startswith(f"error: {missing}: no such file")


# --- the environment ------------------------------------------------------------------------


def test_env_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(
        tmp_path,
        'domain = "file.example.org"\n\n[plugins.vaultwarden]\nreplicas = 3\nhostname = "pw"\n'
        'storage_access_mode = "ReadWriteMany"\n',
    )
    monkeypatch.setenv("INK_PLUGINS__VAULTWARDEN__REPLICAS", "2")
    monkeypatch.setenv("INK_DOMAIN", "env.example.org")
    config = load_config(path)
    assert config.settings.domain == "env.example.org"
    vaultwarden = load_all(path)["vaultwarden"]
    assert vaultwarden.replicas == 2
    assert vaultwarden.hostname == "pw"  # the rest of the file's table still applies


def test_env_value_of_wrong_type_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "[plugins.vaultwarden]\nreplicas = 3\n")
    monkeypatch.setenv("INK_PLUGINS__VAULTWARDEN__REPLICAS", "abc")
    expected = "environment variable INK_PLUGINS__VAULTWARDEN__REPLICAS: plugins.vaultwarden.replicas: "
    message = error_of(path)
    assert message.startswith(expected), message
    assert "'abc'" in message
    assert cli_error(synth_cli(tmp_path, path)).startswith(f"error: {expected}")


def test_invalid_global_value_from_env_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, 'domain = "home.example.org"\n')
    monkeypatch.setenv("INK_DOMAIN", "Not A Domain")
    assert error_of(path).startswith("environment variable INK_DOMAIN: domain: ")


def test_unknown_ink_variable_suggests_the_right_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "")
    monkeypatch.setenv("INK_DOMIAN", "home.example.org")
    message = error_of(path)
    assert message.startswith("environment variable INK_DOMIAN: not an ink setting"), message
    assert "did you mean 'INK_DOMAIN'" in message
    assert cli_error(synth_cli(tmp_path, path)).startswith("error: environment variable INK_DOMIAN: ")


def test_control_variables_are_not_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INK_DISABLE_PLUGINS", "nothing")
    monkeypatch.setenv("INK_MASTER_KEY", "k" * 40)
    assert load_config(write(tmp_path, "")).settings.domain == "example.com"


def test_every_variable_core_reads_is_a_control_variable() -> None:
    # INK_NO_FORK was read by ink.forked but refused as "not an ink setting": the switch broke every run.
    source = "\n".join(p.read_text() for p in Path(config.__file__).parent.glob("*.py"))
    read = set(re.findall(r"environ(?:\.get\(|\[)\"(INK_[A-Z_]+)\"", source))
    assert {"INK_NO_FORK", "INK_TRACE_PLUGINS"} <= read
    assert read <= CONTROL_VARIABLES


def test_unknown_plugin_in_env_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "")
    monkeypatch.setenv("INK_PLUGINS__VAULTWARDN__REPLICAS", "2")
    message = error_of(path)
    assert message.startswith("environment variable INK_PLUGINS__VAULTWARDN__REPLICAS: plugins.vaultwardn: "), message
    assert "did you mean 'vaultwarden'" in message


def test_env_value_that_is_not_json_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "")
    monkeypatch.setenv("INK_VALIDATION__CRD_DIRS", "crds")
    message = error_of(path)
    assert "INK_VALIDATION__CRD_DIRS" in message, message


# --- defaults and discovery ---------------------------------------------------------------


def test_embedded_default_without_ink_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert find_config(None, {}) is None
    config = load_config(None)
    assert config.path is None
    assert config.source == "embedded default"
    assert config.settings.domain == "example.com"
    assert set(load_all(None)) == set(INSTALLED)


def test_find_config_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "")
    assert find_config(None, {}) == Path("ink.toml")
    assert find_config(None, {"INK_CONFIG": "other.toml"}) == Path("other.toml")
    assert find_config(Path("given.toml"), {"INK_CONFIG": "other.toml"}) == Path("given.toml")


def test_container_resources_as_kubernetes_resources() -> None:
    from ink.settings import ContainerResources

    plain = ContainerResources(cpu_request="100m", memory_request="256Mi", memory_limit="1Gi")
    assert plain.kubernetes() == {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}
    capped = ContainerResources(cpu_request="100m", cpu_limit="1", memory_request="256Mi", memory_limit="1Gi")
    assert capped.kubernetes()["limits"] == {"memory": "1Gi", "cpu": "1"}
