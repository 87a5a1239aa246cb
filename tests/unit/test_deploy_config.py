"""Static checks of the deployment: Terraform formatting and content, and the source-bundle builder.

Nothing here reaches Google Cloud or the Terraform registry: `terraform validate`/`plan` need the providers,
which cannot be downloaded here, so these tests parse the HCL and check what the design requires of it.
Resources with `for_each` over a local (or a `toset([...])` literal) and their `dynamic` blocks are expanded
into one body per instance (`Terraform.instances`), so the checks read what each instance would get.
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

from shared.domain.config import FILL_PRICE_BAND_PCT_RANGE, Config

REPO = Path(__file__).resolve().parents[2]
TF_DIR = REPO / "deploy" / "terraform"
BUILD_SCRIPT = REPO / "scripts" / "build_bundle.py"

ENTRY_POINTS = ("webhooks", "orders", "bridge", "timers")
PUBLIC_FUNCTIONS = ("webhooks", "orders", "bridge")
SECRET_NAMES = frozenset({"TV_WEBHOOK_SECRET", "BRIDGE_HEARTBEAT_SECRET", "DASHBOARD_PASSWORD", "SESSION_SECRET"})
# Which secret each function checks (docs/api.md: webhooks the TradingView secret, bridge the bridge
# secret, orders the operator session, and it shows the TradingView secret to a logged-in operator for the alert
# messages); timers authenticates Cloud Tasks by OIDC and holds none. Nothing else: the public webhook function
# must not read the dashboard password or the session key (issue 10).
FUNCTION_SECRETS = {
    "webhooks": {"TV_WEBHOOK_SECRET"},
    "orders": {"DASHBOARD_PASSWORD", "SESSION_SECRET", "TV_WEBHOOK_SECRET"},
    "bridge": {"BRIDGE_HEARTBEAT_SECRET"},
    "timers": set(),
}
# The secrets whose previous value each function accepts during a rotation window (shared/web/auth.py).
ROTATING = {"webhooks": {"TV_WEBHOOK_SECRET"}, "orders": {"SESSION_SECRET"}, "bridge": {"BRIDGE_HEARTBEAT_SECRET"},
            "timers": set()}
REQUIRED_ENV = {"GOOGLE_CLOUD_PROJECT", "CLOUD_TASKS_LOCATION", "CLOUD_TASKS_QUEUE", "TIMERS_URL",
                "TASKS_SERVICE_ACCOUNT"}
LOCAL_ONLY_ENV = ("ALLOW_OPEN_DASHBOARD", "LOCAL_DEV", "DEV_CLOCK_FILE", "FIRESTORE_EMULATOR_HOST",
                  "CLOUD_TASKS_EMULATOR_HOST", "TASKS_LOCAL_TOKEN", "FIREBASE_AUTH_EMULATOR_HOST")
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


# --- expanding for_each and dynamic blocks -------------------------------------------------------------------
# A deliberately small evaluator: it knows `local.NAME`, `toset([...string literals...])`, `each.key`,
# `each.value[.attr...]` and a dynamic block's `<iterator>.key`/`.value[.attr...]`. Anything else in a
# for_each fails the test, so a construct it cannot read is never silently checked as nothing.

_ITERATOR_REF = re.compile(r"(?<![\w.])([A-Za-z_][A-Za-z0-9_]*)\.(key|value)((?:\.[A-Za-z_][A-Za-z0-9_]*)*)(?![\w\[])")
_TOSET_LITERAL = re.compile(r"\$\{toset\(\[([^\]]*)\]\)\}")
_LOCAL_REF = re.compile(r"\$\{local\.([A-Za-z_][A-Za-z0-9_]*)\}")
_INTERPOLATED_LITERAL = re.compile(r'\$\{"([^"$]*)"\}')
# `[for x in [..literal list..] : x if COND]`: COND is not evaluated, so every member counts as a possible
# instance (a superset: right for "mounts nothing but its own secrets").
_FILTERED_LIST = re.compile(r"\$\{\[for (\w+) in (\[[^\]]*\]) : \1 if .+\]\}")
# `merge([for K, V in local.L : {for X in V.A : "${K}/${X}" => {P = K, Q = X}}]...)`: one instance per (key,
# member of its list A), the flattening idiom of secrets.tf (secret_access).
_FLATTEN = re.compile(
    r'\$\{merge\(\[for (\w+), (\w+) in local\.(\w+) : \{for (\w+) in \2\.(\w+) : '
    r'"\$\{\1\}/\$\{\4\}" => \{(\w+) = \1, (\w+) = \4\}\}\] ?\.\.\.\)\}'
)
Scope = dict[str, tuple[Any, Any]]  # iterator name -> (key, value)


def _lookup(scope: Scope, match: re.Match[str]) -> Any:
    key, value = scope[match.group(1)]
    if match.group(2) == "key":
        assert not match.group(3), f"{match.group(0)}: a key has no attributes"
        return key
    for attr in filter(None, match.group(3).split(".")):
        assert isinstance(value, dict) and attr in value, f"{match.group(0)}: no attribute {attr!r} in {value!r}"
        value = value[attr]
    return value


def _substitute(text: str, scope: Scope) -> Any:
    """Replace iterator references in one parsed value: a whole `${ref}` becomes the referenced value itself,
    a reference inside a larger expression becomes the HCL literal of a scalar."""
    whole = re.fullmatch(r"\$\{(.*)\}", text)
    if whole:
        match = _ITERATOR_REF.fullmatch(whole.group(1))
        if match and match.group(1) in scope:
            return _lookup(scope, match)
    if "${" not in text:
        return text

    def literal(match: re.Match[str]) -> str:
        if match.group(1) not in scope:
            return match.group(0)
        value = _lookup(scope, match)
        items = value if isinstance(value, list) else [value]
        scalars = all(isinstance(v, str | int | float) and "${" not in str(v) for v in items)
        assert scalars, f"{match.group(0)} = {value!r}"
        return json.dumps(value)  # a scalar's or a list of scalars' HCL literal

    # `"PREVIOUS_${x.value}"` becomes `PREVIOUS_${"NAME"}`: an interpolated literal is the literal itself.
    return _INTERPOLATED_LITERAL.sub(lambda m: m.group(1), _ITERATOR_REF.sub(literal, text))


def _iterate(tf: Terraform, for_each: Any, where: str) -> list[tuple[Any, Any]]:
    """(key, value) pairs of a for_each value: a map/object by its keys, a set of strings as key = value."""
    if isinstance(for_each, str):
        local = _LOCAL_REF.fullmatch(for_each)
        if local:
            assert local.group(1) in tf.locals, f"{where}: for_each on undeclared local.{local.group(1)}"
            return _iterate(tf, tf.locals[local.group(1)], where)
        filtered = _FILTERED_LIST.fullmatch(for_each)
        if filtered:
            return list(enumerate(json.loads(filtered.group(2))))
        flatten = _FLATTEN.fullmatch(for_each)
        if flatten:
            outer, source, attr = flatten.group(3), flatten.group(5), (flatten.group(6), flatten.group(7))
            assert outer in tf.locals, f"{where}: for_each on undeclared local.{outer}"
            return [(f"{key}/{member}", {attr[0]: key, attr[1]: member})
                    for key, spec in tf.locals[outer].items() for member in spec[source]]
        literal = _TOSET_LITERAL.fullmatch(for_each)
        assert literal, f"{where}: for_each = {for_each!r} is beyond this test's evaluator"
        members = re.findall(r'"([^"]*)"', literal.group(1))
        assert len(members) == len(set(members)), f"{where}: duplicate members in {for_each}"
        return [(m, m) for m in members]
    if isinstance(for_each, dict):
        return list(for_each.items())
    assert isinstance(for_each, list), f"{where}: for_each = {for_each!r} is beyond this test's evaluator"
    return list(enumerate(for_each))  # a dynamic block over a list: key = index


def _render(tf: Terraform, value: Any, scope: Scope, where: str) -> Any:
    if isinstance(value, dict):
        out = {k: _render(tf, v, scope, where) for k, v in value.items() if k != "dynamic"}
        for dynamic in value.get("dynamic", []):
            for name, spec in dynamic.items():
                iterator = _unquote(spec.get("iterator", name)).removeprefix("${").removesuffix("}")
                for_each = _render(tf, spec["for_each"], scope, where)
                blocks = out.setdefault(name, [])
                for key, item in _iterate(tf, for_each, f"{where}: dynamic {name}"):
                    blocks.append(_render(tf, _block(spec, "content"), {**scope, iterator: (key, item)}, where))
        return out
    if isinstance(value, list):
        return [_render(tf, v, scope, where) for v in value]
    if isinstance(value, str):
        return _substitute(value, scope)
    return value


def _expand(tf: Terraform, type_: str, name: str, body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Instance address (`name` or `name["key"]`) -> the body that instance gets."""
    where = f"{type_}.{name}"
    if "for_each" not in body:
        return {name: _render(tf, body, {}, where)}
    instances = {}
    for key, value in _iterate(tf, body["for_each"], where):
        rendered = _render(tf, body, {"each": (key, value)}, where)
        for path, leaf in _walk(rendered):
            assert not (isinstance(leaf, str) and re.search(r"(?<![\w.])each\.", leaf)), f"{where}: {path} = {leaf}"
        instances[f'{name}["{key}"]'] = rendered
    return instances


@dataclass
class Terraform:
    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    data: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    moved: list[dict[str, Any]] = field(default_factory=list)
    terraform_blocks: list[dict[str, Any]] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)

    def instances(self, type_: str) -> dict[str, dict[str, Any]]:
        """Every instance of a resource type, for_each and dynamic blocks expanded: address -> body."""
        found: dict[str, dict[str, Any]] = {}
        for (t, name), body in self.resources.items():
            if t == type_:
                found.update(_expand(self, t, name, body))
        return found

    def of_type(self, type_: str) -> dict[str, dict[str, Any]]:
        return self.instances(type_)

    def functions(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """Deployed function name -> (resource address, instance body)."""
        found: dict[str, tuple[str, dict[str, Any]]] = {}
        for address, body in self.instances("google_cloudfunctions2_function").items():
            assert body["name"] not in found, f"two functions named {body['name']!r}"
            found[body["name"]] = (f"google_cloudfunctions2_function.{address}", body)
        return found

    def function(self, name: str) -> dict[str, Any]:
        return self.functions()[name][1]


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
        for block in parsed.get("check", []):
            tf.checks.update(block)
        tf.moved.extend(parsed.get("moved", []))
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


def test_every_checkov_suppression_is_justified_inline() -> None:
    skips = [(path.name, m) for path in sorted(TF_DIR.glob("*.tf"))
             for m in re.finditer(r"checkov:skip=([A-Z0-9_]+)(?::(.*))?", path.read_text(encoding="utf-8"))]
    for name, match in skips:
        reason = (match.group(2) or "").strip()
        assert len(reason.split()) >= 8, f"{name}: checkov:skip={match.group(1)} needs a reason (why it does not apply)"


CHECKOV = REPO / ".local" / "checkov-venv" / "bin" / "checkov"


def test_checkov_passes() -> None:
    if not CHECKOV.is_file():
        pytest.skip("checkov's venv is built by `make lint-deploy` (make lint, make test run it)")
    result = subprocess.run(
        [str(CHECKOV), "-d", str(TF_DIR), "--framework", "terraform", "--skip-download", "--quiet", "--compact"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


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


def test_providers_name_a_quota_project_for_user_credentials(tf: Terraform) -> None:
    # The operator applies with `gcloud auth application-default login`: Firebase and the budget API refuse
    # user credentials without a quota project (403 "authenticating by using local ADC").
    providers = {}
    for path in sorted(TF_DIR.glob("*.tf")):
        for block in _normalise(hcl2.loads(path.read_text(encoding="utf-8"))).get("provider", []):
            providers.update(block)
    for name in ("google", "google-beta"):
        assert name in providers, f"no provider {name!r} block"
        assert providers[name].get("user_project_override") is True, f"{name}: user_project_override = true"
        assert providers[name].get("billing_project") == "${var.project_id}", f"{name}: billing_project"


# --- functions ----------------------------------------------------------------------------------------------

def test_one_function_resource_per_entry_point(tf: Terraform) -> None:
    functions = tf.functions()
    assert set(functions) == set(ENTRY_POINTS)
    assert len(tf.instances("google_cloudfunctions2_function")) == len(ENTRY_POINTS)
    for name in ENTRY_POINTS:
        body = functions[name][1]
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


def _firebase() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((REPO / "firebase.json").read_text(encoding="utf-8"))
    return loaded


def test_firebase_rewrites_land_on_deployed_functions_in_the_configured_region(tf: Terraform) -> None:
    rewrites = _firebase()["hosting"]["rewrites"]
    assert rewrites and all("function" in r for r in rewrites), "every rewrite goes to a function"
    region = tf.variables["region"]["default"]
    for rule in rewrites:
        target = rule["function"]
        # The region is named in every rewrite: Hosting would otherwise assume us-central1 whatever Terraform says.
        assert isinstance(target, dict) and set(target) == {"functionId", "region"}, rule
        assert target["functionId"] in tf.functions(), f"{rule['source']}: no function {target['functionId']!r}"
        assert target["region"] == region, f"{rule['source']}: rewrite region {target['region']} != var.region {region}"
        assert tf.function(target["functionId"])["location"] == "${var.region}"


def test_terraform_refuses_a_region_other_than_firebase_json_s(tf: Terraform) -> None:
    # One source of truth: Terraform reads firebase.json and a plan with another var.region fails.
    assert re.fullmatch(r'\$\{jsondecode\(file\("\$\{path\.module\}/\.\./\.\./firebase\.json"\)\)\}',
                        tf.locals["firebase_json"]), tf.locals["firebase_json"]
    assert "local.firebase_json.hosting.rewrites" in tf.locals["firebase_regions"]
    assert "rule.function.region" in tf.locals["firebase_regions"]
    for name in ENTRY_POINTS:
        conditions = [p["condition"] for block in tf.function(name).get("lifecycle", [])
                      for p in block.get("precondition", [])]
        assert any("local.firebase_regions" in c and "var.region" in c for c in conditions), name
    assert (TF_DIR / "../../firebase.json").resolve() == (REPO / "firebase.json").resolve()


def test_production_hosting_has_no_dev_route() -> None:
    hosting = _firebase()["hosting"]
    for rule in hosting["rewrites"] + hosting.get("redirects", []):
        assert "_dev" not in json.dumps(rule), f"{rule}: the dev routes are the local stack's only"


def test_the_local_router_still_routes_the_dev_paths_itself() -> None:
    from devstack.router import HostingRouter

    router = HostingRouter(REPO)
    matches = [rule.function for rule in router.config.rewrites if rule.source.match("/_dev/clock")]
    assert matches[:1] == ["orders"], matches


IDENTITY_TOOLKIT = "https://identitytoolkit.googleapis.com"


def _csp() -> dict[str, list[str]]:
    values = [h["value"] for rule in _firebase()["hosting"]["headers"] if rule["source"] == "**"
              for h in rule["headers"] if h["key"].lower() == "content-security-policy"]
    assert len(values) == 1, "one Content-Security-Policy header on every response"
    directives: dict[str, list[str]] = {}
    for part in filter(None, (p.strip() for p in values[0].split(";"))):
        name, *sources = part.split()
        assert name not in directives, f"{name} twice"
        directives[name] = sources
    return directives


def test_csp_is_strict() -> None:
    csp = _csp()
    assert csp["default-src"] == ["'none'"]
    assert csp["script-src"] == ["'self'"], "scripts from this origin only: no inline script, no CDN"
    # the login page signs in at Firebase Authentication itself (issue 12): that one origin, nothing wider
    assert csp["connect-src"] == ["'self'", IDENTITY_TOOLKIT]
    assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"]
    for name, sources in csp.items():
        for source in sources:
            assert source not in ("'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https:"), f"{name} {source}"
            if (name, source) != ("connect-src", IDENTITY_TOOLKIT):
                assert not source.startswith(("http://", "https://")), f"{name}: {source} loads from elsewhere"
    assert set(csp["style-src"]) - {"'self'"} <= {s for s in csp["style-src"] if s.startswith("'sha256-")}


def test_the_dashboard_needs_no_inline_script_or_style() -> None:
    public = REPO / "hosting" / "public"
    for page in public.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), f"{page.name}: inline <script> (CSP refuses it)"
        assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=", text), f"{page.name}: inline style or handler"
        for src in re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', text):
            assert not src.startswith(("http://", "https://", "//")), f"{page.name}: {src} is not served by us"


def test_each_style_a_vendored_script_injects_is_allowed_by_its_hash() -> None:
    import base64
    import hashlib

    allowed = set(_csp()["style-src"])
    vendor = REPO / "hosting" / "public" / "vendor"
    scripts = sorted(vendor.glob("*.js")) if vendor.is_dir() else []
    if not scripts:
        pytest.skip("no vendored script in hosting/public/vendor (installed by the dashboard's build)")
    for script in scripts:
        text = script.read_text(encoding="utf-8")
        for css in re.findall(r'createElement\("style"\),this\.\w+\.innerText="([^"]*)"', text):
            digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
            assert f"'sha256-{digest}'" in allowed, f"{script.name} injects a <style> the CSP refuses"


def test_firebase_json_targets_the_site_terraform_creates(tf: Terraform) -> None:
    # No reliance on a default site: firebase.json deploys to the hosting target bound to Terraform's site.
    hosting = _firebase()["hosting"]
    assert hosting.get("target") == "dashboard" and "site" not in hosting
    assert "hosting dashboard ${google_firebase_hosting_site.dashboard.site_id}" in \
        tf.outputs["firebase_target_command"]["value"]


def test_function_runtime_settings(tf: Terraform) -> None:
    accounts = tf.instances("google_service_account")
    for name in ENTRY_POINTS:
        service = _block(tf.function(name), "service_config")
        # Its own identity: no two functions share a service account.
        assert service["service_account_email"] == f'${{google_service_account.function["{name}"].email}}'
        assert f'function["{name}"]' in accounts
        assert service["max_instance_count"], f"{name}: max instances must be bounded"
        timeout = service["timeout_seconds"]
        if timeout == "${var.bridge_timeout_seconds}":  # bounded by the variable's validation
            validation = tf.variables["bridge_timeout_seconds"]["validation"][0]["condition"]
            assert "var.bridge_timeout_seconds <= 3600" in validation
            timeout = tf.variables["bridge_timeout_seconds"]["default"]
        assert 1 <= int(timeout) <= 3600, f"{name}: timeout {service['timeout_seconds']}"
        assert service.get("available_memory"), f"{name}: memory must be set"
    # TradingView's 3 s timeout includes a cold start: one webhook instance is always warm.
    assert int(_block(tf.function("webhooks"), "service_config")["min_instance_count"]) >= 1
    # The bridge's timeout and concurrency are variables (the long poll will need them).
    bridge = _block(tf.function("bridge"), "service_config")
    assert bridge["timeout_seconds"] == "${var.bridge_timeout_seconds}"
    assert bridge["max_instance_request_concurrency"] == "${var.bridge_concurrency}"


def test_functions_get_the_scheduler_environment(tf: Terraform) -> None:
    env = tf.locals["function_env"]
    assert set(env) >= REQUIRED_ENV, f"missing: {sorted(REQUIRED_ENV - set(env))}"
    assert env["CLOUD_TASKS_QUEUE"] == "${google_cloud_tasks_queue.timers.name}"
    assert env["TASKS_SERVICE_ACCOUNT"] == "${google_service_account.tasks_invoker.email}"
    assert re.fullmatch(r"https://\$\{var\.region\}-\$\{var\.project_id\}\.cloudfunctions\.net/timers",
                        tf.locals["timers_url"]), tf.locals["timers_url"]
    assert env["TIMERS_URL"] == "${local.timers_url}"
    for name in ENTRY_POINTS:
        env = _block(tf.function(name), "service_config")["environment_variables"]
        assert env == (f'${{merge(local.function_env, local.rotation_env["{name}"], '
                       f'lookup(local.function_extra_env, "{name}", {{}}))}}'), env
    # The long poll (issue 11): the bridge's hold ends 10 s before its timeout, and it serves as many threads as
    # the requests an instance may get.
    assert set(tf.locals["function_extra_env"]) == {"bridge", "orders"}
    # Issue 12: the orders function alone learns the sign-in mode and the Firebase project and web API key.
    assert tf.locals["function_extra_env"]["orders"] == {
        "OPERATOR_AUTH": "${var.operator_auth}", "FIREBASE_PROJECT_ID": "${var.project_id}",
        "FIREBASE_API_KEY": "${google_apikeys_key.firebase_web.key_string}",
        "OPERATOR_MFA": "${var.operator_mfa}"}  # issue 22: the TOTP second factor
    assert tf.locals["function_extra_env"]["bridge"] == {
        "LONG_POLL_MAX_S": "${tostring(max(1, min(50, var.bridge_timeout_seconds - 10)))}",
        "THREADS": "${tostring(var.bridge_concurrency)}",
        "LONG_POLL_MAX_HELD": "${tostring(max(1, floor(var.bridge_concurrency / 2)))}",
        "FILL_PRICE_BAND_PCT": "${tostring(var.fill_price_band_pct)}",
        # issue 22: `?secret=` refused unless the operator lets a legacy bridge keep it
        "ALLOW_SECRET_IN_QUERY": '${var.legacy_bridge_query_auth ? "1" : "0"}'}
    # Issue 7: the fill price band, validated to the range the function accepts (it would ignore anything else)
    band = tf.variables["fill_price_band_pct"]
    assert band["default"] == Config.fill_price_band_pct
    low, high = FILL_PRICE_BAND_PCT_RANGE
    assert band["validation"][0]["condition"] == (
        f"${{var.fill_price_band_pct >= {low:g} && var.fill_price_band_pct <= {high:g}}}")
    # The rotation windows' ends, and nothing else, come on top: PREVIOUS_<NAME>_UNTIL of its rotating secrets.
    assert re.fullmatch(
        r'\$\{\{for fn, spec in local\.functions : fn => \{for name in spec\.rotating : "PREVIOUS_\$\{name\}_UNTIL" '
        r'=> local\.secret_version\[name\]\.previous_until if local\.secret_version\[name\]\.previous != null\}\}\}',
        tf.locals["rotation_env"]), tf.locals["rotation_env"]
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
                # NOTIFY_DESTINATIONS: the notification URLs' secret, read at run time (notify.tf, issue 20)
                assert value in SECRET_NAMES | {"NOTIFY_DESTINATIONS"}, f"{path} = {value!r} looks like a secret value"
    for name in tf.variables:
        assert not secretish.search(name), f"variable {name}: secrets never pass through Terraform variables"
    env_keys = set(tf.locals["function_env"])
    assert not env_keys & SECRET_NAMES, "secrets must be secret environment variables, not plain ones"


def test_each_function_mounts_exactly_its_secrets_at_pinned_versions(tf: Terraform) -> None:
    mounted: set[str] = set()
    for function, expected in FUNCTION_SECRETS.items():
        secrets = _secret_env(tf, function)
        current = {k: b for k, b in secrets.items() if not k.startswith("PREVIOUS_")}
        previous = {k.removeprefix("PREVIOUS_"): b for k, b in secrets.items() if k.startswith("PREVIOUS_")}
        assert set(current) == expected, f"{function}: mounts {sorted(current)}, expected {sorted(expected)}"
        # At most: the previous value of a secret it rotates (mounted only during a window, see version_pins).
        assert set(previous) == ROTATING[function], f"{function}: previous values of {sorted(previous)}"
        for key, block in secrets.items():
            name = key.removeprefix("PREVIOUS_")
            assert block["secret"] == f'${{google_secret_manager_secret.this["{name}"].secret_id}}', block
            which = "previous" if key.startswith("PREVIOUS_") else "current"
            # Pinned, never "latest": every instance of a revision sees the same value (no intermittent 401s).
            assert block["version"] == f'${{local.secret_version["{name}"].{which}}}', block
        mounted |= set(current)
    assert mounted == SECRET_NAMES, f"declared but never mounted: {sorted(SECRET_NAMES - mounted)}"
    for name, text in tf.texts.items():
        assert not re.search(r'version\s*=\s*"latest"', text), f"{name}: a secret mounted at latest"


def test_rotation_pins_are_validated(tf: Terraform) -> None:
    pins = tf.variables["version_pins"]
    assert pins["default"] == {}, "unpinned secrets mount version 1"
    conditions = " ".join(v["condition"] for v in pins["validation"])
    assert "previous_until" in conditions and "timeadd" in conditions, "a window needs a readable end"
    assert "pin.previous < pin.current" in conditions
    assert 'var.version_pins["DASHBOARD_PASSWORD"].previous' in conditions
    versions = tf.locals["secret_version"]
    assert "try(var.version_pins[name].current, 1)" in versions


def test_each_service_account_reads_only_its_own_secrets(tf: Terraform) -> None:
    # NOTIFY_DESTINATIONS is the one secret read unpinned (versions/latest) and not mounted: it is data the operator
    # edits at run time, not a credential fixed at deploy time (notify.tf, shared/service/notify_secrets.py); its
    # grants are checked below, and no function mounts it (FUNCTION_SECRETS, the pinned-versions test above).
    grants = [(where, body) for where, body in _iam_grants(tf) if body["role"] == "roles/secretmanager.secretAccessor"
              and not where.startswith("google_secret_manager_secret_iam_member.notify_")]
    granted: dict[str, set[str]] = {name: set() for name in ENTRY_POINTS}
    for where, body in grants:
        assert where.startswith("google_secret_manager_secret_iam_member."), f"{where}: secrets are granted one by one"
        secret = re.fullmatch(r'\$\{google_secret_manager_secret\.this\["([A-Z_]+)"\]\.secret_id\}', body["secret_id"])
        member = re.fullmatch(r'serviceAccount:\$\{google_service_account\.function\["(\w+)"\]\.email\}',
                              body["member"])
        assert secret and member, f"{where}: {body}"
        granted[member.group(1)].add(secret.group(1))
    assert granted == FUNCTION_SECRETS, granted
    for where, body in _iam_grants(tf):
        assert "secretmanager" not in body.get("role", "") or where.startswith("google_secret_manager_secret_iam_"), \
            f"{where}: a project-wide secret role would let every function read every secret"


def test_the_notification_destinations_secret_is_read_by_orders_and_timers_and_written_by_orders(tf: Terraform) -> None:
    """Issue 20: the one secret holding the destinations' URLs, read at run time (never mounted)."""
    notify = {(body["role"], body["member"]) for where, body in _iam_grants(tf)
              if where.startswith("google_secret_manager_secret_iam_member.notify_")}
    member = 'serviceAccount:${{google_service_account.function["{}"].email}}'.format
    assert "NOTIFY_DESTINATIONS" not in SECRET_NAMES, "read through the API at run time, never mounted"
    assert notify == {("roles/secretmanager.secretAccessor", member("orders")),
                      ("roles/secretmanager.secretAccessor", member("timers")),
                      ("roles/secretmanager.secretVersionManager", member("orders"))}


def test_the_watchdog_runs_every_minute_into_the_timers_function_as_the_tasks_invoker(tf: Terraform) -> None:
    (job,) = tf.instances("google_cloud_scheduler_job").values()
    assert job["schedule"] == "* * * * *"
    target = _block(job, "http_target")
    assert target["uri"] == "${local.timers_url}" and target["http_method"] == "POST"
    assert "watchdog" in target["body"]
    oidc = _block(target, "oidc_token")
    assert oidc["service_account_email"] == "${google_service_account.tasks_invoker.email}"
    assert oidc["audience"] == "${local.timers_audience}"


# --- who can call what --------------------------------------------------------------------------------------

def _iam_grants(tf: Terraform) -> list[tuple[str, dict[str, Any]]]:
    types = sorted({t for t, _ in tf.resources if "_iam_" in t})
    return [(f"{t}.{address}", body) for t in types for address, body in tf.instances(t).items()]


def _targets_function(tf: Terraform, body: dict[str, Any], function: str) -> bool:
    address = tf.functions()[function][0]
    return any(f"{address}." in str(v) for v in body.values())


def test_timers_can_be_invoked_by_the_tasks_invoker_only(tf: Terraform) -> None:
    grants = [(where, body) for where, body in _iam_grants(tf) if _targets_function(tf, body, "timers")]
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
            targets = [f for f in ENTRY_POINTS if _targets_function(tf, body, f)]
            assert len(targets) == 1 and targets[0] in PUBLIC_FUNCTIONS, f"{where} makes {targets or body} public"
            assert body["role"] == "roles/run.invoker", where
            public_targets.add(targets[0])
    assert public_targets == set(PUBLIC_FUNCTIONS), "Hosting rewrites, TradingView and the bridge call these"


def test_tasks_invoker_holds_no_other_role(tf: Terraform) -> None:
    tasks_member = "serviceAccount:${google_service_account.tasks_invoker.email}"
    holders = [(where, body) for where, body in _iam_grants(tf) if body.get("member") == tasks_member
               or tasks_member in body.get("members", [])]
    assert len(holders) == 1, [where for where, _ in holders]
    where, body = holders[0]
    assert where.startswith("google_cloud_run_v2_service_iam_member."), where
    assert body["role"] == "roles/run.invoker", where
    assert [f for f in ENTRY_POINTS if _targets_function(tf, body, f)] == ["timers"], where


def test_each_function_identity_can_use_firestore_enqueue_and_sign_as_the_tasks_invoker(tf: Terraform) -> None:
    grants = {(body["role"], body["member"]) for _, body in _iam_grants(tf) if "member" in body}
    for name in ENTRY_POINTS:
        member = f'serviceAccount:${{google_service_account.function["{name}"].email}}'
        assert ("roles/datastore.user", member) in grants, name
        assert ("roles/cloudtasks.enqueuer", member) in grants, name
        assert ("roles/iam.serviceAccountUser", member) in grants, name
    for address, body in tf.instances("google_service_account_iam_member").items():
        assert body["service_account_id"] == "${google_service_account.tasks_invoker.name}", address
        assert body["role"] == "roles/iam.serviceAccountUser", address


def test_build_account_has_the_documented_roles_and_waits_for_them(tf: Terraform) -> None:
    build = "serviceAccount:${google_service_account.build.email}"
    roles = {body["role"] for _, body in _iam_grants(tf) if body.get("member") == build}
    assert roles == {"roles/artifactregistry.writer", "roles/logging.logWriter", "roles/storage.objectAdmin"}, roles
    # issue 22: the storage role is conditional on the build's own buckets (tests/unit/test_deploy_lifecycle.py)
    sleep = tf.resources[("time_sleep", "build_iam_propagation")]
    assert int(sleep["create_duration"].removesuffix("s")) >= 60
    assert "google_project_iam_member.build" in json.dumps(sleep), "the wait must follow the grants"
    for name in ENTRY_POINTS:
        assert "${time_sleep.build_iam_propagation}" in tf.function(name)["depends_on"], name
        assert _block(tf.function(name), "build_config")["service_account"] == "${google_service_account.build.id}"


# --- Firestore, Cloud Tasks, Hosting ------------------------------------------------------------------------

def _indexes_json() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((REPO / "firestore.indexes.json").read_text(encoding="utf-8"))
    return loaded


def test_firestore_is_a_native_database(tf: Terraform) -> None:
    database = tf.resources[("google_firestore_database", "default")]
    assert database["type"] == "FIRESTORE_NATIVE"
    assert database["name"] == "(default)"


def test_ttl_policy_is_on_events_task_keys_and_idempotency_expire_at(tf: Terraform) -> None:
    ttl_fields = {(body["collection"], body["field"]): body
                  for body in tf.of_type("google_firestore_field").values() if body.get("ttl_config")}
    assert set(ttl_fields) == {("events", "expire_at"), ("task_keys", "expire_at"), ("idempotency", "expire_at")}
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
    assert queue["name"] == "timers-${local.suffix}"  # issue 22: a queue name stays reserved after a delete
    assert queue["location"] == "${var.region}"
    retry = _block(queue, "retry_config")
    assert 1 <= int(retry["max_attempts"]) <= 100, "max_attempts -1 would retry forever"
    assert re.fullmatch(r"\d+(\.\d+)?s", retry["max_retry_duration"]) and retry["max_retry_duration"] != "0s"
    assert re.fullmatch(r"\d+(\.\d+)?s", retry["max_backoff"])


def test_hosting_site_and_outputs(tf: Terraform) -> None:
    site = tf.resources[("google_firebase_hosting_site", "dashboard")]
    assert site["provider"] in ("google-beta", "${google-beta}")
    # Created here, explicitly (not assumed to exist): its id defaults to "<project>-ops".
    assert site["site_id"] == "${local.hosting_site_id}"
    assert tf.locals["hosting_site_id"] == '${coalesce(var.hosting_site_id, "${var.project_id}-ops")}'
    # A for expression over the one for_each resource: its keys are the instance keys, so each instance key
    # must be its function's name.
    urls = tf.outputs["function_urls"]["value"]
    match = re.fullmatch(r"\$\{\{for (\w+), (\w+) in google_cloudfunctions2_function\.(\w+) ?: \1 => \2\.url\}\}", urls)
    assert match, urls
    assert {n for t, n in tf.resources if t == "google_cloudfunctions2_function"} == {match.group(3)}, urls
    for name, (address, _) in tf.functions().items():
        assert address == f'google_cloudfunctions2_function.{match.group(3)}["{name}"]', address
    assert "hosting_site_id" in tf.outputs and "hosting_url" in tf.outputs


def test_bundle_zip_has_fixed_file_modes(tf: Terraform) -> None:
    # Without it the umask of whoever built the bundle changes the zip's hash, and so rebuilds all four functions.
    assert tf.data[("archive_file", "bundle")].get("output_file_mode") == "0644"


def test_every_api_the_resources_use_is_enabled(tf: Terraform) -> None:
    services = set(re.findall(r'"([a-z.]+\.googleapis\.com)"', tf.locals["services"]))
    needed = {"firebaserules.googleapis.com", "firebasehosting.googleapis.com", "firebase.googleapis.com",
              "monitoring.googleapis.com", "logging.googleapis.com", "billingbudgets.googleapis.com",
              "cloudfunctions.googleapis.com", "cloudbuild.googleapis.com", "run.googleapis.com",
              "artifactregistry.googleapis.com", "secretmanager.googleapis.com", "cloudtasks.googleapis.com",
              "firestore.googleapis.com", "iam.googleapis.com", "storage.googleapis.com"}
    assert needed <= services, sorted(needed - services)


_MONITORING = {
    "google_monitoring_alert_policy": "var.enable_alerts",
    "google_logging_metric": "var.enable_alerts",
    "google_billing_budget": "var.billing_account",
    "google_monitoring_notification_channel": "var.alert_email",
}


def test_monitoring_is_code_and_optional(tf: Terraform) -> None:
    for type_, switch in _MONITORING.items():
        declared = [(n, b) for (t, n), b in tf.resources.items() if t == type_]
        assert declared, f"no {type_}"
        for name, body in declared:
            assert switch in str(body.get("count", "")), f"{type_}.{name}: count must follow {switch}"
    policies = {n: b for (t, n), b in tf.resources.items() if t == "google_monitoring_alert_policy"}
    filters = {n: _block(_block(b, "conditions"), "condition_absent" if "condition_absent" in _block(b, "conditions")
                         else "condition_threshold") for n, b in policies.items()}
    for condition in filters.values():  # python-hcl2 keeps the escapes of quotes inside strings
        condition.update({k: v.replace('\\"', '"') for k, v in condition.items() if k.endswith("filter")})
    five_xx = filters["http_5xx_ratio"]
    assert 'response_code_class = "5xx"' in five_xx["filter"] and "request_count" in five_xx["denominator_filter"]
    latency = filters["webhook_latency"]
    assert "run.googleapis.com/request_latencies" in latency["filter"] and "webhooks" in latency["filter"]
    assert _block(latency, "aggregations")["per_series_aligner"] == "ALIGN_PERCENTILE_99"
    assert latency["threshold_value"] == "${var.alert_webhook_p99_ms}"
    assert tf.variables["alert_webhook_p99_ms"]["default"] == 1000
    assert "log_entry_count" in filters["function_errors"]["filter"]
    metric = dict(tf.resources[("google_logging_metric", "refused_entries")])
    metric["filter"] = metric["filter"].replace('\\"', '"')
    assert 'jsonPayload.outcome = "refused"' in metric["filter"] and "/api/orders" in metric["filter"]
    assert metric["label_extractors"] == {"code": "EXTRACT(jsonPayload.code)"}
    budget = tf.resources[("google_billing_budget", "monthly")]
    assert budget["threshold_rules"], "a budget without thresholds alerts nobody"
    for policy in policies.values():
        assert policy["notification_channels"] == "${local.notification_channels}"


def test_the_operator_guide_names_what_exists(tf: Terraform) -> None:
    # deploy/README.md is followed by hand: every output, variable, Makefile target and sim flag it names must exist.
    guide = (REPO / "deploy" / "README.md").read_text(encoding="utf-8")
    outputs = set(re.findall(r"terraform(?: -chdir=\S+)? output(?: -raw)? (\w+)", guide))
    assert outputs and outputs <= set(tf.outputs), sorted(outputs - set(tf.outputs))
    for variable in re.findall(r"`(\w+)`", guide):
        if variable in {"version_pins", "bridge_timeout_seconds", "bridge_concurrency", "fill_price_band_pct",
                        "alert_email",
                        "enable_alerts", "billing_account", "monthly_budget", "hosting_site_id", "region"}:
            assert variable in tf.variables, variable
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    for target in set(re.findall(r"\bmake (\w[\w-]*)", guide)):
        assert re.search(rf"^{re.escape(target)}:", makefile, re.MULTILINE), f"make {target}"
    for module, args in re.findall(r"python -m sim\.(\w+) ([^\n`]*)", guide):
        source = (REPO / "sim" / f"{module}.py").read_text(encoding="utf-8")
        for flag in set(re.findall(r"(--[a-z][a-z-]*)", args)) - {"--help"}:
            assert f'"{flag}"' in source, f"sim.{module} has no {flag}"


# --- references (what `terraform validate` would catch, as far as resource addresses go) -------------------

_RESOURCE_REF = re.compile(r'(?<![\w.])(google_[a-z0-9_]+)\.([a-z0-9_]+)(?:\[("[^"]*"|[^\]]*)\])?')


def test_every_resource_reference_resolves(tf: Terraform) -> None:
    addresses: dict[tuple[str, str], set[str] | None] = {}
    for (type_, name), body in tf.resources.items():
        keys = {address[len(name):] for address in tf.instances(type_) if address.startswith(f"{name}[")}
        addresses[(type_, name)] = keys if "for_each" in body else None
    checked = 0
    places: list[tuple[str, Any]] = [(f"{t}.{a}", b) for (t, _) in tf.resources for a, b in tf.instances(t).items()]
    places += [(f"data.{t}.{n}", b) for (t, n), b in tf.data.items()]
    places += [(f"local.{k}", v) for k, v in tf.locals.items()]
    places += [(f"output.{k}", v) for k, v in tf.outputs.items()]
    places += [(f"check.{k}", v) for k, v in tf.checks.items()]
    for where, body in places:
        for path, value in _walk(body, where):
            for type_, name, index in _RESOURCE_REF.findall(str(value)):
                checked += 1
                assert (type_, name) in addresses, f"{path}: {type_}.{name} is not declared"
                instance_keys = addresses[(type_, name)]
                if index:
                    assert instance_keys is not None, f"{path}: {type_}.{name}[{index}], but it has no for_each"
                    assert f"[{index}]" in instance_keys, f"{path}: {type_}.{name} has no instance [{index}]"
    assert checked > 20, "the reference scan found almost nothing: is the parser output still as expected?"


def test_moved_blocks_keep_the_deployed_resources(tf: Terraform) -> None:
    # Every address the resources had before they moved to for_each, so the first apply after the move renames
    # them in the state instead of destroying and re-creating functions, invoker grants, TTL policies and
    # indexes. Delete an entry (and its moved block) only once every state has been applied past the move.
    old_to_new = {
        **{f"google_cloudfunctions2_function.{f}": f"google_cloudfunctions2_function.{f}" for f in ENTRY_POINTS},
        "google_cloud_run_v2_service_iam_member.webhooks_public": "webhooks",
        "google_cloud_run_v2_service_iam_member.orders_public": "orders",
        "google_cloud_run_v2_service_iam_member.bridge_public": "bridge",
        "google_cloud_run_v2_service_iam_member.timers_tasks_invoker": "timers",
        "google_firestore_field.events_expire_at": ("events", "expire_at"),
        "google_firestore_field.task_keys_expire_at": ("task_keys", "expire_at"),
        "google_firestore_index.orders_status_created_at": ("orders", "status"),
        "google_firestore_index.events_asset_ts": ("events", "asset"),
    }
    moves: dict[str, str] = {}
    for block in tf.moved:
        source, target = (str(block[k]).removeprefix("${").removesuffix("}") for k in ("from", "to"))
        assert source not in moves, f"{source} moved twice"
        moves[source] = target
    assert set(moves) == set(old_to_new), sorted(set(moves) ^ set(old_to_new))
    for source, target in moves.items():
        type_, _, rest = target.partition(".")
        instances = tf.instances(type_)
        assert rest in instances, f"moved {source} -> {target}, which is not declared"
        source_name = source.partition(".")[2]
        assert (type_, source_name) not in tf.resources, f"{source} is still declared and also moved"
        body, expected = instances[rest], old_to_new[source]
        if type_ == "google_cloudfunctions2_function":
            assert f"google_cloudfunctions2_function.{body['name']}" == expected, (source, target)
        elif type_ == "google_cloud_run_v2_service_iam_member":
            assert [f for f in ENTRY_POINTS if _targets_function(tf, body, f)] == [expected], (source, target)
        elif type_ == "google_firestore_field":
            assert (body["collection"], body["field"]) == expected, (source, target)
        else:
            assert (body["collection"], body["fields"][0]["field_path"]) == expected, (source, target)


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


def test_the_bundle_has_no_dev_route(tmp_path: Path) -> None:
    """The dev clock and reset are the local stack's (devstack/dev_routes.py): the bundle ships no devstack code,
    and its four functions, imported from the bundle alone with LOCAL_DEV=1 set, register no `/_dev/` route."""
    out = tmp_path / "bundle"
    files = _builder().build_bundle(out, REPO)
    assert not [f for f in files if f.startswith("devstack/")], files
    listing = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(out)!r})\n"
        "import bridge, orders, timers, webhooks\n"
        "print(json.dumps({m.__name__: [[m.__file__, *r] for r in m.router.routes]\n"
        "                  for m in (webhooks, orders, bridge, timers)}))\n"
    )
    env = {"PATH": os.environ.get("PATH", ""), "LOCAL_DEV": "1", "DASHBOARD_PASSWORD": "a long enough passphrase"}
    result = subprocess.run([sys.executable, "-I", "-c", listing], cwd=out, env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    routes = json.loads(result.stdout.splitlines()[-1])
    assert routes["orders"] and all(file.startswith(str(out)) for rows in routes.values() for file, *_ in rows)
    dev = [(target, method, path) for target, rows in routes.items() for _, method, path in rows
           if path.startswith("/_dev")]
    assert dev == [], dev
