"""Static checks of the deployment: Terraform formatting and content, and the source-bundle builder.

Nothing here reaches Google Cloud or the Terraform registry: `terraform validate`/`plan` need the providers,
which cannot be downloaded here, so these tests parse the HCL and check what the design requires of it.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import hcl2
import pytest

REPO = Path(__file__).resolve().parents[2]
TF_DIR = REPO / "deploy" / "terraform"
BUILD_SCRIPT = REPO / "scripts" / "build_bundle.py"

ENTRY_POINTS = ("webhooks", "orders", "bridge", "timers")
PUBLIC_FUNCTIONS = ("webhooks", "orders", "bridge")
SECRET_NAMES = frozenset({"TV_WEBHOOK_SECRET", "BRIDGE_HEARTBEAT_SECRET", "DASHBOARD_PASSWORD", "SESSION_SECRET"})
# Which secret each function checks (spec/api-reference.txt: webhooks the TradingView secret, bridge the bridge
# secret, orders the operator session); timers authenticates Cloud Tasks by OIDC and holds none.
FUNCTION_SECRETS = {
    "webhooks": {"TV_WEBHOOK_SECRET"},
    "orders": {"DASHBOARD_PASSWORD", "SESSION_SECRET"},
    "bridge": {"BRIDGE_HEARTBEAT_SECRET"},
    "timers": set(),
}
REQUIRED_ENV = {"GOOGLE_CLOUD_PROJECT", "CLOUD_TASKS_LOCATION", "CLOUD_TASKS_QUEUE", "TIMERS_URL",
                "TASKS_SERVICE_ACCOUNT"}
LOCAL_ONLY_ENV = ("ALLOW_OPEN_DASHBOARD", "LOCAL_DEV", "DEV_CLOCK_FILE", "FIRESTORE_EMULATOR_HOST",
                  "CLOUD_TASKS_EMULATOR_HOST", "TASKS_LOCAL_TOKEN")
PUBLIC_MEMBERS = {"allUsers", "allAuthenticatedUsers"}
_META_KEYS = {"__is_block__", "__comments__", "__inline_comments__"}


# --- reading the Terraform ----------------------------------------------------------------------------------

def _unquote(value: Any) -> Any:
    """python-hcl2 keeps string literals quoted ('"x"') and expressions as '${...}': literals lose the quotes."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1]
    return value


def _normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {_unquote(k): _normalise(v) for k, v in value.items() if k not in _META_KEYS}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return _unquote(value)


@dataclass
class Terraform:
    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    data: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    terraform_blocks: list[dict[str, Any]] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)

    def of_type(self, type_: str) -> dict[str, dict[str, Any]]:
        return {name: body for (t, name), body in self.resources.items() if t == type_}

    def function(self, name: str) -> dict[str, Any]:
        return self.resources[("google_cloudfunctions2_function", name)]


def _load_terraform() -> Terraform:
    tf = Terraform()
    files = sorted(TF_DIR.glob("*.tf"))
    assert files, f"no .tf file in {TF_DIR}"
    for path in files:
        text = path.read_text(encoding="utf-8")
        tf.texts[path.name] = text
        parsed = _normalise(hcl2.loads(text))
        for kind, target in (("resource", tf.resources), ("data", tf.data)):
            for block in parsed.get(kind, []):
                for type_, instances in block.items():
                    for name, body in instances.items():
                        assert (type_, name) not in target, f"{kind} {type_}.{name} declared twice"
                        target[(type_, name)] = body
        for block in parsed.get("locals", []):
            for key, value in block.items():
                assert key not in tf.locals, f"local.{key} declared twice"
                tf.locals[key] = value
        for block in parsed.get("variable", []):
            tf.variables.update(block)
        for block in parsed.get("output", []):
            tf.outputs.update(block)
        tf.terraform_blocks.extend(parsed.get("terraform", []))
    return tf


@pytest.fixture(scope="module")
def tf() -> Terraform:
    return _load_terraform()


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (attribute path, scalar value) in a parsed body."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _walk(child, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for child in value:
            yield from _walk(child, path)
    else:
        yield path, value


def _block(body: dict[str, Any], name: str) -> dict[str, Any]:
    blocks = body.get(name)
    assert isinstance(blocks, list) and len(blocks) == 1, f"expected exactly one {name} block, got {blocks!r}"
    block: dict[str, Any] = blocks[0]
    return block


def _is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("${")


# --- formatting ---------------------------------------------------------------------------------------------

def _terraform_binary() -> str | None:
    for candidate in (Path("/usr/local/bin/terraform"), REPO / ".venv" / "bin" / "terraform"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("terraform")


def test_terraform_files_are_formatted() -> None:
    binary = _terraform_binary()
    if binary is None:
        pytest.skip("no terraform binary (looked for /usr/local/bin/terraform and .venv/bin/terraform)")
    result = subprocess.run(
        [binary, "fmt", "-check", "-recursive", "-diff", str(TF_DIR)],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "CHECKPOINT_DISABLE": "1"},
    )
    assert result.returncode == 0, f"run `terraform fmt -recursive deploy/terraform`:\n{result.stdout}{result.stderr}"


# --- providers ----------------------------------------------------------------------------------------------

def test_google_providers_are_pinned_to_one_exact_version(tf: Terraform) -> None:
    providers: dict[str, Any] = {}
    for block in tf.terraform_blocks:
        for required in block.get("required_providers", []):
            providers.update(required)
    versions = {}
    for name in ("google", "google-beta"):
        assert name in providers, f"required_providers lacks {name}"
        assert providers[name]["source"] == f"hashicorp/{name}"
        versions[name] = providers[name]["version"]
        assert re.fullmatch(r"=?\s*\d+\.\d+\.\d+", versions[name]), f"{name} is not pinned: {versions[name]!r}"
    assert versions["google"].lstrip("= ") == versions["google-beta"].lstrip("= "), versions
    for name, spec in providers.items():
        assert re.fullmatch(r"=?\s*\d+\.\d+\.\d+", spec["version"]), f"provider {name} is not pinned: {spec!r}"


def test_variables_have_the_documented_defaults(tf: Terraform) -> None:
    assert "default" not in tf.variables["project_id"], "project_id must be given, never guessed"
    assert tf.variables["region"]["default"] == "us-central1"
    assert "hosting_site_id" in tf.variables


# --- functions ----------------------------------------------------------------------------------------------

def test_one_function_resource_per_entry_point(tf: Terraform) -> None:
    functions = tf.of_type("google_cloudfunctions2_function")
    assert set(functions) == set(ENTRY_POINTS)
    for name in ENTRY_POINTS:
        body = functions[name]
        assert body["name"] == name
        assert body["location"] == "${var.region}"
        build = _block(body, "build_config")
        assert build["entry_point"] == name
        assert build["runtime"] == "python311"
        storage = _block(_block(build, "source"), "storage_source")
        assert storage["object"] == "${google_storage_bucket_object.bundle.name}", "every function ships the bundle"


def _main_py_names(path: Path) -> set[str]:
    """Names bound at the top level of main.py (functions, assignments, imports)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def test_main_py_exports_every_deployed_entry_point() -> None:
    main_py = REPO / "functions" / "main.py"
    if not main_py.is_file():
        pytest.skip("functions/main.py is not written yet; the entry points are checked against the fixed list")
    missing = set(ENTRY_POINTS) - _main_py_names(main_py)
    assert not missing, f"functions/main.py does not export {sorted(missing)}, which Terraform deploys"


def test_firebase_rewrites_land_on_deployed_functions(tf: Terraform) -> None:
    firebase = json.loads((REPO / "firebase.json").read_text(encoding="utf-8"))
    rewrites = [r["function"] for r in firebase["hosting"]["rewrites"] if "function" in r]
    assert rewrites, "firebase.json has no function rewrite"
    region = tf.variables["region"]["default"]
    for target in rewrites:
        function_id = target["functionId"] if isinstance(target, dict) else target
        assert ("google_cloudfunctions2_function", function_id) in tf.resources, f"no function {function_id!r}"
        if isinstance(target, dict) and "region" in target:
            assert target["region"] == region, f"{function_id}: rewrite region {target['region']} != {region}"


def test_function_runtime_settings(tf: Terraform) -> None:
    for name in ENTRY_POINTS:
        service = _block(tf.function(name), "service_config")
        assert service["service_account_email"] == "${google_service_account.functions_runtime.email}"
        assert service["max_instance_count"], f"{name}: max instances must be bounded"
        assert 1 <= int(service["timeout_seconds"]) <= 300, f"{name}: timeout {service['timeout_seconds']}"
        assert service.get("available_memory"), f"{name}: memory must be set"
    # TradingView's 3 s timeout includes a cold start: one webhook instance is always warm.
    assert int(_block(tf.function("webhooks"), "service_config")["min_instance_count"]) >= 1


def test_functions_get_the_scheduler_environment(tf: Terraform) -> None:
    env = tf.locals["function_env"]
    assert set(env) >= REQUIRED_ENV, f"missing: {sorted(REQUIRED_ENV - set(env))}"
    assert env["CLOUD_TASKS_QUEUE"] == "${google_cloud_tasks_queue.timers.name}"
    assert env["TASKS_SERVICE_ACCOUNT"] == "${google_service_account.tasks_invoker.email}"
    assert re.fullmatch(r"https://\$\{var\.region\}-\$\{var\.project_id\}\.cloudfunctions\.net/timers",
                        tf.locals["timers_url"]), tf.locals["timers_url"]
    assert env["TIMERS_URL"] == "${local.timers_url}"
    for name in ENTRY_POINTS:
        assert _block(tf.function(name), "service_config")["environment_variables"] == "${local.function_env}"
    # D12: the open dashboard, the dev clock, the emulators and their shared token are the local stack's only.
    for name, text in tf.texts.items():
        for local_only in LOCAL_ONLY_ENV:
            assert local_only not in text, f"{name} sets {local_only}, which only the local stack may set"


# --- secrets ------------------------------------------------------------------------------------------------

def _secret_env(tf: Terraform, function: str) -> dict[str, dict[str, Any]]:
    service = _block(tf.function(function), "service_config")
    return {block["key"]: block for block in service.get("secret_environment_variables", [])}


def test_secrets_exist_without_values(tf: Terraform) -> None:
    declared = set(re.findall(r'"([A-Z_]+)"', tf.locals["secret_ids"]))
    assert declared == SECRET_NAMES
    assert tf.resources[("google_secret_manager_secret", "this")]["for_each"] == "${local.secret_ids}"
    assert not tf.of_type("google_secret_manager_secret_version"), "secret values belong to gcloud, not Terraform"
    for name, text in tf.texts.items():
        assert "secret_data" not in text, f"{name}: secret_data puts a secret value in code and state"


def test_no_secret_value_literal_in_any_tf_file(tf: Terraform) -> None:
    secretish = re.compile(r"(secret|password|passwd|token|credential|private_key|api_key)", re.IGNORECASE)
    bodies: list[tuple[str, Any]] = [(f"{t}.{n}", b) for (t, n), b in tf.resources.items()]
    bodies += [(f"local.{k}", v) for k, v in tf.locals.items()]
    bodies += [(f"var.{k}", v) for k, v in tf.variables.items()]
    for where, body in bodies:
        for path, value in _walk(body, where):
            leaf = path.rsplit(".", 1)[-1]
            if secretish.search(leaf) and isinstance(value, str) and not _is_expression(value):
                assert value in SECRET_NAMES, f"{path} = {value!r} looks like a secret value"
    for name in tf.variables:
        assert not secretish.search(name), f"variable {name}: secrets never pass through Terraform variables"
    env_keys = set(tf.locals["function_env"])
    assert not env_keys & SECRET_NAMES, "secrets must be secret environment variables, not plain ones"


def test_each_function_mounts_exactly_its_secrets(tf: Terraform) -> None:
    mounted: set[str] = set()
    for function, expected in FUNCTION_SECRETS.items():
        secrets = _secret_env(tf, function)
        assert set(secrets) == expected, f"{function}: mounts {sorted(secrets)}, expected {sorted(expected)}"
        for key, block in secrets.items():
            assert block["secret"] == f'${{google_secret_manager_secret.this["{key}"].secret_id}}', block
            assert block["version"] == "latest"
        mounted |= set(secrets)
    assert mounted == SECRET_NAMES, f"declared but never mounted: {sorted(SECRET_NAMES - mounted)}"
    accessor = tf.resources[("google_secret_manager_secret_iam_member", "runtime_accessor")]
    assert accessor["for_each"] == "${local.secret_ids}"
    assert accessor["role"] == "roles/secretmanager.secretAccessor"
    assert accessor["member"] == "serviceAccount:${google_service_account.functions_runtime.email}"


# --- who can call what --------------------------------------------------------------------------------------

def _iam_grants(tf: Terraform) -> list[tuple[str, dict[str, Any]]]:
    return [(f"{t}.{n}", body) for (t, n), body in tf.resources.items() if "_iam_" in t]


def _targets_function(body: dict[str, Any], function: str) -> bool:
    return any(f"google_cloudfunctions2_function.{function}." in str(v) for v in body.values())


def test_timers_can_be_invoked_by_the_tasks_invoker_only(tf: Terraform) -> None:
    grants = [(where, body) for where, body in _iam_grants(tf) if _targets_function(body, "timers")]
    assert grants, "no invoker grant on the timers function"
    for where, body in grants:
        members = set(body.get("members", [])) | ({body["member"]} if "member" in body else set())
        assert not members & PUBLIC_MEMBERS, f"{where}: timers must not be public"
        assert members == {"serviceAccount:${google_service_account.tasks_invoker.email}"}, f"{where}: {members}"
    assert any(body["role"] == "roles/run.invoker" for _, body in grants)


def test_only_the_self_authenticating_functions_are_public(tf: Terraform) -> None:
    public_targets = set()
    for where, body in _iam_grants(tf):
        members = set(body.get("members", [])) | ({body["member"]} if "member" in body else set())
        if members & PUBLIC_MEMBERS:
            targets = [f for f in ENTRY_POINTS if _targets_function(body, f)]
            assert len(targets) == 1 and targets[0] in PUBLIC_FUNCTIONS, f"{where} makes {targets or body} public"
            assert body["role"] == "roles/run.invoker", where
            public_targets.add(targets[0])
    assert public_targets == set(PUBLIC_FUNCTIONS), "Hosting rewrites, TradingView and the bridge call these"


def test_tasks_invoker_holds_no_other_role(tf: Terraform) -> None:
    tasks_member = "serviceAccount:${google_service_account.tasks_invoker.email}"
    holders = [where for where, body in _iam_grants(tf) if body.get("member") == tasks_member
               or tasks_member in body.get("members", [])]
    assert holders == ["google_cloud_run_v2_service_iam_member.timers_tasks_invoker"], holders


def test_runtime_identity_can_enqueue_and_sign_as_the_tasks_invoker(tf: Terraform) -> None:
    runtime = "serviceAccount:${google_service_account.functions_runtime.email}"
    grants = {(body["role"], body["member"]) for _, body in _iam_grants(tf) if "member" in body}
    assert ("roles/datastore.user", runtime) in grants
    assert ("roles/cloudtasks.enqueuer", runtime) in grants
    act_as = tf.resources[("google_service_account_iam_member", "runtime_acts_as_tasks_invoker")]
    assert act_as["service_account_id"] == "${google_service_account.tasks_invoker.name}"
    assert act_as["role"] == "roles/iam.serviceAccountUser"
    assert act_as["member"] == runtime


# --- Firestore, Cloud Tasks, Hosting ------------------------------------------------------------------------

def _indexes_json() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((REPO / "firestore.indexes.json").read_text(encoding="utf-8"))
    return loaded


def test_firestore_is_a_native_database(tf: Terraform) -> None:
    database = tf.resources[("google_firestore_database", "default")]
    assert database["type"] == "FIRESTORE_NATIVE"
    assert database["name"] == "(default)"


def test_ttl_policy_is_on_events_and_task_keys_expire_at(tf: Terraform) -> None:
    ttl_fields = {(body["collection"], body["field"]): body
                  for body in tf.of_type("google_firestore_field").values() if body.get("ttl_config")}
    assert set(ttl_fields) == {("events", "expire_at"), ("task_keys", "expire_at")}
    expected = {(o["collectionGroup"], o["fieldPath"]) for o in _indexes_json().get("fieldOverrides", [])
                if o.get("ttl")}
    assert set(ttl_fields) == expected, "Terraform's TTL fields must match firestore.indexes.json"
    for override in _indexes_json().get("fieldOverrides", []):
        if override.get("ttl") and override.get("indexes") == []:
            body = ttl_fields[(override["collectionGroup"], override["fieldPath"])]
            assert body.get("index_config") == [{}], "the override drops the field's indexes: index_config {}"


def test_composite_indexes_match_firestore_indexes_json(tf: Terraform) -> None:
    def key(collection: str, scope: str, fields: list[tuple[str, str]]) -> tuple[Any, ...]:
        return (collection, scope, tuple(fields))

    in_terraform = {
        key(body["collection"], body.get("query_scope", "COLLECTION"),
            [(f["field_path"], f.get("order") or f.get("array_config")) for f in body["fields"]])
        for body in tf.of_type("google_firestore_index").values()
    }
    in_json = {
        key(index["collectionGroup"], index.get("queryScope", "COLLECTION"),
            [(f["fieldPath"], f.get("order") or f.get("arrayConfig")) for f in index["fields"]])
        for index in _indexes_json()["indexes"]
    }
    assert in_terraform == in_json


def test_timers_queue_retries_are_bounded(tf: Terraform) -> None:
    queue = tf.resources[("google_cloud_tasks_queue", "timers")]
    assert queue["name"] == "timers"
    assert queue["location"] == "${var.region}"
    retry = _block(queue, "retry_config")
    assert 1 <= int(retry["max_attempts"]) <= 100, "max_attempts -1 would retry forever"
    assert re.fullmatch(r"\d+(\.\d+)?s", retry["max_retry_duration"]) and retry["max_retry_duration"] != "0s"
    assert re.fullmatch(r"\d+(\.\d+)?s", retry["max_backoff"])


def test_hosting_site_and_outputs(tf: Terraform) -> None:
    site = tf.resources[("google_firebase_hosting_site", "dashboard")]
    assert site["provider"] in ("google-beta", "${google-beta}")
    assert site["site_id"] == "${var.hosting_site_id}"
    urls = tf.outputs["function_urls"]["value"]
    for name in ENTRY_POINTS:
        assert urls[name] == f"${{google_cloudfunctions2_function.{name}.url}}"
    assert "hosting_site_id" in tf.outputs and "hosting_url" in tf.outputs


# --- the bundle builder -------------------------------------------------------------------------------------

def _builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_bundle", BUILD_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _write(root: Path, relative: str, text: str = "") -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def fake_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for relative in (
        "functions/main.py", "functions/webhooks/__init__.py", "functions/webhooks/handlers.py",
        "functions/webhooks/test_handlers.py", "functions/tests/test_main.py", "functions/conftest.py",
        "functions/__pycache__/main.cpython-311.pyc", "functions/webhooks/__pycache__/x.cpython-311.pyc",
        "shared/__init__.py", "shared/py.typed", "shared/domain/__init__.py", "shared/domain/state.py",
        "shared/domain/__pycache__/state.cpython-311.pyc", "shared/.mypy_cache/x.json",
        "shared/.pytest_cache/README.md", "shared/store/tests/test_x.py",
    ):
        _write(root, relative, "x = 1\n")
    _write(root, "requirements.txt", "functions-framework==3.10.2\n")
    _write(root, "requirements-dev.txt", "-r requirements.txt\npytest==9.0.3\n")
    _write(root, "tests/unit/test_a.py")
    return root


def test_bundle_holds_functions_shared_and_runtime_requirements_only(fake_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    files = _builder().build_bundle(out, fake_repo)
    assert files == [
        "main.py",
        "requirements.txt",
        "shared/__init__.py",
        "shared/domain/__init__.py",
        "shared/domain/state.py",
        "shared/py.typed",
        "webhooks/__init__.py",
        "webhooks/handlers.py",
    ]
    assert (out / "requirements.txt").read_text(encoding="utf-8") == "functions-framework==3.10.2\n"


def test_bundle_rebuild_replaces_its_own_output_only(fake_repo: Path, tmp_path: Path) -> None:
    builder = _builder()
    out = tmp_path / "bundle"
    builder.build_bundle(out, fake_repo)
    _write(out, "stale.py")
    builder.build_bundle(out, fake_repo)
    assert not (out / "stale.py").exists(), "a rebuild starts from an empty directory"

    foreign = tmp_path / "foreign"
    _write(foreign, "keep.txt", "precious\n")
    with pytest.raises(builder.BundleError, match="not built by this script"):
        builder.build_bundle(foreign, fake_repo)
    assert (foreign / "keep.txt").read_text(encoding="utf-8") == "precious\n"
    with pytest.raises(builder.BundleError):
        builder.build_bundle(fake_repo / "shared" / "out", fake_repo)
    with pytest.raises(builder.BundleError):
        builder.build_bundle(fake_repo.parent, fake_repo)


def test_bundle_refuses_incomplete_sources(fake_repo: Path, tmp_path: Path) -> None:
    builder = _builder()
    (fake_repo / "requirements.txt").write_text("-r requirements-dev.txt\n", encoding="utf-8")
    with pytest.raises(builder.BundleError, match="runtime requirements"):
        builder.build_bundle(tmp_path / "a", fake_repo)
    (fake_repo / "functions" / "main.py").unlink()
    with pytest.raises(builder.BundleError, match=r"main\.py"):
        builder.build_bundle(tmp_path / "b", fake_repo)


def test_bundle_of_this_repository(tmp_path: Path) -> None:
    if not (REPO / "functions" / "main.py").is_file():
        pytest.skip("functions/main.py is not written yet: the builder refuses a bundle without entry points")
    out = tmp_path / "bundle"
    result = subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), str(out), "--list"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    files = set(result.stdout.split())
    assert {"main.py", "requirements.txt", "shared/__init__.py", "shared/domain/__init__.py"} <= files
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc") or "/tests/" in f
                or f.rsplit("/", 1)[-1].startswith("test_")]
    assert (out / "requirements.txt").read_bytes() == (REPO / "requirements.txt").read_bytes()
