"""Hook specifications: the contract between ink's core and its plugins.

The hooks are grouped in the order core calls them:

1. describe: ``ink_service_info``
2. declare:  ``ink_needs`` (any capability), ``ink_ingress_routes``, ``ink_auth_clients``,
   ``ink_database_claims``, ``ink_bucket_claims``, ``ink_certificate_claims``,
   ``ink_backup_targets``, ``ink_metrics_targets``, ``ink_secrets`` (one built-in capability each), ``ink_endpoints``,
   ``ink_links``, ``ink_cluster_requirements`` and ``ink_network``
3. provide:  each capability's provide hook, in the order its :class:`~ink.capabilities.CapabilitySpec`
   gives (built-ins: ``ink_provide_database``, ``ink_provide_bucket``, ``ink_provide_certificate``,
   ``ink_provide_auth``, ``ink_provide_backup``, ``ink_provide_ingress``, so an ingress provider
   sees the consumer's auth binding, then ``ink_provide_metrics``), then links, ``ink_binding_secrets``
   and ``ink_provide_secret``
4. build:    ``ink_workloads``, then ``ink_namespaces`` (namespaces a plugin owns besides its own) and
   ``ink_images`` (images its charts deploy), then (once the NetworkPolicies are planned) ``ink_network_objects``

A package that defines a capability adds its provide hook's spec through the
``ink.capabilities`` entry point (see :mod:`ink.capabilities`).

Core calls every implementation *one plugin at a time*, so it always knows which plugin
answered, and a provide hook only on the one plugin that provides that capability.
Implementations may accept fewer arguments than a spec lists (pluggy's opt-in rule).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext
    from ink.models import (
        AuthBinding,
        AuthClient,
        BackupBinding,
        BackupTarget,
        BucketClaim,
        CertificateBinding,
        CertificateClaim,
        ClusterRequirements,
        DatabaseBinding,
        DatabaseClaim,
        Endpoint,
        Link,
        MetricsBinding,
        MetricsTarget,
        NamedNeed,
        Need,
        NetworkRule,
        OwnedNamespace,
        ResolvedSecret,
        Route,
        RouteBinding,
        S3Binding,
        SecretBinding,
        SecretClaim,
        ServiceInfo,
    )
    from ink.netpol import NetworkPlan

PROJECT = "ink"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- describe ---------------------------------------------------------------------------


@hookspec
def ink_service_info() -> ServiceInfo:
    """Describe the service this plugin deploys.

    Every plugin must implement this hook.

    :return: The service's name (equal to the entry-point name), title, upstream version,
        homepage, settings model and the capabilities it provides.
    """


# --- declare ----------------------------------------------------------------------------


@hookspec
def ink_needs(ctx: ServiceContext) -> list[Need | NamedNeed] | None:
    """Declare needs of any capability: typed (the capability's need model) or by name.

    A :class:`~ink.models.NamedNeed` lets a service use a capability without depending on the
    package that defines it, e.g. ``NamedNeed(capability="smtp", id="vaultwarden", optional=True)``.

    :return: Needs, or None for none. Core sets ``owner`` and ``namespace``.
    :param ctx: The plugin's own context.
    """


@hookspec
def ink_endpoints(ctx: ServiceContext) -> list[Endpoint] | None:
    """Declare what the service serves to other services (name, port, protocol, path, kind, credentials).

    :return: Endpoints, or None for none.
    :param ctx: The plugin's own context.
    """


@hookspec
def ink_links(ctx: ServiceContext) -> list[Link] | None:
    """Declare the services this one talks to: by name, or any service serving an endpoint kind.

    Each link's binding (in-cluster URL, public URL, credential refs) is ``ctx.link(name)``; an
    optional link without a target has no binding.

    :return: Links, or None for none. Core sets ``owner``.
    :param ctx: The plugin's own context.
    """


@hookspec
def ink_ingress_routes(ctx: ServiceContext) -> list[Route] | None:
    """Declare the HTTP routes the service needs from the ingress provider.

    :return: Routes, or None for none. Core sets ``owner`` and ``namespace``.
    :param ctx: The plugin's own context: validated settings and global settings.
    """


@hookspec
def ink_auth_clients(ctx: ServiceContext) -> list[AuthClient] | None:
    """Declare single sign-on clients (native OIDC, or forward-auth) the service needs.

    :return: Clients, or None for none. Core sets ``owner`` and ``namespace``.
    :param ctx: The plugin's own context.
    """


@hookspec
def ink_database_claims(ctx: ServiceContext) -> list[DatabaseClaim] | None:
    """Declare the databases the service needs from the database provider.

    :return: Claims, or None for none. Core sets ``owner`` and ``namespace``.
    :param ctx: The plugin's own context.
    """


@hookspec
def ink_bucket_claims(ctx: ServiceContext) -> list[BucketClaim] | None:
    """Declare the S3 buckets the service needs from the S3 provider.

    :return: Claims, or None for none. Core sets ``owner`` and ``namespace``.
    :param ctx: The plugin's own context.
    """


@hookspec
def ink_certificate_claims(ctx: ServiceContext) -> list[CertificateClaim] | None:
    """Declare TLS certificates the service needs from the TLS provider.

    :return: Claims, or None for none. Core sets ``owner`` and ``namespace``.
    :param ctx: The plugin's own context.
    """


@hookspec
def ink_backup_targets(ctx: ServiceContext) -> list[BackupTarget] | None:
    """Declare the volumes whose contents the backup provider must cover.

    :return: Targets, or None for none. Core sets ``owner`` and ``namespace``.
    :param ctx: The plugin's own context.
    """


@hookspec
def ink_metrics_targets(ctx: ServiceContext) -> list[MetricsTarget] | None:
    """Declare the endpoints that serve Prometheus metrics, with the alerts and dashboards that go with them.

    :return: Targets, or None for none. Core sets ``owner`` and ``namespace``. Optional by default: without a
        metrics provider they are dropped silently.
    :param ctx: The plugin's own context; ``ctx.needs`` already holds every claim of the run (databases, buckets,
        certificates, auth clients, backups, routes), e.g. for a scheme that depends on them.
    """


@hookspec
def ink_secrets(ctx: ServiceContext) -> list[SecretClaim] | None:
    """Declare generated credentials (app secret keys, admin tokens) the service needs.

    :return: Secret claims, or None for none. Values are literals or
        :class:`~ink.models.GeneratedSecret` derived from the master key; they reach the
        output only through the secrets provider. Core sets ``owner`` and ``namespace``.
    :param ctx: The plugin's own context.
    """


@hookspec
def ink_cluster_requirements(ctx: ServiceContext) -> ClusterRequirements | None:
    """Declare what the cluster must provide outside Kubernetes: k3s components to disable, node packages.

    Core writes the k3s server configuration fragment of the whole homelab from the answers
    (``dist/_cluster/k3s/config.yaml.d/50-ink.yaml``); docs/cluster.md lists the node packages.

    :return: The requirements, or None for none.
    :param ctx: The plugin's own context (its settings decide, e.g. a default StorageClass).
    """


@hookspec
def ink_network(ctx: ServiceContext) -> list[NetworkRule] | None:
    """Declare the traffic NetworkPolicies must allow besides the graph's edges (see docs/network-policies.md).

    Core writes default-deny policies for every namespace and opens the edges of needs, links and
    routes itself; a plugin declares only what the graph cannot know: egress to the internet
    (:class:`~ink.models.Internet`) or the API server (:class:`~ink.models.KubeApi`) or other ports of the nodes
    (:class:`~ink.models.Nodes`) or of kube-system's CoreDNS (:class:`~ink.models.KubeDns`), ingress from
    outside the pod network (:class:`~ink.models.Inbound`), other addresses it dials
    (:class:`~ink.models.Connects`), the pods behind Services a chart creates
    (:class:`~ink.models.ChartService`, :class:`~ink.models.IngressGateway`), the metrics provider's
    scraping pods (:class:`~ink.models.Scraper`), and a service mesh
    (:class:`~ink.models.Mesh`: its tunnel port on the flows between meshed pods, its probe source).

    :return: Rules, or None for none.
    :param ctx: The plugin's own context.
    """


# --- provide ----------------------------------------------------------------------------


@hookspec(firstresult=True)
def ink_provide_database(
    claim: DatabaseClaim, scope: Construct, ctx: ServiceContext, consumer: ServiceContext
) -> DatabaseBinding | None:
    """Fulfil a database claim of another service.

    Called only on the plugin that provides ``database``. Build the database-side objects
    in ``ink_workloads`` from ``ctx.served``; ask for the consumer's connection secret
    through the binding's ``secrets``.

    Stops at first non-None result.

    :return: How the consumer connects: host, port, database, user and secret refs.
    :param claim: The claim, with ``owner`` and ``namespace`` of the consumer.
    :param scope: A construct inside the consumer's part of the output.
    :param ctx: The provider's own context.
    :param consumer: The consumer's context, with the bindings it has so far.
    """


@hookspec(firstresult=True)
def ink_provide_bucket(
    claim: BucketClaim, scope: Construct, ctx: ServiceContext, consumer: ServiceContext
) -> S3Binding | None:
    """Fulfil a bucket claim of another service.

    Called only on the plugin that provides ``s3``. Ask for the consumer's credentials Secret
    through the binding's ``secrets``; create the bucket and its user in ``ink_workloads``.

    Stops at first non-None result.

    :return: The endpoint, bucket, region and the refs of the access key pair.
    :param claim: The claim, with ``owner`` and ``namespace`` of the consumer.
    :param scope: A construct inside the consumer's part of the output.
    :param ctx: The provider's own context.
    :param consumer: The consumer's context, with the bindings it has so far.
    """


@hookspec(firstresult=True)
def ink_provide_certificate(
    claim: CertificateClaim, scope: Construct, ctx: ServiceContext, consumer: ServiceContext
) -> CertificateBinding | None:
    """Fulfil a certificate claim: add the certificate request under ``scope``.

    Called only on the plugin that provides ``tls``.

    Stops at first non-None result.

    :return: The name of the TLS Secret that will hold the certificate.
    :param claim: The claim, with ``owner`` and ``namespace`` of the consumer.
    :param scope: A construct inside the consumer's part of the output.
    :param ctx: The provider's own context.
    :param consumer: The consumer's context, with the bindings it has so far.
    """


@hookspec(firstresult=True)
def ink_provide_ingress(
    route: Route, scope: Construct, ctx: ServiceContext, consumer: ServiceContext
) -> RouteBinding | None:
    """Fulfil a route of another service.

    Called only on the plugin that provides ``ingress``. Objects added under ``scope``
    land in the consumer's output folder and namespace.

    Stops at first non-None result.

    :return: The route's public URL and TLS details.
    :param route: The route, with ``owner`` and ``namespace`` of the consumer.
    :param scope: A construct inside the consumer's part of the output.
    :param ctx: The provider's own context.
    :param consumer: The consumer's context: its auth binding for this host, if any, is already there.
    """


@hookspec(firstresult=True)
def ink_provide_auth(
    client: AuthClient, scope: Construct, ctx: ServiceContext, consumer: ServiceContext
) -> AuthBinding | None:
    """Fulfil a single sign-on client of another service.

    Called only on the plugin that provides ``auth``.

    Stops at first non-None result.

    :return: The issuer URL, client id and client-secret ref for the consumer.
    :param client: The client, with ``owner`` and ``namespace`` of the consumer.
    :param scope: A construct inside the consumer's part of the output.
    :param ctx: The provider's own context.
    :param consumer: The consumer's context, with the bindings it has so far.
    """


@hookspec(firstresult=True)
def ink_provide_backup(
    target: BackupTarget, scope: Construct, ctx: ServiceContext, consumer: ServiceContext
) -> BackupBinding | None:
    """Cover a volume of another service with a backup schedule.

    Called only on the plugin that provides ``backup``.

    Stops at first non-None result.

    :return: The schedule and retention that cover the target.
    :param target: The target, with ``owner`` and ``namespace`` of the consumer.
    :param scope: A construct inside the consumer's part of the output.
    :param ctx: The provider's own context.
    :param consumer: The consumer's context, with the bindings it has so far.
    """


@hookspec(firstresult=True)
def ink_provide_metrics(
    target: MetricsTarget, scope: Construct, ctx: ServiceContext, consumer: ServiceContext
) -> MetricsBinding | None:
    """Scrape a metrics endpoint of another service and load its alert rules.

    Called only on the plugin that provides ``metrics``. Write the monitor (unless ``target.chart_monitor``)
    and a PrometheusRule for ``target.alerts`` into ``scope``; declare the scraping pods as a
    :class:`~ink.models.Scraper` through ``ink_network`` so the NetworkPolicies let them in.

    Stops at first non-None result.

    :return: The monitor and rules written, and the job label of the scraped series.
    :param target: The target, with ``owner`` and ``namespace`` of the consumer.
    :param scope: A construct inside the consumer's part of the output.
    :param ctx: The provider's own context.
    :param consumer: The consumer's context, with the bindings it has so far.
    """


@hookspec(firstresult=True)
def ink_provide_secret(secret: ResolvedSecret, scope: Construct, ctx: ServiceContext) -> SecretBinding | None:
    """Write one generated Secret into the output without exposing its values.

    Called only on the plugin that provides ``secrets``, once per secret, with values already
    derived from the master key. Add exactly one object under ``scope`` (e.g. a SealedSecret)
    that makes the cluster hold a Secret named ``secret.name`` in ``secret.namespace``.
    A provider that generates the values in the cluster instead (e.g. into Vault) reads
    ``secret.sources`` (the declared values: literals, GeneratedSecret specs, templates, user
    secrets) and ``secret.generations`` (each credential's rotation generation) and ignores ``data``.

    Stops at first non-None result.

    :return: The Secret's name, namespace and keys; ``from_sources=True`` from a provider that ignored
        ``data`` (core then does not warn about unset user secrets' placeholders: the provider says where
        the values go).
    :param secret: Name, namespace, type, labels and plaintext values.
    :param scope: A construct inside the owner's part of the output.
    :param ctx: The provider's own context.
    """


@hookspec
def ink_binding_secrets(ctx: ServiceContext) -> list[SecretClaim] | None:
    """Declare secrets built from this service's bindings, e.g. a credentials file for a bucket.

    Called after every need is answered and before secrets are materialised, so ``ctx.bindings``
    is complete. Values may reuse the :class:`~ink.models.GeneratedSecret` a binding exposes.

    :return: Secret claims in the service's own namespace, or None. Core sets ``owner`` and ``namespace``.
    :param ctx: The plugin's own context, with bindings.
    """


# --- build ------------------------------------------------------------------------------


@hookspec
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    """Add the service's Kubernetes objects under ``scope``.

    ``ctx.bindings`` holds the answers to this service's needs; a provider also finds the
    needs it answered in ``ctx.served``. Give every object an explicit, stable name.

    :return: None; the objects are the constructs added under ``scope``.
    :param scope: The construct core created for this service's output folder.
    :param ctx: The plugin's own context, now with bindings.
    """


@hookspec
def ink_namespaces(ctx: ServiceContext) -> list[OwnedNamespace] | None:
    """Declare namespaces this service owns besides its own, e.g. the scratch namespace of a restore drill.

    Called after ``ink_workloads``, so ``ctx.served`` and ``ctx.bindings`` are complete. Core emits each
    Namespace in the service's folder (its Argo CD Application owns it) with the Pod Security level the
    declaration asks for, and *seals* it: a ``default-deny`` NetworkPolicy and no allow rule, so nothing
    reaches its pods and they reach nothing (not even DNS). Objects the plugin puts in it (RBAC, say)
    come from ``ink_workloads`` with an explicit ``metadata.namespace``. A name that is a service's
    namespace, or that two services declare, stops synth with an error naming both.

    :return: The namespaces, or None for none.
    :param ctx: The plugin's own context, with bindings and served needs.
    """


@hookspec
def ink_images(ctx: ServiceContext) -> list[str] | None:
    """Declare the images the service deploys that are not in its own objects: what its charts render, what its
    operators start from a custom resource. ``ink images`` lists them with the images of every object.

    Called after ``ink_namespaces``, on every run: a declaration that is not an image reference fails synth.

    Core reads ink's own objects itself (every ``image`` and ``imageName``); a chart's images exist only once
    Argo CD renders it, so the plugin that installs a chart lists them: facts from the chart's ``values.yaml`` at
    the pinned version, with the values the plugin passes (its tags, the components it turns on).
    tests/test_images.py renders every chart with helm and compares the two lists.

    :return: Image references (``registry/repository:tag`` or ``...@sha256:...``), or None for none.
    :param ctx: The plugin's own context (its settings decide tags and components).
    """


@hookspec
def ink_network_objects(plan: NetworkPlan, ctx: ServiceContext) -> list[dict[str, Any]] | None:
    """Add objects that follow from the planned flows, e.g. a service mesh's exceptions for traffic from
    outside the mesh (``plan.mesh_entries``). Called once every service's workloads are built and the
    NetworkPolicies planned (:mod:`ink.netpol`).

    Each object names its namespace (``metadata.namespace``), a namespace ink writes: it goes in the
    folder of the service that owns that namespace, so that service's Application applies it with the
    namespace's other objects. Core adds the standard labels, as for ``ink_workloads``' objects.

    :return: Kubernetes objects (plain dicts), or None for none.
    :param plan: The flows, the policies and the mesh (:class:`~ink.netpol.NetworkPlan`); read it, never change it.
    :param ctx: The plugin's own context.
    """
