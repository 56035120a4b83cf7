"""`ink images` on the embedded default and every test config: every image pinned, and every chart-installing
plugin declares its images (``ink_images``). That each declaration equals what its charts really render is
tests/test_charts.py's test_image_declarations_equal_the_rendered_charts, on the renders that file makes anyway.
"""

from __future__ import annotations

import chartrender
import configsynth
import pytest
from configsynth import synthesised

from ink import images, testing

KUBERNETES_VERSION = "1.33"
CONFIGS = [name for name in configsynth.CONFIGS if name != "mesh"]  # mesh installs charts not in ../shared/charts


def declared(config: str) -> dict[str, set[images.Image]]:
    result = synthesised(config)
    assert result.images is not None
    return {service: set(found) for service, found in result.images.declared.items()}


def chart_services(config: str) -> dict[str, list[chartrender.ChartApp]]:
    apps: dict[str, list[chartrender.ChartApp]] = {}
    for app in chartrender.chart_applications(testing.objects(synthesised(config)).values()):
        apps.setdefault(app.service, []).append(app)
    return apps


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
