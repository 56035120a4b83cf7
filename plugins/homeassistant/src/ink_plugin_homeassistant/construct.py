"""Home Assistant's Deployment, Service, /config volume and the reverse-proxy fragment.

Facts (home-assistant/core): the image starts ``python3 -m homeassistant --config /config`` under
s6-overlay (``rootfs/etc/services.d/home-assistant/run``); it listens on 8123 (``const.py``
SERVER_PORT); behind a proxy it needs ``http: use_x_forwarded_for`` and ``trusted_proxies``, or it
answers 400 (``components/http/forwarded.py``). ``homeassistant: packages: !include_dir_named
packages`` loads every file of ``packages/`` as a package named after the file, whose integration
keys are merged into the configuration (docs: "Packages").
"""

from __future__ import annotations

import json

from ink import kube
from ink.context import ServiceContext
from ink_plugin_homeassistant import HOST_NETWORK, NAME, PORT

IMAGE = "ghcr.io/home-assistant/home-assistant"
FRAGMENT_DIR = "/etc/ink/homeassistant"

# Ours, rewritten on every start: the user's own settings belong in configuration.yaml or other packages.
PACKAGE = """\
# Written by ink on every start (packages/ink.yaml): Home Assistant behind the ingress controller.
# Edit [network] pods in ink.toml instead of this file.
http:
  use_x_forwarded_for: true
  trusted_proxies: $trusted_proxies
"""

# Upstream's default configuration.yaml (homeassistant/config.py DEFAULT_CONFIG), plus the packages line.
DEFAULT_CONFIGURATION = """\
# Loads default set of integrations. Do not remove.
default_config:

# Load frontend themes from the themes folder
frontend:
  themes: !include_dir_merge_named themes

automation: !include automations.yaml
script: !include scripts.yaml
scene: !include scenes.yaml

# Added by ink: loads packages/ink.yaml (the reverse proxy settings) and your own packages.
homeassistant:
  packages: !include_dir_named packages
"""

# Runs before Home Assistant: never rewrites the user's configuration.yaml, only adds the packages line.
SETUP = f"""\
set -eu
cd /config
mkdir -p packages
cp {FRAGMENT_DIR}/ink.yaml packages/ink.yaml
if [ ! -e configuration.yaml ]; then
  cp {FRAGMENT_DIR}/configuration.yaml configuration.yaml
  # The files upstream creates with its default configuration.yaml, which includes them.
  [ -e automations.yaml ] || echo '[]' > automations.yaml
  [ -e scripts.yaml ] || : > scripts.yaml
  [ -e scenes.yaml ] || : > scenes.yaml
  echo "ink: wrote the default configuration.yaml"
elif grep -Eq '^[[:space:]]+packages:[[:space:]]*!include_dir_named[[:space:]]+packages/?[[:space:]]*$' \\
    configuration.yaml; then
  echo "ink: configuration.yaml loads packages/, so packages/ink.yaml applies"
elif grep -Eq '^homeassistant:' configuration.yaml; then
  echo "ink: /config/configuration.yaml has a 'homeassistant:' section without" \\
    "'packages: !include_dir_named packages'; add that line under it (it loads packages/ink.yaml," \\
    "the reverse proxy settings without which every request through the ingress gets 400)" >&2
  exit 1
else
  printf '\\n# Added by ink: loads packages/ink.yaml (the reverse proxy settings) and your own packages.\\n' \\
    >> configuration.yaml
  printf 'homeassistant:\\n  packages: !include_dir_named packages\\n' >> configuration.yaml
  echo "ink: added 'homeassistant: packages: !include_dir_named packages' to configuration.yaml"
fi
"""


def fragment(ctx: ServiceContext) -> kube.ConfigFiles:
    # The ingress controller's connections come from the pod network; a flow list is valid YAML.
    return kube.ConfigFiles(
        name=f"{NAME}-ink",
        mount_path=FRAGMENT_DIR,
        files={"ink.yaml": PACKAGE, "configuration.yaml": DEFAULT_CONFIGURATION},
        values={"trusted_proxies": json.dumps(list(ctx.config.network.pods))},
    )


def homeassistant(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings = ctx.settings
    image = f"{IMAGE}:{settings.image_tag or ctx.service.version}"
    config = kube.Volume(name="config", mount_path="/config", size=settings.storage_size)
    tmp = kube.Scratch(name="tmp", mount_path="/tmp")
    exemptions = (HOST_NETWORK,) if settings.host_network else ()
    setup = kube.Container(
        name="config",
        image=image,
        command=["/bin/sh", "-c", SETUP],
        mounts=[config, fragment(ctx)],
        resources=kube.Resources(cpu_request="10m", memory_request="16Mi", memory_limit="64Mi"),
    )
    server = kube.Container(
        name="homeassistant",
        image=image,
        # The s6-overlay entry point needs root; its service script runs exactly this.
        command=["python3", "-m", "homeassistant", "--config", "/config"],
        env=ctx.with_user_env({"TZ": ctx.config.timezone, "HOME": "/tmp"}),  # type: ignore[arg-type]
        ports=[kube.Port(name="http", number=PORT)],
        # GET / serves the frontend without a token (the chart's probe); startup covers migrations.
        health=kube.HttpProbe(path="/", port=PORT),
        startup_seconds=300,
        resources=kube.Resources.of(settings.resources),
        mounts=[config, tmp],
        exemptions=exemptions,
    )
    component = kube.Component(
        name="server", object_name=NAME, replicas=settings.replicas, init_containers=[setup], containers=[server]
    )
    kube.Workloads(scope, NAME, ctx=ctx, components=[component])
