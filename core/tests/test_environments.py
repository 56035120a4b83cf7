"""[environments.<name>]: another cluster from the same ink.toml, in <out>-<name>, with credentials of its own."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ink import run, testing
from ink.cli import main
from ink.config import load_config, plugin_tables
from ink.errors import ConfigError, UserError
from ink.models import GeneratedSecret
from ink.output import MARKER, read_stamp
from ink.secrets import load_master_key

PLUGINS = ["vaultwarden", "cloudnativepg", "sealed-secrets"]
BASE = """\
domain = "home.example.org"
storage_class = "longhorn"

[network]
nodes = ["192.168.1.0/24"]

[plugins.vaultwarden]
hostname = "passwords"
replicas = 1

[plugins.sealed-secrets]
controller_tag = "0.36.1"
"""
STAGING = """
[environments.staging]
domain = "staging.example.org"

[environments.staging.network]
nodes = ["192.168.2.0/24", "192.168.3.0/24"]

[environments.staging.plugins.vaultwarden]
replicas = 0

[environments.staging.plugins.sealed_secrets]
controller_tag = "0.36.2"
"""
LAB = """
[environments.lab]
storage_class = "local-path"

[environments.lab.plugins.vaultwarden]
enabled = false
"""


def write(directory: Path, text: str) -> Path:
    return testing.prepare(directory, text)


def cli(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], env={"INK_LOAD_PLUGINS": ",".join(PLUGINS), **(env or {})})


def user_error(result: Result) -> str:
    """The one line a user error prints: exit 2, no traceback."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- the configuration ---------------------------------------------------------------------------------------


def test_the_environment_is_laid_over_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + STAGING)
    config = load_config(path, "staging")
    assert config.environment == "staging" and config.environments == ("staging",)
    assert config.settings.domain == "staging.example.org"
    assert config.settings.storage_class == "longhorn"  # not overridden: the base's
    assert config.settings.network.nodes == ["192.168.2.0/24", "192.168.3.0/24"]  # a list is replaced, not merged
    tables = plugin_tables(config, PLUGINS)
    assert tables["vaultwarden"] == {"hostname": "passwords", "replicas": 0}  # tables merge key by key
    # 'sealed_secrets' in the environment and 'sealed-secrets' in the base are one plugin's table.
    assert tables["sealed-secrets"] == {"controller_tag": "0.36.2"}


def test_the_base_ignores_the_environments(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE + STAGING))
    assert config.environment is None and config.environments == ("staging",)
    assert config.settings.domain == "home.example.org"
    assert plugin_tables(config, PLUGINS)["vaultwarden"] == {"hostname": "passwords", "replicas": 1}


def test_ink_environment_chooses_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, BASE + STAGING)
    monkeypatch.setenv("INK_ENVIRONMENT", "staging")  # a control variable, not an unknown setting
    assert load_config(path).settings.domain == "staging.example.org"
    assert load_config(path, "").environment is None  # "" is the base, whatever INK_ENVIRONMENT says


@pytest.mark.parametrize("variable", [False, True], ids=["option", "INK_ENVIRONMENT"])
def test_an_unknown_environment_is_one_line_with_the_names_declared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: bool
) -> None:
    path = write(tmp_path, BASE + STAGING + LAB)
    if variable:
        monkeypatch.setenv("INK_ENVIRONMENT", "stagin")
    with pytest.raises(ConfigError) as info:
        load_config(path, None if variable else "stagin")
    where = "environment variable INK_ENVIRONMENT" if variable else "--environment"
    assert str(info.value) == (
        f"{where}: no environment named 'stagin' (did you mean 'staging'?) in {path} (declared: lab, staging); "
        "fix the name or add an [environments.stagin] table"
    )


def test_an_unknown_environment_on_the_command_line_writes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    message = user_error(cli("synth", "--config", path, "--out", tmp_path / "dist", "-e", "staging"))
    assert message.startswith("error: --environment: no environment named 'staging'")
    assert "(declared: none)" in message
    assert not (tmp_path / "dist").exists() and not (tmp_path / "dist-staging").exists()


# (the environment's table, the line of the mistake, the key as the message names it, text the message must contain)
MISTAKES = {
    "unknown key": ('domian = "x.org"\n', 2, "environments.staging.domian", "did you mean 'domain'"),
    "unknown plugin key": (
        "[environments.staging.plugins.vaultwarden]\nreplica = 2\n",
        3,
        "environments.staging.plugins.vaultwarden.replica",
        "did you mean 'replicas'",
    ),
    "wrong type": ("storage_class = 3\n", 2, "environments.staging.storage_class", "(got 3)"),
    "bad value in a table": (
        '[environments.staging.network]\nnodes = ["not a network"]\n',
        3,
        "environments.staging.network.nodes.0",
        "not a network",
    ),
}


@pytest.mark.parametrize("table, line, key, hint", MISTAKES.values(), ids=MISTAKES.keys())
def test_a_mistake_in_an_environment_names_its_line_in_the_environment_table(
    tmp_path: Path, table: str, line: int, key: str, hint: str
) -> None:
    path = write(tmp_path, "[environments.staging]\n" + table)
    message = user_error(cli("synth", "--config", path, "--out", tmp_path / "dist", "-e", "staging"))
    assert message.startswith(f"error: {path}:{line}: {key}: "), message
    assert hint in message
    assert not (tmp_path / "dist-staging").exists()
    # The base does not read the environment's plugin tables (a mistake in one shows only when it is used)...
    if "plugins" not in table:  # ...but its global keys are checked whichever environment is synthesised
        assert user_error(cli("synth", "--config", path, "--out", tmp_path / "dist")) == message


@pytest.mark.parametrize(
    "text, message",
    [
        (
            '[environments.Staging]\ndomain = "x.org"\n',
            "1: environments.Staging: expected a DNS label",
        ),
        (
            '[environments.staging.environments.qa]\ndomain = "x.org"\n',
            "1: environments.staging.environments: environments do not nest; move "
            "[environments.staging.environments.*] to the top level",
        ),
    ],
    ids=["name that is no DNS label", "nested"],
)
def test_environment_names_and_nesting(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, "staging")
    assert str(info.value).startswith(f"{path}:{message}"), info.value


@pytest.mark.parametrize(
    "out, expected",
    [("dist", "dist-staging"), ("clusters/home/", "clusters/home-staging"), ("/srv/out", "/srv/out-staging")],
)
def test_an_environment_is_written_beside_the_output(out: str, expected: str) -> None:
    assert run.environment_output(Path(out), "staging") == Path(expected)


def test_the_file_system_root_cannot_have_a_sibling() -> None:
    with pytest.raises(UserError, match="give --out a folder name"):
        run.environment_output(Path("/"), "staging")


# --- synthesis -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, run.SynthResult]:
    """The same ink.toml synthesised without environments, its base with them, and each environment."""
    plain = testing.synth(tmp_path_factory.mktemp("plain"), BASE, plugins=PLUGINS)
    lab = tmp_path_factory.mktemp("lab")
    synth = {"base": None, "staging": "staging", "lab": "lab"}
    results = {
        name: testing.synth(lab, BASE + STAGING + LAB, plugins=PLUGINS, environment=env) for name, env in synth.items()
    }
    return {"plain": plain, **results, "dir": lab}  # type: ignore[dict-item]


def test_declaring_environments_leaves_the_base_output_byte_identical(outputs) -> None:
    assert outputs["base"].files == outputs["plain"].files
    assert outputs["base"].stamp == outputs["plain"].stamp


def test_each_environment_gets_its_own_output_folder(outputs) -> None:
    lab: Path = outputs["dir"]
    assert sorted(p.name for p in lab.iterdir() if p.name.startswith("dist")) == ["dist", "dist-lab", "dist-staging"]
    assert read_stamp(lab / "dist-staging")["environment"] == "staging"  # type: ignore[index]
    assert "environment" not in read_stamp(lab / "dist")  # type: ignore[operator]
    staging = testing.objects(outputs["staging"])
    deployment = staging["vaultwarden/deployment-vaultwarden.yaml"]
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["DOMAIN"] == "https://passwords.staging.example.org"
    assert deployment["spec"]["replicas"] == 0
    lab_objects = testing.objects(outputs["lab"])
    assert not any(p.startswith("vaultwarden/") for p in lab_objects)  # disabled there, and only there
    claims = [o for o in lab_objects.values() if o["kind"] == "Cluster"]  # CloudNativePG's
    assert claims and all(c["spec"]["storage"]["storageClass"] == "local-path" for c in claims)


def test_each_environment_has_credentials_of_its_own(outputs) -> None:
    keys = {name: outputs[name].master_key for name in ("base", "staging", "lab")}
    secret = GeneratedSecret(id="cloudnativepg/postgres-ha/vaultwarden/password")
    values = {name: key.derive(secret) for name, key in keys.items()}  # type: ignore[union-attr]
    assert len(set(values.values())) == 3
    fingerprints = {name: outputs[name].stamp["master-key-fingerprint"] for name in keys}
    assert len(set(fingerprints.values())) == 3
    # Derived from the one master key: the base's own, and a key per environment named after it.
    base_key = outputs["base"].base_key
    assert outputs["staging"].master_key.fingerprint == base_key.for_environment("staging").fingerprint
    assert outputs["staging"].base_key.fingerprint == base_key.fingerprint


def test_another_environment_s_folder_is_refused(outputs, tmp_path: Path) -> None:
    lab: Path = outputs["dir"]
    before = tree(lab / "dist-staging")
    with pytest.raises(UserError) as info:
        run.synth(config_path=lab / "ink.toml", out=lab / "dist-staging", environment="lab", host=testing.host(PLUGINS))
    assert str(info.value) == (
        f"{lab / 'dist-staging'}: holds the output of environment 'staging', not of environment 'lab'; "
        f"check --environment (and INK_ENVIRONMENT) and --out, or remove {lab / 'dist-staging'} first"
    )
    with pytest.raises(UserError, match="holds the output of environment 'staging', not of the base configuration"):
        run.synth(config_path=lab / "ink.toml", out=lab / "dist-staging", environment="", host=testing.host(PLUGINS))
    with pytest.raises(UserError, match="holds the output of the base configuration, not of environment 'lab'"):
        run.diff(config_path=lab / "ink.toml", out=lab / "dist", environment="lab", host=testing.host(PLUGINS))
    assert tree(lab / "dist-staging") == before


# --- the command line ------------------------------------------------------------------------------------------


def test_all_environments_at_once_share_one_new_master_key(tmp_path: Path) -> None:
    (tmp_path / "ink.toml").write_text(BASE + STAGING + LAB)  # no .ink/: the run creates the key
    result = cli("synth", "--config", tmp_path / "ink.toml", "--out", tmp_path / "dist", "--all-environments")
    assert result.exit_code == 0, result.output
    for name in ("dist", "dist-lab", "dist-staging"):
        assert f"to {tmp_path / name}/" in result.stdout
    assert result.stderr.count("new master key") == 1, result.stderr
    key, _ = load_master_key(tmp_path / ".ink" / "master.key", environ={}, create=False)
    assert read_stamp(tmp_path / "dist")["master-key-fingerprint"] == key.fingerprint  # type: ignore[index]
    for name in ("lab", "staging"):
        stamp = read_stamp(tmp_path / f"dist-{name}")
        assert stamp == {"master-key-fingerprint": key.for_environment(name).fingerprint, "environment": name}
    # Run again: nothing changes, and the environments' own checks (another key, destructive changes) pass.
    before = {name: tree(tmp_path / name) for name in ("dist", "dist-lab", "dist-staging")}
    again = cli("synth", "--config", tmp_path / "ink.toml", "--out", tmp_path / "dist", "--all-environments")
    assert again.exit_code == 0, again.output
    assert {name: tree(tmp_path / name) for name in before} == before


def test_all_environments_is_all_or_nothing(tmp_path: Path) -> None:
    broken = LAB.replace('"local-path"', '"Local Path"')
    (tmp_path / "ink.toml").write_text(BASE + STAGING + broken)
    message = user_error(
        cli("synth", "--config", tmp_path / "ink.toml", "--out", tmp_path / "dist", "--all-environments")
    )
    assert message.startswith(f"error: {tmp_path / 'ink.toml'}:"), message
    assert "environments.lab.storage_class" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ink.toml"]  # no output, no key


def test_all_environments_and_one_environment_exclude_each_other(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + STAGING)
    message = user_error(cli("synth", "--config", path, "--all-environments", "-e", "staging"))
    assert (
        message == "error: --all-environments and --environment (or INK_ENVIRONMENT): choose one; unset INK_ENVIRONMENT"
    )
    assert user_error(cli("synth", "--config", path, "--all-environments", env={"INK_ENVIRONMENT": "staging"}))


def test_rotating_in_an_environment_changes_only_that_environment(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + STAGING)
    credential = "cloudnativepg/postgres-ha/vaultwarden/password"

    def values() -> dict[str, str]:
        found = {}
        for env in ("", "staging"):
            key = run.build(config_path=path, validate=False, host=testing.host(PLUGINS), environment=env).master_key
            found[env] = key.derive(GeneratedSecret(id=credential))  # type: ignore[union-attr]
        return found

    before = values()
    rotated = cli("secrets", "rotate", "--config", path, "-e", "staging", credential)
    assert rotated.exit_code == 0, rotated.output
    document = tomllib.loads(path.read_text())
    assert document["environments"]["staging"]["secrets"]["rotations"] == {credential: 1}
    assert "secrets" not in document
    after = values()
    assert after[""] == before[""] and after["staging"] != before["staging"]


def test_read_commands_read_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + LAB)

    def needed_by(*args: str) -> list[str]:
        result = cli("plugins", "--config", path, "--json", *args)
        assert result.exit_code == 0, result.output
        rows = json.loads(result.stdout)["capabilities"]
        return next(row["needed_by"] for row in rows if row["capability"] == "database")

    assert needed_by() == ["vaultwarden"]
    assert needed_by("-e", "lab") == []  # vaultwarden is disabled in the lab
    graph = cli("graph", "--config", path, "--json", env={"INK_ENVIRONMENT": "lab"})
    assert graph.exit_code == 0, graph.output
    assert json.loads(graph.stdout)["edges"] == []  # vaultwarden's database was the only edge


def test_diff_and_validate_default_to_the_environment_s_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, BASE + STAGING)
    monkeypatch.chdir(tmp_path)
    synthesised = cli("synth", "--config", path, "-e", "staging")
    assert synthesised.exit_code == 0, synthesised.output
    assert (tmp_path / "dist-staging" / MARKER).exists() and not (tmp_path / "dist").exists()
    objects = synthesised.stdout.split("(")[1].split(" validated")[0]  # custom resources without a schema are not
    diff = cli("diff", "--config", path, "-e", "staging", "--json")
    assert diff.exit_code == 0, diff.output
    assert json.loads(diff.stdout)["changes"] == []
    validated = cli("validate", "--config", path, "-e", "staging")
    assert validated.exit_code == 0, validated.output
    assert validated.stdout.strip() == f"valid: {objects} objects"
