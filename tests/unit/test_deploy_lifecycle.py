"""Issue 22 statically: deploy, tear down, deploy again. Names Google keeps reserved after a delete carry a suffix
from the state, the source bucket goes with a destroy (every version) and the state bucket is never Terraform's,
the build account writes its own buckets only, the bridge secret stays out of URLs unless a legacy bridge needs it,
the timers' OIDC audience is the run.app URL, and alerts fire on silence and on failing timers."""

from __future__ import annotations

import re

import pytest

from tests.unit.test_deploy_config import REPO, Terraform, _block, _iam_grants, _load_terraform

GUIDE = REPO / "deploy" / "README.md"


@pytest.fixture(scope="module")
def tf() -> Terraform:
    return _load_terraform()


def _unescape(text: str) -> str:
    return text.replace('\\"', '"')


# --- item 4: names the cloud reserves ------------------------------------------------------------------------

def test_reserved_names_carry_a_suffix_from_the_state(tf: Terraform) -> None:
    assert tf.locals["suffix"] == "${random_id.names.hex}"
    suffix_source = tf.resources[("random_id", "names")]
    assert int(suffix_source["byte_length"]) >= 3 and "keepers" not in suffix_source, "stable for one deployment"
    key = tf.resources[("google_apikeys_key", "firebase_web")]
    queue = tf.resources[("google_cloud_tasks_queue", "timers")]
    assert key["name"].endswith("-${local.suffix}"), key["name"]
    assert queue["name"].endswith("-${local.suffix}"), queue["name"]
    for body in (key, queue):  # the renamed one exists before the old one goes
        assert _block(body, "lifecycle")["create_before_destroy"] is True
    # the functions find the queue by its (suffixed) name, never a literal
    assert tf.locals["function_env"]["CLOUD_TASKS_QUEUE"] == "${google_cloud_tasks_queue.timers.name}"
    providers: dict[str, dict[str, str]] = {}
    for block in tf.terraform_blocks:
        for required in block.get("required_providers", []):
            providers.update(required)
    assert providers["random"]["source"] == "hashicorp/random"
    assert re.fullmatch(r"\d+\.\d+\.\d+", providers["random"]["version"])


def test_no_other_reserved_name_is_a_bare_literal(tf: Terraform) -> None:
    # Ids the cloud frees at once on delete may stay fixed: secrets, service accounts, buckets, alert policies.
    # These two are the ones that stay reserved (API keys ~30 days, queues up to 3 days).
    for (type_, name), body in tf.resources.items():
        if type_ in ("google_apikeys_key", "google_cloud_tasks_queue"):
            assert "${local.suffix}" in body["name"], f"{type_}.{name}"


# --- item 3: teardown -----------------------------------------------------------------------------------------

def test_the_source_bucket_goes_with_a_destroy_and_the_state_bucket_is_never_managed(tf: Terraform) -> None:
    buckets = {name: body for (type_, name), body in tf.resources.items() if type_ == "google_storage_bucket"}
    assert set(buckets) == {"source"}, "Terraform manages one bucket: the bundles"
    source = buckets["source"]
    assert source["force_destroy"] is True, "a destroy deletes every object and noncurrent version"
    assert _block(source, "versioning")["enabled"] is True
    assert "tfstate" not in source["name"]
    for text in tf.texts.values():
        assert "tfstate" not in text.replace("Terraform state", ""), "the state bucket is not Terraform's own"


def test_the_guide_deletes_noncurrent_versions_and_guards_the_state_bucket() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    teardown = guide[guide.index("## 9. Teardown"):guide.index("## 10.")]
    # a state from before force_destroy: the bucket must be emptied of every version by hand
    assert re.search(r"gcloud storage rm --recursive --all-versions \"gs://\$PROJECT-operatorlock-source", teardown)
    assert 'gs://…/**"' not in guide and '-source/**"' not in guide, "a /** glob deletes live versions only"
    assert "scripts/teardown.sh" in teardown
    script = (REPO / "scripts" / "teardown.sh").read_text(encoding="utf-8")
    assert "tfstate" in script and "terraform" in script and "destroy" in script
    # what remains is said
    for remains in ("Identity Platform", "operator account", "indexes", "TTL"):
        assert remains in teardown, remains


# --- item 6: the build account --------------------------------------------------------------------------------

def test_the_build_account_may_write_its_own_buckets_only(tf: Terraform) -> None:
    build = "serviceAccount:${google_service_account.build.email}"
    storage = [(a, b) for a, b in _iam_grants(tf) if b.get("member") == build and "storage" in b["role"]]
    assert len(storage) == 1, storage
    address, grant = storage[0]
    condition = _block(grant, "condition")
    assert condition["expression"] == "${local.build_bucket_condition}", address
    expression = _unescape(tf.locals["build_bucket_condition"])
    allowed = re.findall(r'resource\.name(?: == |\.startsWith\()"([^"]+)"', expression)
    assert allowed, expression
    source = "projects/_/buckets/${google_storage_bucket.source.name}"
    assert source in allowed and f"{source}/" in allowed, "the bucket and its objects, no sibling by prefix"
    for prefix in allowed:
        assert prefix.startswith("projects/_/buckets/"), prefix
        assert prefix.removeprefix("projects/_/buckets/") not in ("", "${var.project_id}"), prefix
        assert "tfstate" not in prefix
        assert prefix in (source, f"{source}/") or prefix.startswith(
            "projects/_/buckets/gcf-v2-sources-${data.google_project.current.number}-"), prefix
    # no unconditional storage role anywhere for it
    for _, body in _iam_grants(tf):
        if body.get("member") == build and body["role"].startswith("roles/storage"):
            assert "condition" in body
    assert "build_storage" in str(tf.resources[("time_sleep", "build_iam_propagation")]["triggers"])


# --- item 7: the bridge secret in a URL -----------------------------------------------------------------------

def test_the_query_secret_is_off_unless_the_operator_allows_a_legacy_bridge(tf: Terraform) -> None:
    variable = tf.variables["legacy_bridge_query_auth"]
    assert variable["default"] is False and variable["type"] in ("bool", "${bool}")
    bridge = tf.locals["function_extra_env"]["bridge"]
    assert bridge["ALLOW_SECRET_IN_QUERY"] == '${var.legacy_bridge_query_auth ? "1" : "0"}'
    for name, env in tf.locals["function_extra_env"].items():
        if name != "bridge":
            assert "ALLOW_SECRET_IN_QUERY" not in env, name
    guide = GUIDE.read_text(encoding="utf-8")
    assert "legacy_bridge_query_auth" in guide and "SECRET_IN_QUERY" in guide and "X-Bridge-Secret" in guide


# --- item 5: alerts and the timers' audience ------------------------------------------------------------------

def _condition(tf: Terraform, name: str) -> tuple[str, dict[str, object]]:
    policy = tf.resources[("google_monitoring_alert_policy", name)]
    assert policy["count"] == "${var.enable_alerts ? 1 : 0}", name
    assert policy["notification_channels"] == "${local.notification_channels}", name
    conditions = _block(policy, "conditions")
    (kind,) = [k for k in conditions if k.startswith("condition_")]
    body = dict(_block(conditions, kind))
    body["filter"] = _unescape(str(body["filter"]))
    return kind, body


@pytest.mark.parametrize(("name", "service", "variable", "default"), [
    ("bridge_silent", "bridge", "alert_bridge_silent_seconds", 300),
    ("price_feed_silent", "webhooks", "alert_price_feed_silent_seconds", 4500),
])
def test_silence_alerts(tf: Terraform, name: str, service: str, variable: str, default: int) -> None:
    kind, condition = _condition(tf, name)
    assert kind == "condition_absent", "silence is the absence of requests, not a threshold on them"
    assert f'resource.labels.service_name = "{service}"' in str(condition["filter"])
    assert 'metric.type = "run.googleapis.com/request_count"' in str(condition["filter"])
    assert condition["duration"] == f"${{var.{variable}}}s"
    assert tf.variables[variable]["default"] == default
    # the bridge heartbeats every 10 s: its alert must fire within minutes, the feed's after the daily break
    assert (default <= 600) if service == "bridge" else (3600 < default <= 7200)


def test_failing_timers_alert(tf: Terraform) -> None:
    kind, condition = _condition(tf, "timers_failing")
    assert kind == "condition_threshold"
    text = str(condition["filter"])
    assert 'service_name = "timers"' in text and 'response_code_class != "2xx"' in text, text
    assert condition["threshold_value"] == 0 and condition["comparison"] == "COMPARISON_GT"


def test_timers_tokens_name_the_run_app_audience(tf: Terraform) -> None:
    assert tf.locals["timers_audience"] == (
        "https://timers-${data.google_project.current.number}.${var.region}.run.app")
    assert tf.locals["function_env"]["TIMERS_AUDIENCE"] == "${local.timers_audience}"
    assert ("google_project", "current") in tf.data and "count" not in tf.data[("google_project", "current")]
