"""Single sign-on clients as authentik sees them: names, secrets, and the blueprint that creates them.

Pure Python (no cdk8s), so the provide hook can use it. Facts (goauthentik/authentik):

- Blueprint file format and tags (``!KeyOf``, ``!Find``, ``!Env``): website/docs/customize/blueprints/v1/
  structure.mdx and tags.mdx. ``!Env NAME`` returns the value of an environment variable of the process
  that applies the blueprint (the worker).
- Model identifiers: ``authentik_providers_oauth2.oauth2provider``, ``authentik_providers_proxy.proxyprovider``,
  ``authentik_core.application``, ``authentik_outposts.outpost`` (blueprints/testing/oidc-conformance.yaml,
  blueprints/scribe/scribe-applications-providers.yaml; app labels in authentik/*/apps.py).
- The embedded outpost: ``managed = "goauthentik.io/outposts/embedded"``, name "authentik Embedded Outpost"
  (authentik/outposts/apps.py, MANAGED_OUTPOST / MANAGED_OUTPOST_NAME).
- Scope mappings by ``managed`` id: blueprints/system/providers-oauth2.yaml. Since 2025.10 the built-in
  ``email`` mapping returns ``email_verified: False`` (website/docs/releases/2025/v2025.10.md, "Default OAuth
  scope mappings"); for clients that refuse that, authentik's guide (website/docs/add-secure-apps/providers/
  oauth2/verify-email-address, integrations/security/vaultwarden) replaces it on their provider with a scope
  mapping returning ``{"email": request.user.email, "email_verified": True}``. Mapping names are unique
  (authentik/core/models.py, ``PropertyMapping.name``).
- Since 2026.5 an OAuth2 provider has ``grant_types``; a provider created by a blueprint starts with none and
  rejects every token request, so they are listed (PR goauthentik/authentik#20363). Redirect URIs are a list of
  ``{matching_mode, url, redirect_uri_type}`` (2026.5 added the type: authorization or post logout).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from ink.errors import ResolutionError
from ink.models import AuthClient, GeneratedSecret, Need

# Service and port of the chart's server Service: <fullname>-server, port 80 -> container port 9000.
SERVER_SERVICE = "authentik-server"
SERVER_PORT = 80
OUTPOST_PATH = "/outpost.goauthentik.io/"
# Headers the embedded outpost answers with (docs: add-secure-apps/providers/proxy/server_traefik).
FORWARD_AUTH_HEADERS = (
    "X-authentik-username",
    "X-authentik-groups",
    "X-authentik-entitlements",
    "X-authentik-email",
    "X-authentik-name",
    "X-authentik-uid",
    "X-authentik-jwt",
    "X-authentik-meta-jwks",
    "X-authentik-meta-outpost",
    "X-authentik-meta-provider",
    "X-authentik-meta-app",
    "X-authentik-meta-version",
)
EMBEDDED_OUTPOST = "goauthentik.io/outposts/embedded"
EMBEDDED_OUTPOST_NAME = "authentik Embedded Outpost"
AUTHORIZATION_FLOW = "default-provider-authorization-implicit-consent"
INVALIDATION_FLOW = "default-provider-invalidation-flow"
SIGNING_KEY = "authentik Self-signed Certificate"
# OAuth2 scope -> managed id of the scope mapping authentik ships (blueprints/system/providers-oauth2.yaml).
SCOPE_MAPPINGS = {
    "openid": "goauthentik.io/providers/oauth2/scope-openid",
    "email": "goauthentik.io/providers/oauth2/scope-email",
    "profile": "goauthentik.io/providers/oauth2/scope-profile",
    "entitlements": "goauthentik.io/providers/oauth2/scope-entitlements",
    "offline_access": "goauthentik.io/providers/oauth2/scope-offline_access",
    "goauthentik.io/api": "goauthentik.io/providers/oauth2/scope-authentik_api",
}
# The replacement of the "email" mapping for clients that declare verified_email: one mapping, bound only to them.
VERIFIED_EMAIL_MAPPING = "ink: OpenID 'email' (verified)"
VERIFIED_EMAIL_ID = "verified-email-mapping"
VERIFIED_EMAIL_EXPRESSION = 'return {\n    "email": request.user.email,\n    "email_verified": True,\n}\n'
GRANT_TYPES = ("authorization_code", "refresh_token")
# Paths under /application/o/ that are shared endpoints, so no application may use them as its slug.
RESERVED_SLUGS = frozenset({"authorize", "token", "device", "userinfo", "introspect", "revoke"})
BLUEPRINT_FILE = "ink-clients.yaml"


@dataclass(frozen=True)
class Client:
    """One AuthClient with the names authentik uses for it."""

    need: AuthClient
    slug: str

    @property
    def owner(self) -> str:
        return self.need.owner

    @property
    def consumer_secret(self) -> str:
        """The Secret in the consumer's namespace: client-id and client-secret."""
        return f"{self.slug}-oidc"

    @property
    def authentik_secret(self) -> str:
        """The Secret in authentik's namespace the worker reads the client secret from."""
        return f"authentik-oidc-{self.slug}"

    @property
    def env_name(self) -> str:
        """The worker's environment variable the blueprint reads with ``!Env``."""
        return f"INK_OIDC_{self.slug.upper().replace('-', '_')}_CLIENT_SECRET"

    @property
    def client_secret(self) -> GeneratedSecret:
        return GeneratedSecret(id=f"authentik/oidc/{self.slug}/client-secret", length=64)


def auth_clients(needs: Iterable[Need]) -> list[AuthClient]:
    return [need for need in needs if isinstance(need, AuthClient)]


def client_for(need: AuthClient, all_needs: Iterable[Need]) -> Client:
    """Slug = the consumer's name; ``<name>-<host>`` when the consumer has more than one client."""
    siblings = [c for c in auth_clients(all_needs) if c.owner == need.owner]
    slug = need.owner if len(siblings) <= 1 else f"{need.owner}-{need.host}"
    if slug in RESERVED_SLUGS:
        raise ResolutionError(
            f"{need.owner}'s single sign-on application would get the slug {slug!r}, which authentik reserves "
            f"for a shared endpoint (/application/o/{slug}/); disable {need.owner} or use another SSO provider"
        )
    return Client(need=need, slug=slug)


def clients(needs: Sequence[Need]) -> list[Client]:
    """Every AuthClient among ``needs``, named, in slug order."""
    return sorted((client_for(need, needs) for need in auth_clients(needs)), key=lambda c: c.slug)


# --- the blueprint --------------------------------------------------------------------------------


class KeyOf(str):
    """``!KeyOf <id>``: the primary key of another entry of the same blueprint."""


class Env(str):
    """``!Env <NAME>``: an environment variable of the worker."""


class Find(tuple):
    """``!Find [model, [field, value], ...]``: the primary key of an existing object."""

    def __new__(cls, model: str, *pairs: tuple[str, str]) -> Find:
        return super().__new__(cls, (model, *(list(p) for p in pairs)))


class Block(str):
    """A multi-line string written as a YAML literal block, so an expression reads as Python."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(KeyOf, lambda d, v: d.represent_scalar("!KeyOf", str(v)))
_Dumper.add_representer(Env, lambda d, v: d.represent_scalar("!Env", str(v)))
_Dumper.add_representer(Block, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", str(v), style="|"))
_Dumper.add_representer(Find, lambda d, v: d.represent_sequence("!Find", list(v), flow_style=True))


def _flow(slug: str) -> Find:
    return Find("authentik_flows.flow", ("slug", slug))


def _scope_mapping(scope: str, *, verified_email: bool) -> Find | KeyOf:
    if scope == "email" and verified_email:
        return KeyOf(VERIFIED_EMAIL_ID)  # instead of the built-in one, never beside it: both set the email claims
    return Find("authentik_providers_oauth2.scopemapping", ("managed", SCOPE_MAPPINGS[scope]))


def redirect_url(url_of_host: str, path: str) -> str:
    if "://" in path:  # an absolute URL, e.g. a native app's callback
        return path
    return url_of_host + (path if path.startswith("/") else f"/{path}")


def blueprint(items: Sequence[Client], *, url: Any, titles: dict[str, str], authentik_url: str, warn: Any) -> str:
    """The blueprint YAML: per client a provider and an application, and the embedded outpost's providers.

    ``url(host, path="")`` gives a public URL; ``titles`` maps owners to display names.
    """
    entries: list[dict[str, Any]] = []
    proxies: list[str] = []
    if any(client.need.kind == "oidc" and client.need.verified_email for client in items):
        # Before the providers: !KeyOf refers only to entries applied earlier.
        entries.append(
            {
                "model": "authentik_providers_oauth2.scopemapping",
                "id": VERIFIED_EMAIL_ID,
                "identifiers": {"name": VERIFIED_EMAIL_MAPPING},
                "attrs": {
                    "scope_name": "email",
                    "description": "Email address, asserted verified (for clients that refuse unverified ones)",
                    "expression": Block(VERIFIED_EMAIL_EXPRESSION),
                },
            }
        )
    for client in items:
        need = client.need
        provider_id = f"{client.slug}-provider"
        common = {
            "name": client.slug,
            "authorization_flow": _flow(AUTHORIZATION_FLOW),
            "invalidation_flow": _flow(INVALIDATION_FLOW),
            "grant_types": list(GRANT_TYPES),
        }
        if need.kind == "oidc":
            scopes = ["openid", *(s for s in need.scopes if s != "openid")]
            unknown = [s for s in scopes if s not in SCOPE_MAPPINGS]
            if unknown:
                warn(
                    f"{client.owner} asks for scopes {', '.join(unknown)}, which authentik has no built-in mapping "
                    "for; they are left out of its provider"
                )
            if not need.redirect_paths:
                warn(
                    f"{client.owner}'s OIDC client declares no redirect paths: authentik then trusts the first "
                    "redirect URI it sees"
                )
            attrs = {
                **common,
                "client_type": "confidential",
                "client_id": client.slug,
                "client_secret": Env(client.env_name),
                "issuer_mode": "per_provider",
                "redirect_uris": [
                    {
                        "matching_mode": "strict",
                        "url": redirect_url(url(need.host), path),
                        "redirect_uri_type": "authorization",
                    }
                    for path in need.redirect_paths
                ],
                "property_mappings": [
                    _scope_mapping(s, verified_email=need.verified_email) for s in scopes if s in SCOPE_MAPPINGS
                ],
                "signing_key": Find("authentik_crypto.certificatekeypair", ("name", SIGNING_KEY)),
            }
            model = "authentik_providers_oauth2.oauth2provider"
        else:
            # The proxy provider's serializer adds its scope mappings and callback URIs itself
            # (ProxyProvider.set_oauth_defaults, called on create and update, also from blueprints).
            attrs = {**common, "mode": "forward_single", "external_host": url(need.host)}
            model = "authentik_providers_proxy.proxyprovider"
            proxies.append(provider_id)
        entries.append({"model": model, "id": provider_id, "identifiers": {"name": client.slug}, "attrs": attrs})
        entries.append(
            {
                "model": "authentik_core.application",
                "id": f"{client.slug}-application",
                "identifiers": {"slug": client.slug},
                "attrs": {
                    "name": titles.get(client.owner, client.owner),
                    "provider": KeyOf(provider_id),
                    "meta_launch_url": url(need.host),
                },
            }
        )
    if proxies:
        # One entry with every proxy provider: attrs are written whole, so a second list would unbind the first.
        entries.append(
            {
                "model": "authentik_outposts.outpost",
                "id": "embedded-outpost",
                "identifiers": {"managed": EMBEDDED_OUTPOST},
                "attrs": {
                    "name": EMBEDDED_OUTPOST_NAME,
                    "type": "proxy",
                    "providers": [KeyOf(p) for p in proxies],
                    # Where the outpost sends browsers to log in; replaces the outpost's whole config dict.
                    "config": {"authentik_host": authentik_url},
                },
            }
        )
    document = {
        "version": 1,
        "metadata": {
            "name": "ink - single sign-on clients",
            "labels": {
                "blueprints.goauthentik.io/description": "Providers and applications of the services ink deploys",
            },
        },
        "entries": entries,
    }
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=4096)
