"""renovate.json: Renovate's own validator accepts it, and its custom manager finds every image and chart pin.

The validator is ``renovate-config-validator`` from the npm package ``renovate`` (pinned in noxfile.py, installed
by the ``tests`` and ``renovate`` sessions, which name it in ``RENOVATE_CONFIG_VALIDATOR``). Without it the test
fails: it is never skipped.

The second half runs renovate.json's own regular expressions, in Python, over the files Renovate would read, and
compares what they find with `ink images` and the chart Applications of the embedded default and every test
config: every image's tag must be a pin Renovate bumps (its own, or the pin it shares with the images released
with it), every chart version a pin, and every pin must still be used (a stale comment names the wrong image).
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import chartrender
import pytest
from configsynth import CONFIGS, synthesised

from ink import images, testing

ROOT = Path(__file__).resolve().parent.parent
CONFIG = json.loads((ROOT / "renovate.json").read_text())


def test_renovate_validator_accepts_the_config() -> None:
    # Without a file argument it validates the repository's config file as repository config (with one, as the
    # bot's global config).
    validator = os.environ.get("RENOVATE_CONFIG_VALIDATOR")
    if not validator:
        pytest.fail(
            "RENOVATE_CONFIG_VALIDATOR is not set: run this through `nox -s tests` or `nox -s renovate`, which "
            "install Renovate from npm",
            pytrace=False,
        )
    done = subprocess.run([validator, "--strict"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_broken_config_is_refused_by_the_validator(tmp_path: Path) -> None:
    """So the test above cannot pass by accident (a validator that accepts anything)."""
    validator = os.environ.get("RENOVATE_CONFIG_VALIDATOR")
    if not validator:
        pytest.fail("RENOVATE_CONFIG_VALIDATOR is not set (see the test above)", pytrace=False)
    (tmp_path / "renovate.json").write_text(json.dumps({**CONFIG, "packageRules": [{"groupName": 3}]}))
    done = subprocess.run(
        [validator, "--strict"], cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode != 0
    assert "packageRules[0].groupName` should be a string" in done.stdout + done.stderr


# --- the custom manager, run in Python -------------------------------------------------------


@dataclass(frozen=True)
class Pin:
    path: str  # relative to the repository
    datasource: str
    dep_name: str
    current: str
    extract: str  # extractVersion, Renovate's default when absent: the whole tag

    def version_of(self, tag: str) -> str | None:
        """The version Renovate reads from ``tag`` (extractVersion applied), None when it does not apply."""
        match = re.fullmatch(_python(self.extract), tag) if self.extract else None
        return tag if not self.extract else (match["version"] if match else None)


def _python(pattern: str) -> str:
    """A Renovate (JavaScript/RE2) expression in Python's syntax: only named groups differ."""
    return pattern.replace("(?<", "(?P<")


def _file_patterns(manager: dict) -> list[re.Pattern[str]]:
    patterns = []
    for pattern in manager["managerFilePatterns"]:
        assert pattern.startswith("/") and pattern.endswith("/"), f"{pattern}: ink's patterns are regexes"
        patterns.append(re.compile(pattern[1:-1]))
    return patterns


@functools.cache
def pins() -> tuple[Pin, ...]:
    found = []
    files = sorted(
        p.relative_to(ROOT).as_posix() for p in [*ROOT.glob("core/src/**/*"), *ROOT.glob("plugins/*/src/**/*")]
    )
    for manager in CONFIG["customManagers"]:
        patterns = _file_patterns(manager)
        for path in (f for f in files if any(p.search(f) for p in patterns)):
            text = (ROOT / path).read_text(encoding="utf-8")
            for expression in manager["matchStrings"]:
                for match in re.finditer(_python(expression), text):
                    groups = match.groupdict()
                    found.append(
                        Pin(
                            path,
                            groups["datasource"],
                            groups["depName"],
                            groups["currentValue"],
                            groups["extractVersion"] or "",
                        )
                    )
    return tuple(found)


def test_the_manager_finds_pins_in_the_annotated_forms() -> None:
    """Constants, a Field default and a whole image reference all yield the tag Renovate must replace."""
    expression = re.compile(_python(CONFIG["customManagers"][0]["matchStrings"][0]))
    samples = {
        '# renovate: datasource=docker depName=docker.io/a/b\nVERSION = "1.2.3"  # note\n': "1.2.3",
        (
            "    # renovate: datasource=helm depName=c registryUrl=https://x.io\n"
            '    chart_version: str = Field(default="0.29.1")\n'
        ): "0.29.1",
        (
            "# renovate: datasource=docker depName=docker.io/pgsty/mc\n"
            'MC_IMAGE = "docker.io/pgsty/mc:RELEASE.2026-09-16T00-00-00Z"\n'
        ): "RELEASE.2026-09-16T00-00-00Z",
        (
            "        # renovate: datasource=docker depName=d extractVersion=^v(?<version>.+)$\n"
            '        version="2.0.4",\n'
        ): "2.0.4",
    }
    for text, current in samples.items():
        match = expression.search(text)
        assert match is not None and match["currentValue"] == current, text
    assert expression.search('# renovate: datasource=docker depName=a\n\nVERSION = "1"\n') is None  # not the next line


def _plugin_dir(service: str) -> str:
    return f"plugins/{service}/"


def _candidates(service: str) -> list[Pin]:
    """The pins that can decide an image of ``service``: its plugin's, and core's (core's drill image)."""
    return [p for p in pins() if p.path.startswith((_plugin_dir(service), "core/"))]


def _covers(pin: Pin, image: images.Image) -> bool:
    return pin.version_of(image.tag) == pin.current


@pytest.mark.parametrize("config", CONFIGS)
def test_every_image_tag_is_a_pin_renovate_bumps(config: str) -> None:
    result = synthesised(config)
    assert result.images is not None
    charts = {app.service for app in chartrender.chart_applications(testing.objects(result).values())}
    uncovered = []
    for image, services in result.images.sorted():
        for service in services:
            candidates = _candidates(service)
            # Any package's pin of this repository (a provider writes images into its consumers' folders: valkey).
            own = [
                p
                for p in pins()
                if p.datasource == "docker" and images.parse(p.dep_name).repository == image.repository
            ]
            if any(_covers(p, image) for p in own):
                continue
            if service in charts and image in result.images.declared.get(service, []):
                continue  # a chart's own default: bumped with the chart's version (checked below)
            if own:  # the pin that names this image must be the one that decides its tag
                uncovered.append(f"{service}: {image.ref} (pinned as {', '.join(p.current for p in own)})")
            elif not any(_covers(p, image) or p.current == image.tag for p in candidates):
                uncovered.append(f"{service}: {image.ref}")
            # else: released together with the image its pin names, e.g. every Jitsi component
    assert uncovered == [], f"no '# renovate:' pin decides these tags (docs/updates.md, 'Pins'): {uncovered}"


def _pins_chart(app: chartrender.ChartApp) -> bool:
    helm = [p for p in _candidates(app.service) if p.datasource == "helm" and p.dep_name == app.chart]
    if helm:
        return any(p.current == app.version for p in helm)
    # No pin of its own: a chart versioned like its images (Istio's), moved by that pin.
    return any(p.current == app.version for p in _candidates(app.service))


@pytest.mark.parametrize("config", CONFIGS)
def test_every_chart_version_is_a_pin_renovate_bumps(config: str) -> None:
    apps = chartrender.chart_applications(testing.objects(synthesised(config)).values())
    assert apps
    unpinned = [app.label for app in apps if not _pins_chart(app)]
    assert unpinned == [], f"no '# renovate:' pin has these chart versions: {unpinned}"


def test_every_pin_is_used_by_some_config() -> None:
    """A pin whose image or chart no config deploys names the wrong thing (or something removed)."""
    used: set[tuple[str, str]] = set()
    for config in CONFIGS:
        result = synthesised(config)
        assert result.images is not None
        used |= {(image.repository, image.tag) for image, _ in result.images.sorted()}
        used |= {(app.chart, app.version) for app in chartrender.chart_applications(testing.objects(result).values())}
    stale = []
    for pin in pins():
        name = images.parse(pin.dep_name).repository if pin.datasource == "docker" else pin.dep_name
        if not any(name == repository and pin.version_of(tag) == pin.current for repository, tag in used):
            stale.append(f"{pin.path}: {pin.dep_name} {pin.current}")
    assert stale == [], f"pins no config uses (a wrong depName or extractVersion?): {stale}"


def test_every_plugin_with_a_pin_is_in_a_group() -> None:
    """The grouping rule's file patterns cover every pinned file, so each package's pins come in one PR."""
    rule = next(r for r in CONFIG["packageRules"] if r.get("groupName"))
    globs = [g.removesuffix("**") for g in rule["matchFileNames"]]
    assert all(pin.path.startswith(tuple(globs)) for pin in pins())
