"""Open capabilities: one defined by an outside package, provided and consumed like a built-in."""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

import pytest

import ink
from ink import capabilities, run, testing
from ink.capabilities import CapabilitySpec
from ink.errors import PluginError, ResolutionError
from ink.hookspecs import hookspec
from ink.models import Binding, Capability, DatabaseClaim, NamedNeed, Need, ServiceInfo

# --- a throwaway capability, as an outside package would define it ----------------------


class PagerNeed(Need):
    capability: ClassVar[str] = "pager"
    id_field: ClassVar[str] = "channel"
    channel: str


class PagerBinding(Binding):
    url: str


class PagerHooks:
    @hookspec(firstresult=True)
    def ink_provide_pager(self, need, scope, ctx, consumer):  # type: ignore[no-untyped-def]
        """Answer a need for paging."""


PAGER = CapabilitySpec("pager", PagerNeed, PagerBinding, "ink_provide_pager", PagerHooks, defined_by="ink-pager")


class RelayNeed(Need):
    capability: ClassVar[str] = "relay"
    id_field: ClassVar[str] = "name"
    name: str


class RelayHooks:
    @hookspec(firstresult=True)
    def ink_provide_relay(self, need, scope, ctx, consumer):  # type: ignore[no-untyped-def]
        """Answer a need for a relay; the consumer's pager binding is already there."""


# Answered after pager: its provider reads the consumer's pager binding.
RELAY = CapabilitySpec("relay", RelayNeed, PagerBinding, "ink_provide_relay", RelayHooks, after=("pager",))


def _info(name: str, provides: tuple[str, ...] = ()) -> ServiceInfo:
    return ServiceInfo(name=name, title=name, version="1.0.0", homepage="https://example.org", provides=provides)


class Pagerd:
    """Provides pager: a ConfigMap per consumer in the consumer's folder, and a roster in its own."""

    @ink.hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return _info("pagerd", ("pager",))

    @ink.hookimpl
    def ink_provide_pager(self, need: PagerNeed, scope, ctx) -> PagerBinding:  # type: ignore[no-untyped-def]
        from ink import kube

        kube.api_object(
            scope,
            "pager",
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"pager-{need.channel}"}, "data": {}},
        )
        return PagerBinding(url=f"http://pagerd.pagerd.svc/{need.owner}/{need.channel}")

    @ink.hookimpl
    def ink_workloads(self, scope, ctx) -> None:  # type: ignore[no-untyped-def]
        from ink import kube

        roster = {f"{need.owner}.{need.channel}": binding.url for need, binding in ctx.served}
        kube.api_object(
            scope, "roster", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "roster"}, "data": roster}
        )


class Relayd:
    @ink.hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return _info("relayd", ("relay",))

    @ink.hookimpl
    def ink_provide_relay(self, need: RelayNeed, consumer) -> PagerBinding:  # type: ignore[no-untyped-def]
        return PagerBinding(url=consumer.bindings["pager/ops"].url + "/relayed")


class App:
    """Consumes pager: typed (it depends on the defining package) or by name (it does not)."""

    def __init__(self, *, by_name: bool = False, optional: bool = False, relay: bool = False) -> None:
        self.by_name, self.optional, self.relay = by_name, optional, relay

    @ink.hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return _info("app")

    @ink.hookimpl
    def ink_needs(self) -> list[Need | NamedNeed]:
        if self.by_name:
            needs: list[Need | NamedNeed] = [
                NamedNeed(capability="pager", id="ops", optional=self.optional),
            ]
        else:
            needs = [PagerNeed(channel="ops", optional=self.optional)]
        return [*needs, RelayNeed(name="r")] if self.relay else needs

    @ink.hookimpl
    def ink_workloads(self, scope, ctx) -> None:  # type: ignore[no-untyped-def]
        from ink import kube

        data = {key: binding.url for key, binding in ctx.bindings.items()}
        kube.api_object(
            scope, "wiring", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "wiring"}, "data": data}
        )


def synth(tmp_path: Path, extra: dict[str, object], specs=(PAGER,), config: str = ""):  # type: ignore[no-untyped-def]
    return testing.synth(tmp_path, config, plugins=[], extra=extra, capabilities=list(specs), validate=False)


# --- defined, provided, consumed ---------------------------------------------------------------


@pytest.mark.parametrize("by_name", [False, True], ids=["typed", "by-name"])
def test_outside_capability_both_sides_in_the_output(tmp_path: Path, by_name: bool) -> None:
    objects = testing.objects(synth(tmp_path, {"pagerd": Pagerd(), "app": App(by_name=by_name)}))
    # Consumer side: the provider's object under the consumer's folder, and the binding in the consumer's env.
    assert objects["app/configmap-pager-ops.yaml"]["metadata"]["namespace"] == "app"
    assert objects["app/configmap-wiring.yaml"]["data"] == {"pager/ops": "http://pagerd.pagerd.svc/app/ops"}
    # Provider side: what it served, in its own folder.
    assert objects["pagerd/configmap-roster.yaml"]["data"] == {"app.ops": "http://pagerd.pagerd.svc/app/ops"}


def test_outside_capability_orders_the_deploy_waves(tmp_path: Path) -> None:
    result = synth(tmp_path, {"pagerd": Pagerd(), "app": App()})
    graph = result_graph(tmp_path, {"pagerd": Pagerd(), "app": App()})
    assert graph.waves() == {"app": 1, "pagerd": 0}
    assert result.services == 2


def result_graph(tmp_path: Path, extra: dict[str, object], specs=(PAGER,)):  # type: ignore[no-untyped-def]
    from ink import synth as synth_mod
    from ink.config import load_config

    config = load_config(testing.prepare(tmp_path / "graph"))
    return synth_mod.plan(config, testing.host([], extra, list(specs)))


def test_provide_order_follows_after(tmp_path: Path) -> None:
    order = capabilities.provide_order(capabilities.load([RELAY, PAGER]))
    assert order["relay"] > order["pager"]
    assert list(order)[-1] == "secrets"  # answered last, by core's secret pipeline
    # Built-ins keep their order: an ingress provider sees the consumer's auth binding.
    assert order["auth"] < order["ingress"] and order["tls"] < order["ingress"] and order["s3"] < order["backup"]
    extra = {"pagerd": Pagerd(), "relayd": Relayd(), "app": App(relay=True)}
    objects = testing.objects(synth(tmp_path, extra, specs=(RELAY, PAGER)))
    assert objects["app/configmap-wiring.yaml"]["data"]["relay/r"] == "http://pagerd.pagerd.svc/app/ops/relayed"


# --- resolution: the same rules as for the built-ins -----------------------------------------


def test_a_required_need_without_a_provider_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ResolutionError, match=r"app needs pager \(pager/ops\) but no enabled plugin provides it"):
        synth(tmp_path, {"app": App()})


def test_a_required_need_whose_provider_is_disabled_names_it(tmp_path: Path) -> None:
    config = "[plugins.pagerd]\nenabled = false\n"
    fix = r"\(pagerd is installed but disabled: \[plugins.pagerd\] enabled = true\)"
    needs = r"app needs pager \(pager/ops\) but no enabled plugin provides it; "
    with pytest.raises(ResolutionError, match=rf"{needs}.*{fix}"):
        synth(tmp_path, {"pagerd": Pagerd(), "app": App()}, config=config)
    # Without a disabled provider installed there is nobody to name.
    with pytest.raises(ResolutionError) as refused:
        synth(tmp_path, {"app": App()})
    assert "disabled" not in str(refused.value)


def test_an_optional_need_without_a_provider_is_dropped_with_a_warning(tmp_path: Path) -> None:
    result = synth(tmp_path, {"app": App(optional=True)})
    assert testing.objects(result)["app/configmap-wiring.yaml"].get("data") in (None, {})
    assert any("no enabled plugin provides pager, so pager/ops is left out" in w for w in result.warnings)


def test_two_providers_are_an_error(tmp_path: Path) -> None:
    class Other(Pagerd):
        @ink.hookimpl
        def ink_service_info(self) -> ServiceInfo:
            return _info("other", ("pager",))

    with pytest.raises(ResolutionError, match="two plugins provide pager: 'other' and 'pagerd'"):
        synth(tmp_path, {"pagerd": Pagerd(), "other": Other(), "app": App()})


def test_a_named_need_of_a_capability_nobody_defines(tmp_path: Path) -> None:
    with pytest.raises(ResolutionError, match=r"app needs pager .* no installed package defines it"):
        synth(tmp_path, {"app": App(by_name=True)}, specs=())
    result = synth(tmp_path, {"app": App(by_name=True, optional=True)}, specs=())
    assert any("no installed package defines pager, so pager/ops is left out" in w for w in result.warnings)


def test_a_named_need_that_does_not_fit_the_model_is_the_consumers_bug(tmp_path: Path) -> None:
    class Bad(App):
        @ink.hookimpl
        def ink_needs(self) -> list[NamedNeed]:
            return [NamedNeed(capability="pager", id="ops", params={"colour": "red"})]

    with pytest.raises(PluginError, match="pager/ops is not a valid PagerNeed: colour: Extra inputs"):
        synth(tmp_path, {"pagerd": Pagerd(), "app": Bad()})


def test_providing_an_undefined_capability_is_the_providers_bug(tmp_path: Path) -> None:
    class Claims:
        @ink.hookimpl
        def ink_service_info(self) -> ServiceInfo:
            return _info("claims", ("pager",))

    with pytest.raises(PluginError, match="provides 'pager', which no installed package defines"):
        synth(tmp_path, {"claims": Claims()}, specs=())


# --- hooks of a third-party capability are checked at load -------------------------------------


def test_implementing_a_defined_capabilitys_hook_loads() -> None:
    host = testing.host([], {"pagerd": Pagerd()}, [PAGER])
    assert host.implements("pagerd", "ink_provide_pager")
    assert host.capabilities["pager"].defined_by == "ink-pager"


def test_a_misspelt_hook_of_a_third_party_capability_fails_at_load() -> None:
    class Misspelt:
        @ink.hookimpl
        def ink_service_info(self) -> ServiceInfo:
            return _info("misspelt", ("pager",))

        @ink.hookimpl
        def ink_provide_pagr(self) -> None:
            """Typo."""

    with pytest.raises(PluginError, match="ink_provide_pagr"):
        testing.host([], {"misspelt": Misspelt()}, [PAGER])
    # Without the defining package, even the right name is unknown: the plugin does not load.
    with pytest.raises(PluginError, match="ink_provide_pager"):
        testing.host([], {"pagerd": Pagerd()})


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        (CapabilitySpec("database", DatabaseClaim, PagerBinding, "ink_provide_pager", PagerHooks), "defined twice"),
        (CapabilitySpec("pager", PagerNeed, PagerBinding, "ink_provide_paging", PagerHooks), "ink_provide_paging"),
        (CapabilitySpec("Pager", PagerNeed, PagerBinding, "ink_provide_pager", PagerHooks), "DNS label"),
        (CapabilitySpec("beeper", PagerNeed, PagerBinding, "ink_provide_pager", PagerHooks), "capability = 'pager'"),
        (CapabilitySpec("pager", PagerNeed, PagerBinding, "ink_provide_pager", PagerHooks, after=("fax",)), "'fax'"),
    ],
    ids=["clash", "no-such-hook", "bad-name", "need-of-another", "after-unknown"],
)
def test_a_broken_capability_definition_is_refused(spec: CapabilitySpec, problem: str) -> None:
    with pytest.raises(PluginError, match=re.escape(problem)):
        testing.host([], {}, [spec])


def test_a_published_definition_that_cannot_load(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    from ink.plugins import make_plugin_host

    broken = importlib.metadata.EntryPoint("fax", "ink_fax_that_does_not_exist:FAX", capabilities.ENTRY_POINT_GROUP)
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [broken] if group == broken.group else [])
    with pytest.raises(PluginError, match=r"plugin 'fax' failed in hook ink.capabilities: cannot import"):
        make_plugin_host(environ={})
    # `ink plugins` still lists what is installed, and says what is broken.
    host = make_plugin_host(environ={}, keep_broken=True)
    assert "cannot import" in host.broken["fax"].problem
    assert "fax" not in host.capabilities


# --- ink plugins ---------------------------------------------------------------------------------


def test_ink_plugins_lists_capabilities_and_their_providers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        run, "make_plugin_host", lambda **_: testing.host([], {"pagerd": Pagerd(), "app": App()}, [PAGER])
    )
    rows = {row[0]: row for row in run.capability_rows(None)}
    assert rows["pager"] == ("pager", "ink-pager", "pagerd", "app")
    assert rows["database"] == ("database", "ink-core", "(no provider!)", "-")
    assert list(rows)[: len(Capability)] == [spec.name for spec in capabilities.BUILTIN]


def test_ink_plugins_prints_the_capability_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from ink.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        run, "make_plugin_host", lambda **_: testing.host([], {"pagerd": Pagerd(), "app": App()}, [PAGER])
    )
    result = CliRunner().invoke(main, ["plugins"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    table = lines[lines.index("capability\tdefined by\tprovided by\tneeded by") :]
    assert "pager\tink-pager\tpagerd\tapp" in table
    assert "secrets\tink-core\t(no provider!)\t-" in table


# --- the resolver treats every capability alike ------------------------------------------------


def test_the_resolver_names_no_capability() -> None:
    source = (Path(capabilities.__file__).parent / "graph.py").read_text(encoding="utf-8")
    names = "|".join(c.value for c in Capability)
    assert not re.findall(rf"Capability\.|[\"'/]({names})\b|\b({names})[\"'/]", source)
    synth_source = (Path(capabilities.__file__).parent / "synth.py").read_text(encoding="utf-8")
    assert "Capability." not in synth_source  # the provide step is generic too; secrets come from their spec


def test_a_typed_need_of_an_undefined_capability_must_be_named(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match=r"pager/ops: PagerNeed is not the need model .* NamedNeed"):
        synth(tmp_path, {"app": App()}, specs=())
