"""The chart install (values for HashiCorp Vault's and OpenBao's charts) and the bootstrap CronJob.

Facts (hashicorp/vault-helm 0.34.1 and openbao/openbao-helm 0.29.2, values.yaml and templates):
``server.ha.raft.config`` is the server's whole HCL configuration; the start command copies it to
``/tmp/storageconfig.hcl`` (so /tmp must be writable); ``server.volumes``/``volumeMounts`` are added
as given; ``server.extraSecretEnvironmentVars`` is a list of ``{envName, secretName, secretKey}``;
``global.tlsDisable: false`` switches the probes, VAULT_ADDR and the port names to https;
``server.ha.apiAddr`` may use ``$(VAULT_K8S_POD_NAME)`` (``BAO_K8S_POD_NAME``), defined before it.
"""

from __future__ import annotations

import json
from typing import Any

from ink import kube
from ink.context import ServiceContext
from ink.models import SecretKeyRef
from ink.podsecurity import restricted_container_context, restricted_pod_context
from ink_plugin_vault import (
    ADMIN_POLICY,
    BOOTSTRAP,
    BOOTSTRAP_POLICY,
    BOOTSTRAP_TOKEN_SECRET,
    CLI_CALLBACK,
    CLUSTER_PORT,
    ESO_ROLE,
    ESO_SERVICE_ACCOUNT,
    KUBERNETES_MOUNT,
    KV_MOUNT,
    NAME,
    OIDC_MOUNT,
    PORT,
    SEAL_SECRET,
    SECRETS_POLICY,
    TLS_SECRET,
    UI_CALLBACK,
    AwsKmsSeal,
    AzureKeyVaultSeal,
    Distribution,
    GcpCkmsSeal,
    TransitSeal,
    distribution,
    server_pods,
)

TLS_DIR = "/ink/tls"
SEAL_DIR = "/ink/seal"
UID = 100  # the images' vault / openbao user (hashicorp/vault and openbao Dockerfiles; the charts' default uid)
GID = 1000  # the charts' default gid and fsGroup

# The contract with ink-plugin-external-secrets: what ESO may do under ink/ (no delete). A PushSecret writes
# custom_metadata to <mount>/metadata/<key> before the value (external-secrets providers/v1/vault/client_push.go).
SECRETS_POLICY_HCL = f"""\
path "{KV_MOUNT}/data/*" {{
  capabilities = ["create", "read", "update"]
}}

path "{KV_MOUNT}/metadata/*" {{
  capabilities = ["create", "read", "update", "list"]
}}
"""

ADMIN_POLICY_HCL = """\
# Members of the admin group (OIDC role "admin"): everything.
path "*" {
  capabilities = ["create", "read", "update", "patch", "delete", "list", "sudo"]
}
"""

# What the bootstrap does, and nothing else (Vault API docs: sys/audit and sys/auth need sudo).
# It may rewrite the ink-* policies, so its token is as strong as an admin's: keep it in the cluster only.
BOOTSTRAP_POLICY_HCL = f"""\
path "sys/audit" {{
  capabilities = ["read", "sudo"]
}}

path "sys/audit/stdout" {{
  capabilities = ["create", "update", "sudo"]
}}

path "sys/mounts" {{
  capabilities = ["read"]
}}

path "sys/mounts/{KV_MOUNT}" {{
  capabilities = ["create", "update"]
}}

path "sys/auth" {{
  capabilities = ["read"]
}}

path "sys/auth/{KUBERNETES_MOUNT}" {{
  capabilities = ["create", "update", "sudo"]
}}

path "sys/auth/{OIDC_MOUNT}" {{
  capabilities = ["create", "update", "sudo"]
}}

path "sys/policies/acl/ink-*" {{
  capabilities = ["create", "read", "update"]
}}

path "auth/{KUBERNETES_MOUNT}/config" {{
  capabilities = ["create", "update"]
}}

path "auth/{KUBERNETES_MOUNT}/role/*" {{
  capabilities = ["create", "update"]
}}

path "auth/{OIDC_MOUNT}/config" {{
  capabilities = ["create", "update"]
}}

path "auth/{OIDC_MOUNT}/role/*" {{
  capabilities = ["create", "update"]
}}

path "auth/token/renew-self" {{
  capabilities = ["update"]
}}
"""

# The bootstrap: every step converges (enable only what is missing, write the rest whole), so it can
# run every bootstrap_schedule. A template for kube.render_template: $$ is a literal $.
BOOTSTRAP_SCRIPT = """\
set -eu
cli=$cli
status=0
$$cli status > /dev/null || status=$$?
if [ "$$status" -eq 2 ]; then
  echo "$title is sealed: unseal it first (README, 'Initialise and unseal')" >&2
  exit 1
elif [ "$$status" -ne 0 ]; then
  echo "$title does not answer at $$${env}_ADDR (or is not initialised: README, 'Initialise and unseal')" >&2
  exit 1
fi
# A periodic token: each run renews it, so it lives as long as the bootstrap keeps running.
$$cli token renew > /dev/null
enabled() { $$cli "$$1" list -format=json | grep -q "\\"$$2/\\""; }
$audit
enabled secrets $kv || $$cli secrets enable -path=$kv -version=2 kv
for policy in $policies; do
  $$cli policy write "$$policy" "/bootstrap/$$policy.hcl"
done
enabled auth $kubernetes || $$cli auth enable -path=$kubernetes kubernetes
# In-cluster: the servers review tokens with their own ServiceAccount (the chart binds system:auth-delegator).
$$cli write auth/$kubernetes/config kubernetes_host=https://kubernetes.default.svc:443
$$cli write auth/$kubernetes/role/$role @/bootstrap/kubernetes-role.json
$oidc
echo "$title configured"
"""

AUDIT_STEP = "enabled audit stdout || $$cli audit enable -path=stdout file file_path=stdout"

OIDC_STEP = """\
enabled auth $oidc || $$cli auth enable -path=$oidc oidc
$$cli write auth/$oidc/config oidc_discovery_url="$$OIDC_ISSUER" oidc_client_id="$$OIDC_CLIENT_ID" \\
  oidc_client_secret="$$OIDC_CLIENT_SECRET" default_role=default
$$cli write auth/$oidc/role/default @/bootstrap/oidc-role-default.json
$$cli write auth/$oidc/role/admin @/bootstrap/oidc-role-admin.json"""

# Sends SIGHUP to the server when cert-manager renews its certificate: Vault and OpenBao reload the
# listener's certificate on SIGHUP only (docs, 'tcp listener' → tls_cert_file), and a restart would seal it.
RELOAD_SCRIPT = """\
last=$(md5sum < {tls}/tls.crt)
while sleep 300; do
  now=$(md5sum < {tls}/tls.crt)
  if [ "$now" != "$last" ]; then
    kill -HUP $(pidof {cli}) && echo "certificate renewed: reloaded"
    last=$now
  fi
done
"""


def hcl_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is an HCL string


def seal_stanza(seal: object, dist: Distribution) -> str:
    """The ``seal`` block: its parameters, never its credentials (those come from environment variables)."""
    if seal is None:
        return ""
    if isinstance(seal, TransitSeal):
        # The token: VAULT_TOKEN / BAO_TOKEN (docs, 'transit seal').
        params = {"address": seal.address, "key_name": seal.key_name, "mount_path": seal.mount_path}
    elif isinstance(seal, AwsKmsSeal):
        # AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (docs, 'awskms seal').
        params = {"region": seal.region, "kms_key_id": seal.kms_key_id}
        if seal.endpoint:
            params["endpoint"] = seal.endpoint
    elif isinstance(seal, GcpCkmsSeal):
        params = {
            "credentials": f"{SEAL_DIR}/credentials.json",
            "project": seal.project,
            "region": seal.region,
            "key_ring": seal.key_ring,
            "crypto_key": seal.crypto_key,
        }
    elif isinstance(seal, AzureKeyVaultSeal):
        # AZURE_CLIENT_SECRET (docs, 'azurekeyvault seal').
        params = {
            "tenant_id": seal.tenant_id,
            "client_id": seal.client_id,
            "vault_name": seal.vault_name,
            "key_name": seal.key_name,
        }
    else:  # pragma: no cover - the settings model admits only these
        raise TypeError(seal)
    body = "".join(f"  {key} = {hcl_string(value)}\n" for key, value in params.items())
    return f'\nseal "{seal.type}" {{\n{body}}}\n'  # type: ignore[attr-defined]


def seal_env(seal: object, dist: Distribution) -> list[dict[str, str]]:
    """The seal's credentials as the chart's extraSecretEnvironmentVars, from the vault-seal Secret."""

    def env(name: str, key: str) -> dict[str, str]:
        return {"envName": name, "secretName": SEAL_SECRET, "secretKey": key}

    if isinstance(seal, TransitSeal):
        return [env(f"{dist.env}_TOKEN", "token")]
    if isinstance(seal, AwsKmsSeal):
        return [env("AWS_ACCESS_KEY_ID", "access-key-id"), env("AWS_SECRET_ACCESS_KEY", "secret-access-key")]
    if isinstance(seal, AzureKeyVaultSeal):
        return [env("AZURE_CLIENT_SECRET", "client-secret")]
    return []


def server_config(ctx: ServiceContext) -> str:
    """The servers' HCL: TLS listener, Raft with retry_join to every server over TLS, the seal, the audit."""
    dist = distribution(ctx)
    replicas = ctx.setting("replicas")
    joins = "".join(
        f"""
  retry_join {{
    leader_api_addr = "https://{NAME}-{n}.{NAME}-internal:{PORT}"
    leader_ca_cert_file = "{TLS_DIR}/ca.crt"
  }}
"""
        for n in range(replicas)
    )
    # OpenBao refuses audit devices through the API unless unsafe_allow_api_audit_creation (docs,
    # 'Declarative audit devices'): it gets the same device from the configuration instead.
    audit = (
        """
audit "file" "stdout" {
  description = "Audit log to standard output: the pod's log"
  options {
    file_path = "stdout"
  }
}
"""
        if dist.name == "openbao"
        else ""
    )
    # With a metrics provider: Prometheus-format metrics at /v1/sys/metrics?format=prometheus, readable without a
    # token on this listener (docs, 'telemetry' stanza: prometheus_retention_time turns the format on;
    # 'tcp listener' → telemetry.unauthenticated_metrics_access; the charts' values.yaml examples).
    metrics = ctx.provider_of("metrics") is not None
    listener_telemetry = (
        """
  telemetry {
    unauthenticated_metrics_access = true
  }"""
        if metrics
        else ""
    )
    telemetry = (
        """
telemetry {
  prometheus_retention_time = "30s"
  disable_hostname = true
}
"""
        if metrics
        else ""
    )
    return f"""\
ui = true
# Integrated storage: mlock is not recommended with Raft (docs, 'disable_mlock'), and the pods lack IPC_LOCK.
disable_mlock = true

listener "tcp" {{
  address = "[::]:{PORT}"
  cluster_address = "[::]:{CLUSTER_PORT}"
  tls_cert_file = "{TLS_DIR}/tls.crt"
  tls_key_file = "{TLS_DIR}/tls.key"
  tls_min_version = "tls12"{listener_telemetry}
}}

storage "raft" {{
  path = "{dist.home}/data"
{joins}}}

service_registration "kubernetes" {{}}
{seal_stanza(ctx.setting("seal"), dist)}{audit}{telemetry}"""


def chart_values(ctx: ServiceContext) -> dict[str, Any]:
    dist = distribution(ctx)
    tag = ctx.setting("image_tag") or dist.version
    resources = ctx.setting("resources")
    seal = ctx.setting("seal")
    storage: dict[str, Any] = {"enabled": True, "size": ctx.setting("storage_size")}
    storage_class = ctx.setting("storage_class") or ctx.config.storage_class
    if storage_class:
        storage["storageClass"] = storage_class
    volumes: list[dict[str, Any]] = [
        {"name": "tls", "secret": {"secretName": TLS_SECRET, "defaultMode": 0o440}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}},
    ]
    mounts: list[dict[str, Any]] = [
        {"name": "tls", "mountPath": TLS_DIR, "readOnly": True},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    if isinstance(seal, GcpCkmsSeal):
        volumes.append({"name": "seal", "secret": {"secretName": SEAL_SECRET, "defaultMode": 0o440}})
        mounts.append({"name": "seal", "mountPath": SEAL_DIR, "readOnly": True})
    image = f"{dist.image}:{tag}"
    registry, _, repository = dist.image.partition("/")
    image_values = (
        {"registry": registry, "repository": repository, "tag": tag}
        if dist.name == "openbao"
        else {"repository": dist.image, "tag": tag}  # the vault chart has no registry key
    )
    reloader = {
        "name": "tls-reload",
        "image": image,
        "command": ["/bin/sh", "-c", RELOAD_SCRIPT.format(tls=TLS_DIR, cli=dist.cli)],
        "volumeMounts": [{"name": "tls", "mountPath": TLS_DIR, "readOnly": True}],
        "resources": {"requests": {"cpu": "5m", "memory": "16Mi"}, "limits": {"memory": "32Mi"}},
        "securityContext": restricted_container_context(UID, group=GID),
    }
    # Preferred, not required (the chart's default): a homelab may have fewer nodes than servers.
    anti_affinity = {
        "weight": 100,
        "podAffinityTerm": {
            "labelSelector": {"matchLabels": server_pods(ctx)},
            "topologyKey": "kubernetes.io/hostname",
        },
    }
    return {
        "global": {"tlsDisable": False},
        # ink delivers secrets as Kubernetes Secrets (External Secrets, Sealed Secrets): no pod gets an agent
        # sidecar, and the injector's mutating webhook would change pods behind ink's Pod Security and policies.
        "injector": {"enabled": False},
        "csi": {"enabled": False},
        # The UI's Service stays ClusterIP: internal only, reached with kubectl port-forward.
        "ui": {"enabled": True, "serviceType": "ClusterIP"},
        "server": {
            "image": image_values,
            "resources": resources.kubernetes(),
            # Readiness: the chart's `vault status` (`bao status`) exec probe, 0 only when unsealed. Liveness on
            # sys/health, answering 204 when sealed or uninitialised too, so a sealed server is not restarted
            # (API docs, 'sys/health').
            "readinessProbe": {"enabled": True},
            "livenessProbe": {
                "enabled": True,
                "path": "/v1/sys/health?standbyok=true&sealedcode=204&uninitcode=204",
                "initialDelaySeconds": 60,
            },
            "extraEnvironmentVars": {f"{dist.env}_CACERT": f"{TLS_DIR}/ca.crt"},
            "extraSecretEnvironmentVars": seal_env(seal, dist),
            "volumes": volumes,
            "volumeMounts": mounts,
            # The reloader signals the server: one process namespace, the same user.
            "shareProcessNamespace": True,
            "extraContainers": [reloader],
            "dataStorage": storage,
            "auditStorage": {"enabled": False},  # the audit device writes to stdout
            "statefulSet": {
                "securityContext": {
                    "pod": restricted_pod_context(UID, group=GID),
                    "container": restricted_container_context(UID, group=GID),
                }
            },
            "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [anti_affinity]}},
            "ha": {
                "enabled": True,
                "replicas": ctx.setting("replicas"),
                # Each server's own name (in the certificate), not its pod IP (not in it).
                "apiAddr": f"https://$({dist.env}_K8S_POD_NAME).{NAME}-internal:{PORT}",
                "raft": {"enabled": True, "setNodeId": True, "config": server_config(ctx)},
                "disruptionBudget": {"enabled": True, "maxUnavailable": 1},
            },
        },
        **({"fullnameOverride": NAME} if dist.name == "openbao" else {}),  # else "vault-openbao"
    }


def policies(ctx: ServiceContext) -> dict[str, str]:
    return {
        f"{SECRETS_POLICY}.hcl": SECRETS_POLICY_HCL,
        f"{ADMIN_POLICY}.hcl": ADMIN_POLICY_HCL,
        f"{BOOTSTRAP_POLICY}.hcl": BOOTSTRAP_POLICY_HCL,
    }


def oidc_role(ctx: ServiceContext, *, admin: bool) -> str:
    # JWT/OIDC auth API docs, 'Create role'. authentik's "profile" scope carries the groups claim.
    role: dict[str, Any] = {
        "role_type": "oidc",
        "user_claim": "sub",
        "groups_claim": "groups",
        "oidc_scopes": ["email", "profile"],  # openid is always requested
        "allowed_redirect_uris": [CLI_CALLBACK, UI_CALLBACK],
        "token_policies": [ADMIN_POLICY] if admin else ["default"],
        "token_ttl": "1h",
        "token_max_ttl": "8h",
    }
    if admin:
        role["bound_claims"] = {"groups": [ctx.setting("admin_group")]}
    return json.dumps(role, indent=2, sort_keys=True) + "\n"


def kubernetes_role() -> str:
    name, namespace = ESO_SERVICE_ACCOUNT
    role = {
        "bound_service_account_names": [name],
        "bound_service_account_namespaces": [namespace],
        "token_policies": [SECRETS_POLICY],
        "token_ttl": "1h",
    }
    return json.dumps(role, indent=2, sort_keys=True) + "\n"


def bootstrap(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    dist = distribution(ctx)
    auth = ctx.bindings.get(f"auth/{ctx.setting('hostname')}") if ctx.setting("sso") else None
    files = {
        **policies(ctx),
        "kubernetes-role.json": kubernetes_role(),
    }
    env: dict[str, Any] = {
        f"{dist.env}_ADDR": f"https://{NAME}-active.{ctx.namespace}.svc:{PORT}",
        f"{dist.env}_CACERT": f"{TLS_DIR}/ca.crt",
        f"{dist.env}_TOKEN": SecretKeyRef(name=BOOTSTRAP_TOKEN_SECRET, key="token"),
    }
    if auth is not None:
        files["oidc-role-default.json"] = oidc_role(ctx, admin=False)
        files["oidc-role-admin.json"] = oidc_role(ctx, admin=True)
        env.update(OIDC_ISSUER=auth.issuer_url, OIDC_CLIENT_ID=auth.client_id, OIDC_CLIENT_SECRET=auth.client_secret)
    values = {
        "cli": dist.cli,
        "title": dist.title,
        "env": dist.env,
        "kv": KV_MOUNT,
        "kubernetes": KUBERNETES_MOUNT,
        "role": ESO_ROLE,
        "policies": " ".join(sorted(name.removesuffix(".hcl") for name in policies(ctx))),
        "audit": kube.render_template(AUDIT_STEP, {}) if dist.name == "vault" else "# audit: declared in the config",
        "oidc": kube.render_template(OIDC_STEP, {"oidc": OIDC_MOUNT}) if auth is not None else "# no SSO",
    }
    files["bootstrap.sh"] = kube.render_template(BOOTSTRAP_SCRIPT, values)
    config = kube.ConfigFiles(name=BOOTSTRAP, mount_path="/bootstrap", files=files)
    ca = kube.SecretFiles(name=TLS_SECRET, mount_path=TLS_DIR, keys=("ca.crt",), volume="tls")
    kube.Workloads(
        scope,
        "bootstrap",
        ctx=ctx,
        components=[
            kube.Component(
                name="bootstrap",
                object_name=BOOTSTRAP,
                kind="CronJob",
                schedule=ctx.setting("bootstrap_schedule"),
                user=UID,
                job=kube.SetupJob(backoff_limit=2),
                containers=[
                    kube.Container(
                        name="bootstrap",
                        image=f"{dist.image}:{ctx.setting('image_tag') or dist.version}",
                        command=["/bin/sh", "/bootstrap/bootstrap.sh"],
                        env=env,
                        mounts=(config, ca),
                        resources=kube.Resources(cpu_request="10m", memory_request="32Mi", memory_limit="128Mi"),
                    )
                ],
            )
        ],
    )


def vault(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    dist = distribution(ctx)
    kube.helm_application(
        scope,
        ctx=ctx,
        release=NAME,
        repo_url=dist.chart_repo,
        chart=dist.chart,
        version=ctx.setting("chart_version") or dist.chart_version,
        values=chart_values(ctx),
        # The auth delegator binding: the servers review tokens for the Kubernetes auth method.
        cluster_kinds=("ClusterRoleBinding",),  # checked against the rendered chart (tests/test_charts.py)
    )
    bootstrap(scope, ctx=ctx)
