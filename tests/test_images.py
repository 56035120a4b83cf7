"""`ink images` on the embedded default and every test config: every image pinned, and each chart-installing
plugin's declaration (``ink_images``) equal to what its charts really render.

Core never runs helm, so a chart's images reach `ink images` only through the plugin's declaration. Here every
chart Application is rendered offline the way Argo CD does (tests/chartrender.py) and its images compared with
the declaration, so a chart or value change that adds, drops or retags an image fails until the declaration
follows. A declared image no pod of the chart names (one an operator starts from a custom resource, e.g. the
MongoDB server) must at least be named in the rendered chart (the operator's arguments or environment).
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

import chartrender
import pytest
import yaml

from ink import images, run, testing

KUBERNETES_VERSION = "1.33"
CONFIGS = {
    "default": "",
    **{p.stem: p.read_text() for p in sorted((Path(__file__).parent / "configs").glob("*.toml")) if p.stem != "mesh"},
}


@functools.cache
def synthesised(config: str) -> run.SynthResult:
    hidden = {name: os.environ.pop(name) for name in list(os.environ) if name.upper().startswith("INK_")}
    try:
        with tempfile.TemporaryDirectory(prefix=f"ink-images-{config}-") as directory:
            return testing.synth(Path(directory), CONFIGS[config], validate=False)
    finally:
        os.environ.update(hidden)


def declared(config: str) -> dict[str, set[images.Image]]:
    result = synthesised(config)
    assert result.images is not None
    return {service: set(found) for service, found in result.images.declared.items()}


def chart_services(config: str) -> dict[str, list[chartrender.ChartApp]]:
    apps: dict[str, list[chartrender.ChartApp]] = {}
    for app in chartrender.chart_applications(testing.objects(synthesised(config)).values()):
        apps.setdefault(app.service, []).append(app)
    return apps


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "chart_service" in metafunc.fixturenames:
        cases = [(config, service) for config in CONFIGS for service in chart_services(config)]
        metafunc.parametrize("chart_service", cases, ids=[f"{config}-{service}" for config, service in cases])


def test_declarations_equal_the_rendered_charts(chart_service: tuple[str, str]) -> None:
    config, service = chart_service
    rendered: set[images.Image] = set()
    text = ""
    older = []  # snapshots older than the pinned chart: their default tags may lag the pin's
    for app in chart_services(config)[service]:
        if app.chart_dir is None:
            pytest.fail(f"{app.label}: not in {chartrender.CHARTS_DIR} (tests/test_charts.py says more)", pytrace=False)
        meta = chartrender._chart_meta(app.chart_dir)
        if meta is None or meta[1] != app.version:
            older.append(f"{app.label} rendered from the {meta[1] if meta else '?'} snapshot")
        objects = chartrender.render(app, kube_version=KUBERNETES_VERSION)
        text += yaml.safe_dump_all(objects)
        rendered |= {images.parse(ref) for obj in objects for ref in images.object_images(obj)}
    declaration = declared(config).get(service, set())

    def key(image: images.Image) -> str:
        # Against an older snapshot only the repositories can be compared: the pinned chart's default tags
        # are not in ../shared/charts (each plugin's README, "Images", names the source of its tags).
        return image.repository if older else image.ref

    missing = sorted({key(i) for i in rendered} - {key(i) for i in declaration})
    assert missing == [], f"{service}'s charts render images its ink_images does not declare ({config}; {older})"
    # Started by an operator, not named in a pod: the rendered chart must still name the repository.
    unseen = sorted(i.ref for i in declaration - rendered if i.path.rsplit("/", 1)[-1] not in text)
    assert unseen == [], f"{service} declares images its charts neither render nor name ({config})"


@pytest.mark.parametrize("config", CONFIGS)
def test_every_image_is_pinned(config: str) -> None:
    result = synthesised(config)
    assert result.images is not None
    unpinned = [image.ref for image, _ in result.images.sorted() if not image.pinned]
    assert unpinned == [], "no tag or :latest: pin a released tag (or a digest)"


@pytest.mark.parametrize("config", CONFIGS)
def test_every_chart_installing_service_declares_its_images(config: str) -> None:
    undeclared = sorted(set(chart_services(config)) - set(declared(config)))
    assert undeclared == [], "these install charts but implement no ink_images: `ink images` would miss them"


def test_the_embedded_default_lists_each_image_once_sorted() -> None:
    result = synthesised("default")
    assert result.images is not None
    listed = result.images.plain().splitlines()
    assert listed == sorted(set(listed))
    assert len(listed) > 40  # every service's images, not a few
