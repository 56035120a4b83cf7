"""ink plugin: the NFS CSI driver (kubernetes-csi/csi-driver-nfs).

Installs the driver from its official chart and adds a StorageClass whose volumes are
sub-directories of one NFS share, e.g. on a Synology NAS. It needs and provides no capability.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from ink import hookimpl
from ink.cluster import nfs_client
from ink.models import ClusterRequirements, DnsLabel, K3sDisable, ServiceInfo
from ink.podsecurity import AddCapabilities, HostNetwork, HostPath, Privileged
from ink.settings import PluginSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

VERSION = "v4.13.4"
# renovate: datasource=helm depName=csi-driver-nfs registryUrl=https://raw.githubusercontent.com/kubernetes-csi/csi-driver-nfs/master/charts
CHART_VERSION = "4.13.4"
DRIVER = "nfs.csi.k8s.io"


class NfsCsiSettings(PluginSettings):
    server: str = Field(
        default="192.168.1.10",
        pattern=r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[[0-9A-Fa-f:]+\]$",
        description="NFS server: the NAS's IP address or DNS name. The default is an example; set yours.",
    )
    share: str = Field(
        default="/volume1/kubernetes",
        pattern=r"^/[^\s]*$",
        description="Exported path on the server (Synology: /volume<N>/<shared folder>). Each volume is a "
        "sub-directory of it.",
    )
    storage_class: DnsLabel = Field(default="nfs-synology", description="Name of the StorageClass.")
    default_class: bool = Field(default=False, description="Make this StorageClass the cluster default.")
    reclaim_policy: Literal["Retain", "Delete"] = Field(
        default="Retain", description="What happens to a volume's directory when its claim is deleted."
    )
    mount_options: list[str] = Field(
        default_factory=lambda: ["nfsvers=4.1"], description="NFS mount options of every volume."
    )
    chart_version: str = Field(default=CHART_VERSION, description="Version of the csi-driver-nfs Helm chart.")


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name="nfs-csi",
        title="NFS CSI driver",
        version=VERSION,
        homepage="https://github.com/kubernetes-csi/csi-driver-nfs",
        description="Volumes on an NFS share (a NAS), as a StorageClass.",
        settings_model=NfsCsiSettings,
        # The node plugin mounts NFS on every node (chart templates csi-nfs-node.yaml, csi-nfs-controller.yaml).
        exemptions=(
            Privileged(
                reason="the nfs container mounts NFS shares for the kubelet, which needs a privileged container"
            ),
            AddCapabilities(capabilities=("SYS_ADMIN",), reason="mount(2) needs SYS_ADMIN"),
            HostNetwork(reason="the CSI plugin reaches the NAS from the node's network, as the kubelet's mounts do"),
            HostPath(
                paths=("/var/lib/kubelet/pods", "/var/lib/kubelet/plugins", "/var/lib/kubelet/plugins_registry"),
                reason="CSI: the plugin socket, kubelet registration and the pods' mount points live on the node",
            ),
        ),
    )


# values.yaml image.* of chart 4.13.4: the driver and the CSI sidecars of its controller and node pods.
CHART_IMAGES = tuple(
    f"registry.k8s.io/sig-storage/{image}"
    for image in (
        "nfsplugin:v4.13.4",
        "csi-provisioner:v6.3.0",
        "csi-resizer:v2.2.0",
        "csi-snapshotter:v8.6.0",
        "livenessprobe:v2.19.0",
        "csi-node-driver-registrar:v2.17.0",
    )
)


@hookimpl
def ink_images() -> list[str]:
    return list(CHART_IMAGES)


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_nfs_csi.construct import nfs_csi

    nfs_csi(scope, ctx=ctx)


@hookimpl
def ink_cluster_requirements(ctx: ServiceContext) -> ClusterRequirements:
    # The driver's image (nfsplugin) brings its own mount.nfs, so this is a precaution rather than a hard
    # requirement: the host's NFS client tools give the kernel client its helpers (rpc.statd for NFSv3 locks).
    packages = (nfs_client("recommended where the NFS CSI driver mounts shares (rpc.statd for NFSv3 locks)"),)
    disable = ()
    if ctx.settings.default_class:
        reason = "the nfs-csi StorageClass is the cluster default (default_class); local-path would be a second"
        disable = (K3sDisable(component="local-storage", reason=reason),)
    return ClusterRequirements(k3s_disable=disable, node_packages=packages)
