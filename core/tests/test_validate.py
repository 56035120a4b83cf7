"""Tests for ink.validate: built-in kinds, CRD schemas and the server-side rules."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from ink.validate import ManifestValidator, Problem, supported_kubernetes_versions

CRDS = Path(__file__).resolve().parents[3] / "shared" / "crds"


@pytest.fixture(scope="module")
def crds() -> Path:
    if not (CRDS / "cert-manager.io").is_dir():
        pytest.fail(f"shared CRD schemas not found at {CRDS}: clone shared/ beside the repo", pytrace=False)
    return CRDS


@pytest.fixture(scope="module")
def validator() -> ManifestValidator:
    return ManifestValidator("1.33")


@pytest.fixture(scope="module")
def crd_validator(crds: Path) -> ManifestValidator:
    return ManifestValidator("1.33", [crds])


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "apps", "labels": {"app.kubernetes.io/name": "web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx:1.27",
                            "ports": [{"containerPort": 8080, "name": "http"}],
                            "readinessProbe": {"httpGet": {"path": "/", "port": "http"}},
                            "resources": {"limits": {"memory": "128Mi"}},
                        }
                    ]
                },
            },
        },
    }


def service() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
    }


def certificate(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": "web-tls", "namespace": "apps"},
        "spec": {
            "secretName": "web-tls",
            "dnsNames": ["web.example.org"],
            "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer"},
            **spec,
        },
    }


def paths(problems: list[Problem]) -> list[str]:
    return [p.path for p in problems]


def test_valid_deployment_and_service_pass(validator: ManifestValidator) -> None:
    report = validator.validate_all([("web.yaml", deployment()), ("web.yaml", service())])
    assert report.problems == []
    assert report.ok and report.checked == 2 and report.skipped == {}


def test_all_errors_are_reported_not_just_the_first(validator: ManifestValidator) -> None:
    obj = deployment()
    obj["spec"]["replica"] = obj["spec"].pop("replicas")
    container = obj["spec"]["template"]["spec"]["containers"][0]
    container["resourcs"] = container.pop("resources")
    problems = validator.validate(obj, source="web.yaml")
    assert sorted(paths(problems)) == ["spec", "spec.template.spec.containers.0"]
    text = "\n".join(map(str, problems))
    assert "'replica' was unexpected" in text and "'resourcs' was unexpected" in text
    assert str(problems[0]).startswith("web.yaml: Deployment apps/web: spec")


def test_string_container_port_fails(validator: ManifestValidator) -> None:
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "8080"
    problems = validator.validate(obj)
    assert paths(problems) == ["spec.template.spec.containers.0.ports.0.containerPort"]
    assert "is not of type 'integer'" in problems[0].message


def test_digit_string_target_port_fails_with_integer_hint(validator: ManifestValidator) -> None:
    obj = service()
    obj["spec"]["ports"][0]["targetPort"] = "3000"
    problems = validator.validate(obj)
    assert paths(problems) == ["spec.ports.0.targetPort"]
    assert "use an integer" in problems[0].message
    obj["spec"]["ports"][0]["targetPort"] = "http"  # a real port name is fine
    assert validator.validate(obj) == []


def test_digit_string_probe_port_fails(validator: ManifestValidator) -> None:
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"] = "8080"
    problems = validator.validate(obj)
    assert paths(problems) == ["spec.template.spec.containers.0.readinessProbe.httpGet.port"]
    assert "use an integer" in problems[0].message


def test_invalid_names_fail(validator: ManifestValidator) -> None:
    obj = service()
    obj["metadata"]["name"] = "Web_Service"
    assert paths(validator.validate(obj)) == ["metadata.name"]
    obj = deployment()
    obj["metadata"]["name"] = "Web_Service"
    assert paths(validator.validate(obj)) == ["metadata.name"]
    obj = service()
    obj["metadata"]["name"] = "web.internal"  # a subdomain, but Service names must be labels
    assert paths(validator.validate(obj)) == ["metadata.name"]
    obj = deployment()
    obj["metadata"]["namespace"] = "Apps"
    assert paths(validator.validate(obj)) == ["metadata.namespace"]


def test_rbac_names_may_contain_colons(validator: ManifestValidator) -> None:
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "system:metrics-reader"},
        "rules": [],
    }
    assert validator.validate(role) == []


def test_invalid_labels_fail(validator: ManifestValidator) -> None:
    obj = deployment()
    obj["metadata"]["labels"] = {"tier": "-front", "bad key!": "x", "long": "a" * 64}
    obj["spec"]["template"]["metadata"]["labels"]["version"] = "1.0 beta"
    problems = validator.validate(obj)
    assert sorted(paths(problems)) == [
        "metadata.labels.bad key!",
        "metadata.labels.long",
        "metadata.labels.tier",
        "spec.template.metadata.labels.version",
    ]


def test_unknown_kind_is_a_problem_or_skipped() -> None:
    ingress = {"apiVersion": "extensions/v1beta1", "kind": "Ingress", "metadata": {"name": "old"}, "spec": {}}
    strict = ManifestValidator("1.33")
    problems = strict.validate(ingress)
    assert paths(problems) == ["<root>"] and "no schema for extensions/v1beta1 Ingress" in problems[0].message
    assert not strict.has_schema("extensions/v1beta1", "Ingress")
    assert strict.has_schema("networking.k8s.io/v1", "Ingress")
    assert not strict.has_schema("apps.example.com/v1", "Deployment")  # same file name, other group
    assert not strict.has_schema("apps/v1", "DeploymentSpec")  # a definition, not a kind
    report = ManifestValidator("1.33", allow_unknown_kinds=True).validate_all([("old.yaml", ingress)])
    assert report.ok and report.checked == 0
    assert report.skipped == {("extensions/v1beta1", "Ingress"): 1}


@pytest.mark.parametrize("version", ["1.3", "1.24", "2.0", "latest"])
def test_unsupported_version_raises(version: str) -> None:
    with pytest.raises(ValueError, match=r"supported: 1\.25, .*1\.37"):
        ManifestValidator(version)


def test_supported_versions_sorted_numerically() -> None:
    versions = supported_kubernetes_versions()
    assert versions[0] == "1.25" and "1.30" in versions and "1.3" not in versions
    assert versions == sorted(versions, key=lambda v: tuple(map(int, v.split("."))))
    assert ManifestValidator("v1.30.2").kubernetes_version == "1.30"


def test_missing_api_version_and_kind_are_problems(validator: ManifestValidator) -> None:
    problems = validator.validate({"metadata": {"name": "x"}})
    assert len(problems) == 2 and all(p.object == "<no kind> x" for p in problems)
    assert validator.validate({"apiVersion": 3, "kind": None})  # no crash on wrong types
    assert validator.validate(["not", "a", "mapping"])  # type: ignore[arg-type]
    nameless = deployment()
    del nameless["metadata"]["name"]
    assert paths(validator.validate(nameless)) == ["metadata.name"]


def test_problem_str() -> None:
    assert str(Problem("Service a/b", "spec", "bad", "out/a.yaml")) == "out/a.yaml: Service a/b: spec: bad"
    assert str(Problem("Namespace a", "<root>", "bad")) == "Namespace a: <root>: bad"


def test_valid_certificate_passes(crd_validator: ManifestValidator) -> None:
    assert crd_validator.validate(certificate()) == []


def test_certificate_top_level_typo_fails(crd_validator: ManifestValidator) -> None:
    obj = certificate()
    obj["sepc"] = obj.pop("spec")
    problems = crd_validator.validate(obj)
    assert paths(problems) == ["<root>"] and "'sepc' was unexpected" in problems[0].message


def test_certificate_metadata_typo_fails(crd_validator: ManifestValidator) -> None:
    obj = certificate()
    obj["metadata"]["lables"] = {"app": "web"}
    problems = crd_validator.validate(obj)
    assert paths(problems) == ["metadata"] and "'lables' was unexpected" in problems[0].message


def test_prometheus_rule_go_regex(crd_validator: ManifestValidator) -> None:
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {
            "groups": [
                {"name": "web", "partial_response_strategy": "warn", "rules": [{"alert": "Down", "expr": "up == 0"}]}
            ]
        },
    }
    assert crd_validator.validate(rule) == []
    rule["spec"]["groups"][0]["partial_response_strategy"] = "maybe"
    assert paths(crd_validator.validate(rule)) == ["spec.groups.0.partial_response_strategy"]


def test_cnpg_cluster(crd_validator: ManifestValidator) -> None:
    cluster = {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {"name": "pg", "namespace": "db"},
        "spec": {"instances": 3, "storage": {"size": "10Gi"}},
    }
    assert crd_validator.validate(cluster) == []
    cluster["spec"]["instances"] = 0
    problems = crd_validator.validate(cluster)
    assert paths(problems) == ["spec.instances"] and "minimum of 1" in problems[0].message


def test_sealed_secret_template_metadata(crd_validator: ManifestValidator) -> None:
    sealed = {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {"name": "db-creds", "namespace": "db"},
        "spec": {
            "encryptedData": {"password": "AgBy3i4OJSWK+PiTySYZZA=="},
            "template": {
                "type": "Opaque",
                "metadata": {"annotations": {"example.org/owner": "db"}, "labels": {"app": "db"}},
            },
        },
    }
    assert crd_validator.validate(sealed) == []


CRD_YAML = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              additionalProperties: false
              required: [size]
              properties:
                size: {type: integer}
                port: {x-kubernetes-int-or-string: true}
                owner: {type: string, nullable: true}
                extra: {type: object, additionalProperties: false, x-kubernetes-preserve-unknown-fields: true}
"""


def test_crd_yaml_file_is_a_schema_source(tmp_path: Path) -> None:
    (tmp_path / "widgets.yaml").write_text(CRD_YAML)
    checker = ManifestValidator("1.33", [tmp_path])
    assert checker.has_schema("example.com/v1", "Widget")
    assert not checker.has_schema("example.com/v1", "widget")  # kind is case-sensitive
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"size": 1, "port": "http", "owner": None, "extra": {"anything": 1}},
    }
    assert checker.validate(widget) == []
    bad = copy.deepcopy(widget)
    bad["spec"].update(size="big", port=1.5, colour="red")
    assert sorted(paths(checker.validate(bad))) == ["spec", "spec.port", "spec.size"]


def test_missing_crd_dir_raises(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not found"):
        ManifestValidator("1.33", [tmp_path / "nope"])


def test_validate_all_counts_many_objects(validator: ManifestValidator) -> None:
    report = validator.validate_all((f"web-{i}.yaml", deployment()) for i in range(200))
    assert report.ok and report.checked == 200
