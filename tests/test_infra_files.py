"""Static checks of infra/ that run in `make test` without checkov (make infra-check runs it).

No database: these read files only."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "infra"
DOCKERFILE = INFRA / "docker" / "Dockerfile"
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}
LONG_RUNNING = {"Deployment", "StatefulSet", "DaemonSet"}


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    logical, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    return [(ln.split(None, 1)[0].upper(), (ln.split(None, 1) + [""])[1]) for ln in logical]


def _final_stage(text: str) -> list[tuple[str, str]]:
    steps = _instructions(text)
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last_from:]


def test_dockerfile_runs_as_non_root_with_a_healthcheck():
    final = _final_stage(DOCKERFILE.read_text())
    users = [args.split(":")[0].strip() for op, args in final if op == "USER"]
    assert users, "the final stage sets no USER"
    assert users[-1] not in {"root", "0"}
    healthchecks = [args for op, args in final if op == "HEALTHCHECK"]
    assert healthchecks and "/healthz" in healthchecks[-1]


def test_dockerfile_pins_base_and_keeps_build_tools_out_of_the_final_stage():
    steps = _instructions(DOCKERFILE.read_text())
    for op, args in steps:
        if op == "FROM":
            image = args.split()[0]
            assert image.startswith("python:3.11.") and "-slim-bookworm" in image, image
    final = " ".join(args for op, args in _final_stage(DOCKERFILE.read_text()) if op == "RUN")
    for tool in ("build-essential", "gcc", "curl", "gnupg"):
        assert f" {tool}" not in final, f"{tool} installed in the final stage"
    assert any(op == "ENV" and "PG_DUMP=" in args for op, args in steps)


def _manifests() -> list[dict]:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed in this environment")
    documents = []
    for path in sorted((INFRA / "k8s").glob("*.yaml")):
        documents += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return documents


def _pod_spec(doc: dict) -> dict:
    spec = doc["spec"]
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def test_every_workload_has_resources_probes_and_a_locked_down_context():
    workloads = [d for d in _manifests() if d.get("kind") in WORKLOADS]
    assert {d["metadata"]["name"] for d in workloads} >= {"web", "worker", "beat", "migrate"}
    for doc in workloads:
        pod = _pod_spec(doc)
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"]:
            where = f"{doc['kind']}/{doc['metadata']['name']}/{container['name']}"
            resources = container.get("resources", {})
            assert {"cpu", "memory"} <= set(resources.get("requests", {})), where
            assert {"cpu", "memory"} <= set(resources.get("limits", {})), where
            if doc["kind"] in LONG_RUNNING:
                assert "livenessProbe" in container and "readinessProbe" in container, where
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert {"secretRef": {"name": "custody-env"}} in container["envFrom"], where


def test_a_single_beat_and_a_default_deny_network_policy():
    documents = _manifests()
    beat = next(
        d for d in documents if d["kind"] == "Deployment" and d["metadata"]["name"] == "beat"
    )
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"
    deny = [d for d in documents if d["kind"] == "NetworkPolicy" and d["spec"]["podSelector"] == {}]
    assert any(set(d["spec"]["policyTypes"]) == {"Ingress", "Egress"} and not d["spec"].get("ingress")
               and not d["spec"].get("egress") for d in deny)  # fmt: skip


def test_terraform_parses_and_holds_the_required_guards():
    if importlib.util.find_spec("hcl2") is None:
        pytest.skip("python-hcl2 is not installed here; `make infra-check` parses the Terraform")
    import hcl2

    resources: dict[str, dict] = {}
    for path in sorted((INFRA / "terraform").glob("*.tf")):
        with path.open() as handle:
            for block in hcl2.load(handle).get("resource", []):
                for kind, named in block.items():
                    for name, body in named.items():
                        resources[f"{kind}.{name}"] = body
    db = resources["aws_db_instance.main"]
    assert db["storage_encrypted"] is True and db["multi_az"] is True
    assert db["deletion_protection"] is True and db["backup_retention_period"]
    redis = resources["aws_elasticache_replication_group.main"]
    assert redis["transit_encryption_enabled"] is True and redis["at_rest_encryption_enabled"]
    lock = resources["aws_s3_bucket_object_lock_configuration.audit_exports"]
    assert "COMPLIANCE" in str(lock)


def _env_example() -> dict[str, str]:
    lines = (INFRA / "docker" / "custody.env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def test_web_and_worker_mount_the_one_audit_signing_key_where_the_settings_look():
    """Exports are signed by the worker and their key's fingerprint is shown by the web: both
    read the same mounted key, at the path custody-env names."""
    import yaml

    path = _env_example()["AUDIT_EXPORT_SIGNING_KEY_PATH"]
    for doc in _manifests():
        if doc.get("kind") != "Deployment" or doc["metadata"]["name"] not in ("web", "worker"):
            continue
        pod = _pod_spec(doc)
        volumes = {v["name"]: v for v in pod["volumes"]}
        mounts = [m for c in pod["containers"] for m in c.get("volumeMounts", [])]
        [mount] = [m for m in mounts if m["mountPath"] == path]
        assert mount["readOnly"] is True
        assert volumes[mount["name"]]["secret"]["secretName"] == "custody-audit-signing"
    compose = yaml.safe_load((INFRA / "docker" / "compose.yaml").read_text())
    for service in ("web", "worker", "migrate", "beat"):
        [secret] = compose["services"][service]["secrets"]
        assert secret["target"] == path
