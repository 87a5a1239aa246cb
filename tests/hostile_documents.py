"""Hostile stored documents (issue 7, item 2), shared by the fake-store tier (tests/functions) and the real emulator
(tests/emulator): values written before the input checks existed, or by hand in the console."""

from __future__ import annotations

import math
from typing import Any

INF = math.inf

# every read route of the operator API
READS = ["/api/state", "/api/state?include=history,logs", "/api/gates?asset=ES", "/api/gates?asset=NQ",
         "/api/history", "/api/logs", "/api/logs?asset=ES", "/api/orders", "/api/risk", "/api/session-window",
         "/api/auth/status"]

NON_FINITE: dict[str, dict[str, Any]] = {
    "trades/t1": {"id": "t1", "asset": "ES", "pnl_usd": -INF, "exit_ts": 1.0, "pnl_points": math.nan},
    "events/e1": {"ts": 1.0, "asset": "ES", "type": "renko_bar", "status": 200,
                  "input": {"x": INF, "stream": "6pt", "color": "green"}},
    "orders/ES-x-1": {"id": "ES-x-1", "asset": "ES", "status": "WORKING", "created_at": 1.0, "qty": 5,
                      "avg_fill_price": INF, "lease_until": INF, "symbol": "MESZ5", "side": "BUY",
                      "kind": "ENTRY", "source": "UI", "env": "DEMO"},
    "console/global": {"rithmic_account_balance": INF, "equity": -INF, "daily_start_equity": math.nan,
                       "daily_pnl_pct": INF, "rithmic_last_ts": INF},
    "assets/ES": {"last_price": INF, "position": 5, "avg_price": -INF, "pnl": math.nan,
                  "rithmic_open_points": INF, "last_heartbeat_ts": INF, "main_renko_ts": -INF,
                  "points_tp_target": INF},
}

WRONG_TYPES: dict[str, dict[str, Any]] = {
    "trades/t1": {"id": 5, "asset": ["ES"], "pnl_usd": "x", "exit_ts": "yesterday"},
    "events/e1": {"ts": "x", "asset": "ES", "type": {"a": 1}, "input": "x", "status": "200"},
    "orders/ES-x-1": {"id": "ES-x-1", "asset": "ES", "status": 7, "created_at": "x", "lease_until": "soon",
                      "qty": "abc", "filled_qty": None},
    "console/global": {"rithmic_account_balance": "x", "equity": None, "daily_start_equity": "y",
                       "trades_taken_today": "3", "max_trades_per_day": None, "rithmic_bridge": "nope"},
    "assets/ES": {"last_price": "x", "position": "abc", "avg_price": [], "pnl": {}, "last_heartbeat_ts": "t",
                  "main_renko_ts": "x", "tempo_spent_ts": "y", "intent_active": "yes"},
}


def with_fields(docs: dict[str, dict[str, Any]], extra: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """`docs` with some fields added or replaced per document (a tier's own hostile values)."""
    return {path: {**data, **extra.get(path, {})} for path, data in docs.items()}
