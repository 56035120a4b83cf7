"""The workload vocabulary (ink.workload via ink.kube), on small examples shaped like real services.

Each example is a made-up in-test plugin modelled on /work/shared/reference/services-*.md:
Jitsi (four components, JVB's UDP on a LoadBalancer), Coturn (TCP+UDP, a bounded relay range,
host network), SearXNG (a settings file with a generated secret), Ollama (GPU), Home Assistant
(a StatefulSet on the host network, as root). Everything is synthesised and validated against the
strict schemas.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field

from ink import testing
from ink.errors import ConfigError, PluginError, ResolutionError
from ink.hookspecs import hookimpl
from ink.models import GeneratedSecret, SecretClaim, SecretKeyRef, ServiceInfo
from ink.podsecurity import (
    AddCapabilities,
    Exemption,
    Gpu,
    HostNetwork,
    Privileged,
    RunAsRoot,
    WritableRootFilesystem,
    required_level,
    restricted_container_context,
    restricted_pod_context,
)
from ink.settings import GpuSettings, ServiceSettings
from ink.validate import ManifestValidator
from ink.workload import (
    Component,
    ConfigFiles,
    Container,
    ExecProbe,
    GrpcProbe,
    HttpProbe,
    LoadBalancer,
    Port,
    Resources,
    Scratch,
    SecretFiles,
    Service,
    TcpProbe,
    Volume,
    env_vars,
    port_range,
    render_template,
)

Build = Callable[[Any], Sequence[Component]]


class Example:
    """An in-test plugin: its components, exemptions and secret files."""

    def __init__(
        self,
        name: str,
        build: Build,
        *,
        exemptions: Sequence[Exemption] = (),
        secret_files: Sequence[SecretFiles] = (),
        pod_security: str = "restricted",
    ) -> None:
        self.name, self.build, self.exemptions, self.secret_files = name, build, tuple(exemptions), secret_files
        self.pod_security = pod_security

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(
            name=self.name,
            title=self.name.title(),
            version="1.0.0",
            homepage="https://example.org",
            exemptions=self.exemptions,
            pod_security=self.pod_security,  # type: ignore[arg-type]
        )

    @hookimpl
    def ink_secrets(self, ctx: Any) -> list[SecretClaim]:
        return [files.claim() for files in self.secret_files]

    @hookimpl
    def ink_workloads(self, scope: Any, ctx: Any) -> None:
        from ink import kube

        kube.Workloads(scope, "workloads", ctx=ctx, components=self.build(ctx))


def synth(tmp_path: Path, crd_dir: Path, *examples: Example) -> dict[str, dict[str, Any]]:
    """Synthesise the examples (with sealed-secrets for their Secrets); every object must validate strictly."""
    result = testing.synth(tmp_path, plugins=["sealed-secrets"], extra={e.name: e for e in examples})
    objects = testing.objects(result)
    report = ManifestValidator("1.33", [crd_dir]).validate_all(objects.items())
    assert [str(p) for p in report.problems] == []
    assert report.skipped == {}
    return objects


def pod(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj["spec"]
    if obj["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def namespace_level(objects: dict[str, dict[str, Any]], name: str) -> str:
    return objects[f"{name}/namespace-{name}.yaml"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]


# --- Jitsi: four components, shared XMPP secrets, UDP on a LoadBalancer --------------------------

JITSI_TAG = "stable-11146-2"
XMPP = "jitsi-xmpp"  # the internal XMPP passwords, one Secret for all components


def jitsi_components(ctx: Any, *, jvb_address: str = "192.168.1.240") -> list[Component]:
    xmpp = {
        "JICOFO_AUTH_PASSWORD": SecretKeyRef(name=XMPP, key="jicofo"),
        "JVB_AUTH_PASSWORD": SecretKeyRef(name=XMPP, key="jvb"),
    }
    tmp = [Scratch(name="config", mount_path="/config"), Scratch(name="run", mount_path="/run")]
    return [
        Component(
            name="web",
            containers=[
                Container(
                    name="web",
                    image=f"ghcr.io/jitsi/web:{JITSI_TAG}",
                    env={"PUBLIC_URL": ctx.url("meet")},
                    ports=[Port(name="http", number=8000, service_port=80)],
                    health=HttpProbe(path="/", port="http"),
                    mounts=tmp,
                )
            ],
        ),
        Component(
            name="prosody",
            kind="StatefulSet",
            containers=[
                Container(
                    name="prosody",
                    image=f"ghcr.io/jitsi/prosody:{JITSI_TAG}",
                    env=xmpp,
                    ports=[Port(name="c2s", number=5222), Port(name="http", number=5280)],
                    liveness=HttpProbe(path="/http-bind", port=5280),
                    readiness=TcpProbe(port=5222),
                    mounts=[*tmp, Volume(name="data", mount_path="/var/lib/prosody", size="1Gi")],
                )
            ],
        ),
        Component(
            name="jicofo",
            containers=[
                Container(
                    name="jicofo",
                    image=f"ghcr.io/jitsi/jicofo:{JITSI_TAG}",
                    env=xmpp,
                    ports=[Port(name="http", number=8888)],
                    health=TcpProbe(port=8888),
                    mounts=tmp,
                )
            ],
        ),
        Component(
            name="jvb",
            containers=[
                Container(
                    name="jvb",
                    image=f"ghcr.io/jitsi/jvb:{JITSI_TAG}",
                    env={**xmpp, "JVB_ADVERTISE_IPS": jvb_address},
                    ports=[Port(name="media", number=10000, protocol="UDP"), Port(name="rest", number=8080)],
                    health=HttpProbe(path="/about/health", port=8080),
                    mounts=tmp,
                )
            ],
            services=[
                Service(ports=["rest"]),
                Service(
                    name="jitsi-jvb-media",
                    ports=["media"],
                    # Clients' source addresses must reach JVB unchanged.
                    load_balancer=LoadBalancer(address=jvb_address, external_traffic_policy="Local"),
                ),
            ],
        ),
    ]


def jitsi_example(**kwargs: Any) -> Example:
    xmpp = SecretClaim(
        name=XMPP, data={"jicofo": GeneratedSecret(id="jitsi/jicofo"), "jvb": GeneratedSecret(id="jitsi/jvb")}
    )

    class Jitsi(Example):
        @hookimpl
        def ink_secrets(self, ctx: Any) -> list[SecretClaim]:
            return [xmpp]

    return Jitsi("jitsi", lambda ctx: jitsi_components(ctx, **kwargs))


def test_jitsi_four_components_render_and_validate(tmp_path: Path, crd_dir: Path) -> None:
    objects = synth(tmp_path, crd_dir, jitsi_example())
    deployments = sorted(p for p in objects if p.startswith("jitsi/deployment-"))
    assert deployments == [
        "jitsi/deployment-jitsi-jicofo.yaml",
        "jitsi/deployment-jitsi-jvb.yaml",
        "jitsi/deployment-jitsi-web.yaml",
    ]
    prosody = objects["jitsi/statefulset-jitsi-prosody.yaml"]
    assert prosody["spec"]["serviceName"] == "jitsi-prosody-headless"
    assert prosody["spec"]["volumeClaimTemplates"][0]["spec"]["resources"] == {"requests": {"storage": "1Gi"}}
    headless = objects["jitsi/service-jitsi-prosody-headless.yaml"]["spec"]
    assert headless["clusterIP"] == "None"
    main = pod(prosody)["containers"][0]
    assert main["livenessProbe"]["httpGet"] == {"path": "/http-bind", "port": 5280, "scheme": "HTTP"}
    assert main["readinessProbe"]["tcpSocket"] == {"port": 5222}
    assert "startupProbe" not in main
    jicofo = pod(objects["jitsi/deployment-jitsi-jicofo.yaml"])["containers"][0]
    assert jicofo["env"][0] == {
        "name": "JICOFO_AUTH_PASSWORD",
        "valueFrom": {"secretKeyRef": {"name": XMPP, "key": "jicofo"}},
    }

    media = objects["jitsi/service-jitsi-jvb-media.yaml"]
    assert media["spec"]["type"] == "LoadBalancer"
    assert media["spec"]["externalTrafficPolicy"] == "Local"
    assert media["spec"]["ports"] == [{"name": "media", "port": 10000, "targetPort": 10000, "protocol": "UDP"}]
    assert media["metadata"]["annotations"]["metallb.io/loadBalancerIPs"] == "192.168.1.240"
    assert objects["jitsi/service-jitsi-jvb.yaml"]["spec"]["ports"][0]["name"] == "rest"
    assert namespace_level(objects, "jitsi") == "restricted"


def test_every_container_is_hardened_by_default(tmp_path: Path, crd_dir: Path) -> None:
    objects = synth(tmp_path, crd_dir, jitsi_example())
    for path, obj in objects.items():
        if obj["kind"] not in ("Deployment", "StatefulSet"):
            continue
        spec = pod(obj)
        assert spec["automountServiceAccountToken"] is False, path
        assert spec["securityContext"]["runAsNonRoot"] is True, path
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, path
        assert "hostNetwork" not in spec, path
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, path
            assert security["readOnlyRootFilesystem"] is True, path
            assert security["runAsNonRoot"] is True, path
            assert security["capabilities"] == {"drop": ["ALL"]}, path
            assert "privileged" not in security, path


# --- LoadBalancer addresses: shared where ports differ, refused where they clash ---------------


def coturn_components(ctx: Any, *, address: str = "192.168.1.241", udp_port: int = 3478) -> list[Component]:
    ports = [
        Port(name="turn-tcp", number=3478),
        Port(name="turn-udp", number=udp_port, protocol="UDP"),
        Port(name="turns", number=5349),
        *port_range("relay", 49160, 49169),
    ]
    return [
        Component(
            name="coturn",
            user=65534,  # the image's nobody
            containers=[
                Container(
                    name="coturn",
                    image="docker.io/coturn/coturn:4.17.2",
                    args=["--min-port=49160", "--max-port=49169", "--use-auth-secret"],
                    ports=ports,
                    health=TcpProbe(port=3478),
                    mounts=[
                        SecretFiles(name="wildcard-tls", mount_path="/etc/coturn/tls", keys=["tls.crt", "tls.key"]),
                        Scratch(name="state", mount_path="/var/lib/coturn", memory=True),
                    ],
                )
            ],
            services=[Service(load_balancer=LoadBalancer(address=address))],
        )
    ]


def test_coturn_tcp_udp_and_a_bounded_relay_range_on_one_address(tmp_path: Path, crd_dir: Path) -> None:
    objects = synth(tmp_path, crd_dir, Example("coturn", coturn_components))
    spec = objects["coturn/service-coturn.yaml"]["spec"]
    assert spec["type"] == "LoadBalancer"
    protocols = {(p["port"], p["protocol"]) for p in spec["ports"]}
    assert {(3478, "TCP"), (3478, "UDP"), (5349, "TCP"), (49160, "UDP"), (49169, "UDP")} <= protocols
    assert len(spec["ports"]) == 13
    volumes = {v["name"]: v for v in pod(objects["coturn/deployment-coturn.yaml"])["volumes"]}
    assert volumes["wildcard-tls"]["secret"]["items"] == [
        {"key": "tls.crt", "path": "tls.crt"},
        {"key": "tls.key", "path": "tls.key"},
    ]
    assert volumes["state"]["emptyDir"] == {"medium": "Memory"}


def test_services_on_one_address_with_different_ports_share_it(tmp_path: Path, crd_dir: Path) -> None:
    objects = synth(
        tmp_path,
        crd_dir,
        Example("coturn", coturn_components),
        Example("stun", lambda ctx: [stun_component(policy="Cluster")]),
    )
    keys = {
        objects[path]["metadata"]["annotations"]["metallb.io/allow-shared-ip"]
        for path in ("stun/service-stun.yaml", "coturn/service-coturn.yaml")
    }
    assert keys == {"ink-192.168.1.241"}


def stun_component(*, policy: str, port: int = 3479) -> Component:
    """A second STUN listener on coturn's address (192.168.1.241)."""
    return Component(
        name="stun",
        containers=[
            Container(name="stun", image="example.org/stun:1", ports=[Port(name="stun", number=port, protocol="UDP")])
        ],
        services=[Service(load_balancer=LoadBalancer(address="192.168.1.241", external_traffic_policy=policy))],  # type: ignore[arg-type]
    )


def test_sharing_an_address_across_traffic_policies_is_exit_2(tmp_path: Path) -> None:
    local = Example("stun", lambda ctx: [stun_component(policy="Local")])
    with pytest.raises(
        ResolutionError,
        match=r"coturn/coturn and stun: Service stun/stun both ask MetalLB for "
        r"192\.168\.1\.241, which shares an address only",
    ):
        testing.synth(tmp_path, plugins=[], extra={"coturn": Example("coturn", coturn_components), "stun": local})


def test_two_services_asking_for_one_address_and_port_is_exit_2_naming_both(tmp_path: Path) -> None:
    clashing = Example("stun", lambda ctx: [stun_component(policy="Cluster", port=3478)])
    with pytest.raises(ResolutionError) as info:
        testing.synth(tmp_path, plugins=[], extra={"coturn": Example("coturn", coturn_components), "stun": clashing})
    message = str(info.value)
    assert info.value.exit_code == 2
    assert "\n" not in message
    assert "coturn: Service coturn/coturn and stun: Service stun/stun" in message
    assert "192.168.1.241 port 3478/UDP" in message
    assert not (tmp_path / "dist").exists()


def test_port_range_is_bounded() -> None:
    assert [p.name for p in port_range("relay", 49160, 49161)] == ["relay49160", "relay49161"]
    with pytest.raises(ValueError, match="at most"):
        port_range("r", 49152, 65535)
    with pytest.raises(ValueError, match="15 characters"):
        port_range("turn-relay-port", 49160, 49161)


# --- files: ConfigMaps and Secrets from templates -----------------------------------------------

SEARXNG_SETTINGS = """\
use_default_settings: true
server:
  base_url: "$base_url"
  secret_key: "$secret_key"
  limiter: $limiter
search:
  formats: [html, json]
"""


def searxng_files() -> SecretFiles:
    return SecretFiles(
        name="searxng-settings",
        mount_path="/etc/searxng",
        files={"settings.yml": SEARXNG_SETTINGS},
        values={"base_url": "https://search.example.com/", "limiter": "false"},
        secrets={"secret_key": GeneratedSecret(id="searxng/secret-key", length=64)},
    )


def searxng_components(ctx: Any) -> list[Component]:
    return [
        Component(
            name="searxng",
            containers=[
                Container(
                    name="searxng",
                    image="docker.io/searxng/searxng:2025.1.1",
                    ports=[Port(name="http", number=8080)],
                    health=HttpProbe(path="/healthz", port=8080),
                    mounts=[
                        searxng_files(),
                        ConfigFiles(
                            name="searxng-limiter",
                            mount_path="/etc/searxng/limiter",
                            files={"limiter.toml": "[botdetection.ip_limit]\nlink_token = $link_token\n"},
                            values={"link_token": "true"},
                        ),
                        Scratch(name="cache", mount_path="/var/cache/searxng"),
                    ],
                )
            ],
        )
    ]


def test_secret_file_template_keeps_braces_and_fills_the_generated_secret() -> None:
    claim = searxng_files().claim()
    template = claim.data["settings.yml"]
    assert template.template.count("{secret_key}") == 1  # type: ignore[union-attr]
    assert "formats: [html, json]" in template.template.format(secret_key="S")  # type: ignore[union-attr]
    assert 'base_url: "https://search.example.com/"' in template.template.format(secret_key="S")  # type: ignore[union-attr]
    braces = SecretFiles(
        name="s",
        mount_path="/s",
        files={"a.json": '{"key": "$k", "n": ${n}}'},
        values={"n": "{1}"},
        secrets={"k": GeneratedSecret(id="x/k")},
    )
    assert braces.claim().data["a.json"].template.format(k="v") == '{"key": "v", "n": {1}}'  # type: ignore[union-attr]


def test_settings_file_with_generated_secret_is_sealed_and_mounted(tmp_path: Path, crd_dir: Path) -> None:
    objects = synth(tmp_path, crd_dir, Example("searxng", searxng_components, secret_files=[searxng_files()]))
    assert objects["searxng/sealedsecret-searxng-settings.yaml"]["spec"]["encryptedData"]["settings.yml"]
    limiter = objects["searxng/configmap-searxng-limiter.yaml"]
    assert limiter["data"] == {"limiter.toml": "[botdetection.ip_limit]\nlink_token = true\n"}
    deployment = objects["searxng/deployment-searxng.yaml"]
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert set(annotations) == {"checksum/searxng-limiter", "checksum/searxng-settings"}
    mounts = {m["name"]: m for m in pod(deployment)["containers"][0]["volumeMounts"]}
    assert mounts["searxng-settings"] == {"name": "searxng-settings", "mountPath": "/etc/searxng", "readOnly": True}
    rendered = "\n".join(str(obj) for obj in objects.values())
    assert "secret_key" not in rendered  # the settings file only leaves ink sealed


def test_template_refuses_a_missing_value() -> None:
    with pytest.raises(ValueError, match=r"\$port has no value"):
        render_template("listen: $port\n", {})
    with pytest.raises(ValueError, match=r"\$port has no value"):
        SecretFiles(name="s", mount_path="/s", files={"f": "$port"}).claim()


# --- Jobs named by content, CronJobs, init containers and sidecars -------------------------------


def setup_components(script: str) -> Build:
    def build(ctx: Any) -> list[Component]:
        return [
            Component(
                name="setup",
                kind="Job",
                containers=[
                    Container(
                        name="setup",
                        image="docker.io/library/busybox:1.37",
                        command=["/bin/sh", "-c", script],
                        mounts=[Scratch(name="tmp", mount_path="/tmp")],
                    )
                ],
            ),
            Component(
                name="prune",
                kind="CronJob",
                schedule="17 3 * * *",
                containers=[Container(name="prune", image="docker.io/library/busybox:1.37", command=["true"])],
            ),
        ]

    return build


def test_setup_job_name_is_stable_and_changes_with_content(tmp_path: Path, crd_dir: Path) -> None:
    def job_names(folder: str, script: str) -> list[str]:
        objects = synth(tmp_path / folder, crd_dir, Example("app", setup_components(script)))
        return sorted(o["metadata"]["name"] for o in objects.values() if o["kind"] == "Job")

    first = job_names("a", "echo one")
    assert first == job_names("b", "echo one")
    assert first != job_names("c", "echo two")
    assert first[0].startswith("app-setup-") and len(first[0]) == len("app-setup-") + 8


def test_jobs_and_cronjobs_render(tmp_path: Path, crd_dir: Path) -> None:
    objects = synth(tmp_path, crd_dir, Example("app", setup_components("echo one")))
    job = next(o for o in objects.values() if o["kind"] == "Job")
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PostSync"
    assert pod(job)["restartPolicy"] == "Never"
    cron = objects["app/cronjob-app-prune.yaml"]
    assert cron["spec"]["schedule"] == "17 3 * * *"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert pod(cron)["restartPolicy"] == "OnFailure"


def test_a_service_account_mounts_its_token_and_none_mounts_no_token(tmp_path: Path, crd_dir: Path) -> None:
    def build(ctx: Any) -> list[Component]:
        command = ["kubectl", "get", "pods"]
        return [
            Component(
                name="drill",
                kind="CronJob",
                schedule="0 4 * * 0",
                service_account="app-drill",
                containers=[Container(name="drill", image="registry.k8s.io/kubectl:v1.36.0", command=command)],
            ),
            Component(
                name="prune",
                kind="CronJob",
                schedule="17 3 * * *",
                containers=[Container(name="prune", image="docker.io/library/busybox:1.37", command=["true"])],
            ),
        ]

    objects = synth(tmp_path, crd_dir, Example("app", build))
    drill = pod(objects["app/cronjob-app-drill.yaml"])
    assert (drill["serviceAccountName"], drill["automountServiceAccountToken"]) == ("app-drill", True)
    prune = pod(objects["app/cronjob-app-prune.yaml"])
    assert "serviceAccountName" not in prune
    assert prune["automountServiceAccountToken"] is False


def test_init_containers_native_sidecars_and_exec_and_grpc_probes(tmp_path: Path, crd_dir: Path) -> None:
    def build(ctx: Any) -> list[Component]:
        return [
            Component(
                name="app",
                replicas=2,
                spread=True,
                init_containers=[Container(name="migrate", image="example.org/app:1", args=["migrate"])],
                sidecars=[
                    Container(
                        name="exporter",
                        image="example.org/exporter:1",
                        ports=[Port(name="metrics", number=9100)],
                        liveness=ExecProbe(command=["/bin/exporter", "--check"]),
                    )
                ],
                containers=[
                    Container(
                        name="app",
                        image="example.org/app:1",
                        ports=[Port(name="grpc", number=9090)],
                        health=GrpcProbe(port=9090),
                        startup_seconds=120,
                    )
                ],
            )
        ]

    objects = synth(tmp_path, crd_dir, Example("app", build))
    spec = pod(objects["app/deployment-app.yaml"])
    assert [c["name"] for c in spec["initContainers"]] == ["migrate", "exporter"]
    assert "restartPolicy" not in spec["initContainers"][0]
    assert spec["initContainers"][1]["restartPolicy"] == "Always"
    assert spec["initContainers"][1]["livenessProbe"]["exec"] == {"command": ["/bin/exporter", "--check"]}
    app = spec["containers"][0]
    assert app["livenessProbe"]["grpc"] == {"port": 9090}
    assert app["startupProbe"]["failureThreshold"] == 24
    assert spec["affinity"]["podAntiAffinity"]
    assert {p["name"] for p in objects["app/service-app.yaml"]["spec"]["ports"]} == {"grpc", "metrics"}
    assert objects["app/poddisruptionbudget-app.yaml"]["spec"]["maxUnavailable"] == 1


# --- exemptions: explicit, with reasons, and the namespace's Pod Security level ----------------

AS_ROOT = RunAsRoot(reason="the image's s6 supervisor starts as root")
HOST_NET = HostNetwork(reason="mDNS and SSDP discovery of devices on the LAN")
GPU = Gpu(reason="model inference on the node's NVIDIA GPU")


def home_assistant(ctx: Any) -> list[Component]:
    return [
        Component(
            name="home-assistant",
            kind="StatefulSet",
            containers=[
                Container(
                    name="home-assistant",
                    image="ghcr.io/home-assistant/home-assistant:2025.1",
                    ports=[Port(name="http", number=8123)],
                    health=HttpProbe(path="/", port=8123),
                    mounts=[Volume(name="config", mount_path="/config", size="5Gi")],
                    exemptions=[AS_ROOT, HOST_NET],
                )
            ],
        )
    ]


def ollama(ctx: Any) -> list[Component]:
    return [
        Component(
            name="ollama",
            containers=[
                Container(
                    name="ollama",
                    image="docker.io/ollama/ollama:0.13.5",
                    env={"HOME": "/data", "OLLAMA_HOST": "0.0.0.0:11434"},
                    ports=[Port(name="http", number=11434)],
                    health=HttpProbe(path="/", port=11434),
                    mounts=[Volume(name="models", mount_path="/data", size="100Gi")],
                    exemptions=[GPU],
                )
            ],
        )
    ]


def test_host_network_and_root_make_the_namespace_privileged(tmp_path: Path, crd_dir: Path) -> None:
    objects = synth(tmp_path, crd_dir, Example("home-assistant", home_assistant, exemptions=[AS_ROOT, HOST_NET]))
    spec = pod(objects["home-assistant/statefulset-home-assistant.yaml"])
    assert spec["hostNetwork"] is True
    assert spec["dnsPolicy"] == "ClusterFirstWithHostNet"
    security = spec["containers"][0]["securityContext"]
    assert security["runAsUser"] == 0 and security["runAsNonRoot"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}  # root, but still no capabilities beyond the default
    assert namespace_level(objects, "home-assistant") == "privileged"


SWITCHED_HOST_NET = HostNetwork(reason="mDNS and SSDP discovery, when the setting asks for it", when_used=True)


def switched_host_network(*, on: bool) -> Build:
    def build(ctx: Any) -> list[Component]:
        (component,) = home_assistant(ctx)
        (container,) = component.containers
        exemptions = [SWITCHED_HOST_NET] if on else []
        return [dataclasses.replace(component, containers=[dataclasses.replace(container, exemptions=exemptions)])]

    return build


@pytest.mark.parametrize(("on", "level"), [(False, "restricted"), (True, "privileged")])
def test_a_when_used_exemption_raises_the_level_only_when_a_component_uses_it(
    tmp_path: Path, crd_dir: Path, on: bool, level: str
) -> None:
    example = Example("home-assistant", switched_host_network(on=on), exemptions=[SWITCHED_HOST_NET])
    objects = synth(tmp_path, crd_dir, example)
    assert ("hostNetwork" in pod(objects["home-assistant/statefulset-home-assistant.yaml"])) is on
    assert namespace_level(objects, "home-assistant") == level


def test_gpu_sets_resource_runtime_class_and_node_selector_and_stays_restricted(tmp_path: Path, crd_dir: Path) -> None:
    objects = synth(tmp_path, crd_dir, Example("ollama", ollama, exemptions=[GPU]))
    spec = pod(objects["ollama/deployment-ollama.yaml"])
    assert spec["runtimeClassName"] == "nvidia"
    assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert spec["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert namespace_level(objects, "ollama") == "restricted"


class GpuService:
    """A plugin with the shared ``[plugins.<name>.gpu]`` table, declaring ``Gpu(reason=...)`` once."""

    class Settings(ServiceSettings):
        gpu: GpuSettings = Field(default_factory=GpuSettings)

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(
            name="infer",
            title="Infer",
            version="1.0.0",
            homepage="https://example.org",
            settings_model=self.Settings,
            exemptions=(Gpu(reason=GPU.reason),),
        )

    @hookimpl
    def ink_workloads(self, scope: Any, ctx: Any) -> None:
        from ink import kube

        gpu = ctx.settings.gpu.exemption(GPU.reason)
        app = Container(name="infer", image="docker.io/library/busybox:1.37.0", exemptions=[gpu] if gpu else [])
        kube.Workloads(scope, "infer", ctx=ctx, components=[Component(name="infer", containers=[app])])


def test_gpu_settings_turn_into_the_gpu_exemption(tmp_path: Path, crd_dir: Path) -> None:
    off = testing.objects(testing.synth(tmp_path / "off", plugins=[], extra={"infer": GpuService()}))
    spec = pod(off["infer/deployment-infer.yaml"])
    assert "runtimeClassName" not in spec and "nodeSelector" not in spec
    assert spec["containers"][0]["resources"]["limits"] == {"memory": "512Mi"}
    config = '[plugins.infer.gpu]\nenabled = true\nresource = "amd.com/gpu"\ncount = 2\nruntime_class = ""\n'
    config += 'node_selector = { "amd.com/gpu.present" = "true" }\n'
    result = testing.synth(tmp_path / "amd", config, plugins=[], extra={"infer": GpuService()})
    objects = testing.objects(result)
    assert ManifestValidator("1.33", [crd_dir]).validate_all(objects.items()).problems == []
    spec = pod(objects["infer/deployment-infer.yaml"])
    # Declared with the defaults, used with the user's device: the same reason admits it.
    assert "runtimeClassName" not in spec
    assert spec["nodeSelector"] == {"amd.com/gpu.present": "true"}
    assert spec["containers"][0]["resources"]["limits"] == {"memory": "512Mi", "amd.com/gpu": "2"}
    assert namespace_level(objects, "infer") == "restricted"
    on = testing.objects(
        testing.synth(
            tmp_path / "on", "[plugins.infer.gpu]\nenabled = true\n", plugins=[], extra={"infer": GpuService()}
        )
    )
    spec = pod(on["infer/deployment-infer.yaml"])
    assert spec["runtimeClassName"] == "nvidia"
    assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert spec["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"


def test_a_bad_gpu_setting_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"plugins\.infer\.gpu\.count"):
        testing.synth(tmp_path, "[plugins.infer.gpu]\ncount = 0\n", plugins=[], extra={"infer": GpuService()})


def test_a_gpu_with_another_reason_is_not_admitted() -> None:
    assert GPU.admits(Gpu(reason=GPU.reason, count=4))
    assert not GPU.admits(Gpu(reason="something else"))
    assert not AS_ROOT.admits(RunAsRoot(reason="another reason"))


def test_an_undeclared_exemption_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match=r"not listed in ServiceInfo\.exemptions"):
        testing.synth(tmp_path, plugins=["sealed-secrets"], extra={"ollama": Example("ollama", ollama)})


def test_exemptions_need_a_reason() -> None:
    with pytest.raises(ValueError, match="needs a reason"):
        RunAsRoot(reason=" ")


@pytest.mark.parametrize(
    ("exemptions", "level"),
    [
        ((), "restricted"),
        ((WritableRootFilesystem(reason="r"),), "restricted"),
        ((GPU,), "restricted"),
        ((AddCapabilities(reason="r", capabilities=("NET_BIND_SERVICE",)),), "restricted"),
        ((AddCapabilities(reason="r", capabilities=("CHOWN", "SETUID")),), "baseline"),
        ((AS_ROOT,), "baseline"),
        ((AddCapabilities(reason="r", capabilities=("NET_ADMIN",)),), "privileged"),
        ((HOST_NET,), "privileged"),
        ((Privileged(reason="r"), AS_ROOT), "privileged"),
    ],
)
def test_pod_security_level_follows_the_standards(exemptions: tuple[Exemption, ...], level: str) -> None:
    assert required_level(exemptions) == level


def test_plugin_floor_is_kept_when_exemptions_need_less() -> None:
    assert required_level([AS_ROOT], "privileged") == "privileged"


def test_capabilities_privileged_and_writable_root_render(tmp_path: Path, crd_dir: Path) -> None:
    caps = AddCapabilities(reason="binds port 53", capabilities=("NET_BIND_SERVICE",))
    writable = WritableRootFilesystem(reason="writes its pid file next to the binary")
    privileged = Privileged(reason="loads a kernel module")

    def build(ctx: Any) -> list[Component]:
        return [
            Component(
                name="dns",
                containers=[
                    Container(name="dns", image="example.org/dns:1", exemptions=[caps, writable]),
                    Container(name="module", image="example.org/module:1", exemptions=[privileged]),
                ],
            )
        ]

    objects = synth(tmp_path, crd_dir, Example("dns", build, exemptions=[caps, writable, privileged]))
    dns, module = pod(objects["dns/deployment-dns.yaml"])["containers"]
    assert dns["securityContext"]["capabilities"] == {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}
    assert dns["securityContext"]["readOnlyRootFilesystem"] is False
    assert module["securityContext"]["privileged"] is True
    assert namespace_level(objects, "dns") == "privileged"


def test_docs_page_lists_exemptions_with_reasons() -> None:
    from ink.docgen import plugin_page

    info = Example("home-assistant", home_assistant, exemptions=[AS_ROOT, HOST_NET]).ink_service_info()
    page = plugin_page(info, "ink-plugin-home-assistant", [], "")
    assert "## Exceptions to the hardened defaults" in page
    assert "Pod Security level of the namespace: `privileged`." in page
    assert "| runs as root | `baseline` | the image's s6 supervisor starts as root |" in page
    assert "| host network | `privileged` | mDNS and SSDP discovery of devices on the LAN |" in page
    plain = plugin_page(Example("app", ollama).ink_service_info(), "ink-plugin-app", [], "")
    assert "Exceptions" not in plain


def test_same_inputs_give_identical_objects(tmp_path: Path, crd_dir: Path) -> None:
    first = synth(
        tmp_path / "a", crd_dir, jitsi_example(), Example("searxng", searxng_components, secret_files=[searxng_files()])
    )
    second = synth(
        tmp_path / "b", crd_dir, jitsi_example(), Example("searxng", searxng_components, secret_files=[searxng_files()])
    )
    unsealed = [p for p in first if first[p]["kind"] != "SealedSecret"]  # sealing is randomised by design
    assert [first[p] for p in unsealed] == [second[p] for p in unsealed]


def test_the_documented_example_runs(tmp_path: Path, crd_dir: Path) -> None:
    """docs/writing-plugins.md section 9, executed as a plugin: the prose example cannot drift."""
    import types

    docs = (Path(__file__).parents[2] / "docs" / "writing-plugins.md").read_text(encoding="utf-8")
    section = docs.split("## 9. Several components", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    module = types.ModuleType("ink_plugin_calls")
    exec(compile(code, "writing-plugins.md", "exec"), module.__dict__)
    result = testing.synth(tmp_path, plugins=["sealed-secrets"], extra={"calls": module})
    objects = testing.objects(result)
    report = ManifestValidator("1.33", [crd_dir]).validate_all(objects.items())
    assert [str(p) for p in report.problems] == []
    assert {
        "calls/deployment-calls-web.yaml",
        "calls/statefulset-calls-xmpp.yaml",
        "calls/service-calls-xmpp-headless.yaml",
        "calls/deployment-calls-bridge.yaml",
        "calls/service-calls-media.yaml",
        "calls/sealedsecret-calls-xmpp.yaml",
    } <= set(objects)
    assert objects["calls/service-calls-media.yaml"]["spec"]["type"] == "LoadBalancer"
    assert namespace_level(objects, "calls") == "baseline"


def test_resources_manifest_has_a_cpu_limit_only_when_one_is_set() -> None:
    """The one place a ContainerResources setting becomes Kubernetes' resources field (pods and chart values)."""
    from ink.settings import ContainerResources

    assert Resources.of(
        ContainerResources(cpu_request="100m", memory_request="256Mi", memory_limit="1Gi")
    ).manifest() == {
        "requests": {"cpu": "100m", "memory": "256Mi"},
        "limits": {"memory": "1Gi"},
    }
    assert Resources(cpu_limit="2").manifest()["limits"] == {"memory": "512Mi", "cpu": "2"}


def test_env_vars_keep_their_order_and_refer_to_secrets_by_key() -> None:
    assert env_vars({"B": "1", "A": SecretKeyRef(name="app-db", key="uri"), "C": 3}) == [  # type: ignore[dict-item]
        {"name": "B", "value": "1"},
        {"name": "A", "valueFrom": {"secretKeyRef": {"name": "app-db", "key": "uri"}}},
        {"name": "C", "value": "3"},
    ]


class Chart:
    """An in-test plugin installing one chart with the given helm_application arguments."""

    def __init__(self, **kwargs: str) -> None:
        self.kwargs = kwargs

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="op", title="Op", version="1.0.0", homepage="https://example.org")

    @hookimpl
    def ink_workloads(self, scope, ctx) -> None:  # type: ignore[no-untyped-def]
        from ink import kube

        kube.helm_application(
            scope, ctx=ctx, repo_url="https://charts.example.org", chart="op", version="1.2.3", values={}, **self.kwargs
        )


@pytest.mark.parametrize(
    ("kwargs", "application", "release"),
    [({"release": "op"}, "op-chart", "op"), ({"name": "op-operator"}, "op-operator", "op-operator")],
)
def test_helm_application_is_named_after_its_release_unless_named(
    tmp_path: Path, kwargs: dict[str, str], application: str, release: str
) -> None:
    objects = testing.objects(testing.synth(tmp_path, plugins=[], extra={"op": Chart(**kwargs)}, validate=False))
    app = objects[f"op/application-{application}.yaml"]
    assert app["spec"]["source"]["helm"]["releaseName"] == release


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({}, "needs release= (the Helm release) or name="), ({"name": "op"}, "'op' is taken by the service")],
)
def test_helm_application_refuses_no_name_and_a_service_s_name(
    tmp_path: Path, kwargs: dict[str, str], message: str
) -> None:
    with pytest.raises(PluginError, match=re.escape(message)):
        testing.synth(tmp_path, plugins=[], extra={"op": Chart(**kwargs)}, validate=False)


class _WithRbac(Example):
    """A plugin that adds a kind the vocabulary has no word for with cdk8s-plus, beside its components."""

    @hookimpl
    def ink_workloads(self, scope: Any, ctx: Any) -> None:
        import cdk8s
        import cdk8s_plus_27 as kplus

        from ink import kube

        kube.Workloads(scope, "workloads", ctx=ctx, components=self.build(ctx))
        kplus.ServiceAccount(
            scope,
            "provisioner",
            metadata=cdk8s.ApiObjectMetadata(name="provisioner", namespace=ctx.namespace),
            automount_token=False,
        )


def test_a_plugin_can_add_cdk8s_plus_constructs_beside_its_components(tmp_path: Path, crd_dir: Path) -> None:
    def build(ctx: Any) -> list[Component]:
        return [Component(name="app", containers=[Container(name="app", image="docker.io/traefik/whoami:v1.11.0")])]

    objects = synth(tmp_path, crd_dir, _WithRbac("rbac", build))
    account = objects["rbac/serviceaccount-provisioner.yaml"]
    assert account["metadata"]["namespace"] == "rbac"
    assert account["automountServiceAccountToken"] is False
    assert "rbac/deployment-rbac-app.yaml" in objects


def test_restricted_contexts_for_charts_are_restricted_and_fresh() -> None:
    pod = restricted_pod_context(1000, fs_group=2000)
    assert pod == {
        "runAsNonRoot": True,
        "runAsUser": 1000,
        "runAsGroup": 1000,
        "fsGroup": 2000,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    inherited = restricted_container_context()
    assert "runAsUser" not in inherited and "runAsNonRoot" not in inherited  # the pod's user applies
    own = restricted_container_context(65532, group=65533)
    assert own == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65533,
    }
    own["capabilities"]["drop"].append("x")  # a plugin extending its copy changes no other caller's
    assert restricted_container_context(65532)["capabilities"] == {"drop": ["ALL"]}
