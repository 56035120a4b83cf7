"""TLS inside the cluster: the in-cluster CA's certificates, and how each edge of the graph travels.

Issue 11 §8: every hop that carries credentials or user data uses TLS where the software supports
it, with certificates from the TLS provider's in-cluster CA (the ClusterIssuer
:data:`~ink.models.INTERNAL_CA_ISSUER`, a cert-manager CA issuer: ink-plugin-cert-manager). A
provider serves a certificate from it and hands the consumer a :class:`~ink.models.TlsBinding`
whose ``ca`` is that CA in the consumer's namespace.

The CA cannot be copied into the consumer's namespace at synth (the issuer's key pair is made at
run time), so :func:`internal_ca` asks the same issuer for a certificate there: cert-manager's CA
issuer puts the CA itself in every Secret it issues as ``ca.crt`` (cert-manager docs, 'CA' issuer).

How an edge travels (``ink graph``, :func:`transport`): ``tls`` / ``tls-unverified`` / ``plain``
from the binding; ``mtls`` when a service mesh carries every flow behind the edge
(the :class:`~ink.models.Mesh` network rule, ``ink.netpol.NetworkPlan.transport``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ink.models import INTERNAL_CA_ISSUER, Capability, SecretKeyRef, TlsBinding

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext
    from ink.models import Binding, Need

CA_KEY = "ca.crt"
"""The key of the CA in every Secret the in-cluster CA issues."""
TLS_SCHEMES = frozenset({"https", "rediss", "grpcs", "wss", "ldaps", "postgresqls"})
"""URL schemes that mean TLS, for bindings without a ``tls`` field (a link to an https endpoint)."""


def available(ctx: ServiceContext) -> bool:
    """Whether a TLS provider is enabled, so the in-cluster CA exists (known from the declare phase on).

    Without one, providers stay plain (and say so: their bindings' ``tls`` is False).
    """
    return ctx.provider_of(Capability.TLS) is not None


def all_claims_verify(ctx: ServiceContext, need_type: type[Need]) -> tuple[bool, list[str]]:
    """For a server that serves every claim of ``need_type`` on one port (one S3 server for all buckets).

    :return: Whether every such claim of the run can verify TLS (its ``tls``), and the keys of those that cannot
        (``owner's need``), for the warning that says why the server stays plain.
    """
    claims = [n for n in ctx.needs if isinstance(n, need_type)]
    unable = sorted(f"{n.owner}'s {n.key}" for n in claims if not getattr(n, "tls", False))
    return not unable, unable


def service_names(service: str, namespace: str) -> tuple[str, ...]:
    """Every name a pod may dial a Service by: ``svc``, ``svc.ns``, ``svc.ns.svc``, ``svc.ns.svc.cluster.local``."""
    return (service, f"{service}.{namespace}", f"{service}.{namespace}.svc", f"{service}.{namespace}.svc.cluster.local")


def internal_certificate(
    scope: Construct,
    id: str,
    *,
    ctx: ServiceContext,
    name: str,
    namespace: str,
    dns_names: tuple[str, ...],
    component: str = "tls",
) -> SecretKeyRef:
    """A server certificate from the in-cluster CA in ``namespace``: Secret ``name`` with tls.crt, tls.key, ca.crt.

    For a server ink renders in a namespace other than its plugin's (one Valkey per consumer), or one
    that learns only at build time whether it serves TLS (an S3 server: :func:`all_claims_verify`);
    otherwise a ``CertificateClaim(issuer="internal")`` in the declare phase does the same.

    :return: The CA's key in that Secret (what a client in the same namespace verifies with).
    """
    usages = ["server auth", "digital signature", "key encipherment"]
    spec = {"dnsNames": list(dns_names), "usages": usages}
    _certificate(scope, id, ctx=ctx, name=name, namespace=namespace, component=component, spec=spec)
    return SecretKeyRef(name=name, key=CA_KEY)


def internal_ca(
    scope: Construct,
    id: str,
    *,
    ctx: ServiceContext,
    name: str,
    namespace: str,
    component: str = "tls",
    common_name: str = "",
) -> SecretKeyRef:
    """The in-cluster CA in ``namespace``, as ``ca.crt`` of Secret ``name``: the ``ca`` of a TLS binding.

    Write it under the provide hook's ``scope`` so it lands in the consumer's folder and is applied
    with the consumer's namespace. The Secret's tls.crt/tls.key (CN = ``name``, client auth) are a
    by-product nobody uses: only ``ca.crt`` is mounted (:meth:`~ink.models.TlsBinding.ca_mounts`).
    ``common_name`` (default ``name``) names it, e.g. the database role it stands for.
    """
    spec = {"commonName": common_name or name, "usages": ["client auth"]}
    _certificate(scope, id, ctx=ctx, name=name, namespace=namespace, component=component, spec=spec)
    return SecretKeyRef(name=name, key=CA_KEY)


def _certificate(
    scope: Construct, id: str, *, ctx: ServiceContext, name: str, namespace: str, component: str, spec: dict
) -> None:
    from ink import kube  # ink.kube imports the workload vocabulary, which imports ink.models

    kube.api_object(
        scope,
        id,
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": {"name": name, "namespace": namespace, "labels": ctx.labels(component)},
            "spec": {
                "secretName": name,
                **spec,
                "privateKey": {"algorithm": "ECDSA", "size": 256},
                "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": INTERNAL_CA_ISSUER},
            },
        },
    )


def transport(binding: Binding | None) -> str | None:
    """How the traffic of a binding travels: 'tls', 'tls-unverified' or 'plain'; None for no traffic.

    A :class:`~ink.models.TlsBinding` says (its ``tls``/``tls_verified``); any other binding is
    judged by the addresses it holds (the ones NetworkPolicies open): TLS when it holds URLs and every
    one has a TLS scheme (``https://``), plain otherwise (a bare host and port says nothing of TLS);
    no address at all (a certificate, a Secret, a backup schedule) carries no traffic between pods.
    A mesh's ``mtls`` is laid over this by :func:`ink.run.edge_transports`.
    """
    if binding is None:
        return None
    from ink.netpol import addresses  # ink.netpol imports the models; this module is imported by plugins

    if isinstance(binding, TlsBinding):
        return binding.transport
    found = addresses(binding)
    if not found:
        return None
    # A URL says how it is dialled; a bare host and port (beside it, or alone) does not.
    urls = [str(getattr(binding, field)) for field, _, _ in found if "://" in str(getattr(binding, field))]
    schemes = [urlsplit(url).scheme for url in urls]
    return "tls" if schemes and all(scheme in TLS_SCHEMES for scheme in schemes) else "plain"
