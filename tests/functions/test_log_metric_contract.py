"""The log-based metric `operatorlock/refused_entries` (deploy/terraform/monitoring.tf) counts the request lines of
refused order entries by reason code. Its filter names fields of the one request log line; this checks a refused
entry really logs them, so a renamed field cannot leave the metric silently empty."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import hcl2
import pytest

MONITORING_TF = Path(__file__).resolve().parents[2] / "deploy" / "terraform" / "monitoring.tf"


def _metric() -> dict[str, Any]:
    parsed = hcl2.loads(MONITORING_TF.read_text(encoding="utf-8"))
    for block in parsed["resource"]:
        for type_, instances in block.items():
            if type_.strip('"') == "google_logging_metric":
                for name, body in instances.items():
                    if name.strip('"') == "refused_entries":
                        return dict(body)
    raise AssertionError("no google_logging_metric.refused_entries")


def _json_conditions(metric: dict[str, Any]) -> dict[str, str]:
    """The `jsonPayload.<field> = "<value>"` terms of the metric's filter."""
    text = str(metric["filter"])
    text = (text[1:-1] if text.startswith('"') and text.endswith('"') else text).replace('\\"', '"')
    return dict(re.findall(r'jsonPayload\.(\w+) = "([^"]*)"', text))


def test_a_refused_entry_logs_what_the_metric_filters_and_extracts(app: Any,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    metric = _metric()
    conditions = _json_conditions(metric)
    assert set(conditions) == {"route", "method", "outcome"}, conditions
    extractors = metric["label_extractors"]
    code_field = re.fullmatch(r'"?EXTRACT\(jsonPayload\.(\w+)\)"?', str(extractors["code"]).strip('"'))
    assert code_field, extractors

    orders = app.client("orders")
    assert app.login().status_code == 200
    capsys.readouterr()
    # No heartbeat, no bars: the gates refuse the entry.
    response = orders.post("/api/orders", json={"asset": "ES", "trade_mode": "SCALP"})
    assert response.status_code in (403, 409, 423), response.get_json()
    refusal_code = response.get_json().get("code")
    assert refusal_code

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    matching = [line for line in lines if all(str(line.get(k)) == v for k, v in conditions.items())]
    assert len(matching) == 1, lines
    assert matching[0][code_field.group(1)] == refusal_code

    # An accepted request of the same route is not counted.
    capsys.readouterr()
    orders.get("/api/orders")
    later = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert not [line for line in later if all(str(line.get(k)) == v for k, v in conditions.items())]
