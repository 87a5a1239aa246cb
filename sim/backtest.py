"""What would the gates have allowed on this day, and what would it have earned?

    python -m sim.backtest [--csv FILE] [--profile NAME] --out DIR

Runs a price path through the pure domain in process (no emulator): the market's bricks and heartbeats, an
auto-operator profile and the paper bridge, in lock-step. Prints a summary (trades, win rate, P&L in $ and points,
max drawdown, refusals by gate code), writes `DIR/trades.csv` and `DIR/report.html` (the brick chart with entries and
exits, and the P&L curve, drawn by TradingView's lightweight-charts, inlined: the report opens offline). The same
input gives byte-identical outputs.
"""

from __future__ import annotations

import argparse
import csv
import html
import io
import json
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.domain.clock import NEW_YORK
from sim.paper import Market, PaperBridge, PaperConfig
from sim.renko import Brick, bricks
from sim.session import PROFILES, AutoOperator, Profile, Session, SessionConfig, SessionStats
from sim.sources import SourceError, Tick, load, sample_session
from sim.venue import BLACKOUTS, InProcess, LimitWatch

ROOT = Path(__file__).resolve().parents[1]
CHARTS_JS = ROOT / "node_modules" / "lightweight-charts" / "dist" / "lightweight-charts.standalone.production.js"
TRADE_COLUMNS = ("n", "asset", "side", "size", "symbol", "entry_time", "exit_time", "entry_price", "exit_price",
                 "pnl_points", "pnl_usd", "reason", "trade_mode")


@dataclass
class Result:
    """One backtest: the trades (as the control plane recorded them) and what the operator and the bridge saw."""

    profile: Profile
    ticks: list[Tick]
    trades: list[dict[str, Any]]
    session: SessionStats
    blocked: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    entries: int = 0
    decisions: int = 0
    risk: dict[str, Any] = field(default_factory=dict)
    limits: LimitWatch = field(default_factory=LimitWatch)

    @property
    def pnl_usd(self) -> float:
        return sum(float(t["pnl_usd"]) for t in self.trades)

    @property
    def pnl_points(self) -> float:
        return sum(float(t["pnl_points"]) for t in self.trades)

    @property
    def win_rate(self) -> float:
        return sum(float(t["pnl_usd"]) > 0 for t in self.trades) / len(self.trades) if self.trades else 0.0

    def curve(self) -> list[tuple[float, float]]:
        """Cumulative realized P&L in dollars after each trade, at its exit time."""
        total, out = 0.0, []
        for trade in self.trades:
            total += float(trade["pnl_usd"])
            out.append((float(trade["exit_ts"]), round(total, 2)))
        return out

    @property
    def max_drawdown(self) -> float:
        """The deepest fall of the cumulative realized P&L from its running peak (0 at the start), in dollars."""
        peak, deepest = 0.0, 0.0
        for _, total in self.curve():
            peak = max(peak, total)
            deepest = max(deepest, peak - total)
        return round(deepest, 2)


def run(ticks: list[Tick], profile: Profile, paper: PaperConfig | None = None,
        risk: Mapping[str, Any] | None = None) -> Result:
    """`risk`: the account's risk settings from the start (`--risk`), as `POST /api/risk` takes them. They and
    their blackout windows are applied at the data's first tick, as the replay adds them (sim.replay): a weekly
    window's chain starts there, and a one-off over by then is refused with the replay's 400, said here."""
    venue = InProcess(answers_state=False)   # the auto-operator reads the asset's facts, never an answer's state
    if ticks:
        venue.set_time(ticks[0].ts)
    if risk:
        status, body = venue.open_account(risk)
        if status != 200:
            error = str(body.get("error"))
            if body.get("code") == "INVALID_WINDOW":
                at = datetime.fromtimestamp(venue.now, NEW_YORK).isoformat()
                error = f"{BLACKOUTS}: {error} (judged at the data's first tick, {at})"
            raise ValueError(error)
    market = Market()
    bridge = PaperBridge(venue, market, paper or PaperConfig(heartbeat_every=30.0))
    operator = AutoOperator(venue, profile)
    stats = Session(venue, market, bridge, operator, SessionConfig()).run(ticks)
    return Result(profile, ticks, venue.trades(), stats, operator.stats.blocked, operator.stats.refused,
                  operator.stats.entries, venue.decisions, dict(risk or {}), venue.limits)


# ---- outputs ------------------------------------------------------------------------------------------------------


def _time(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


def trades_csv(result: Result) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(TRADE_COLUMNS)
    for n, t in enumerate(result.trades, 1):
        writer.writerow([n, t["asset"], t["side"], t["size"], t["symbol"], _time(t.get("entry_ts")),
                         _time(t.get("exit_ts")), f"{t['entry_price']:.2f}", f"{t['exit_price']:.2f}",
                         f"{t['pnl_points']:.2f}", f"{t['pnl_usd']:.2f}", t["reason"], t.get("trade_mode") or ""])
    return out.getvalue()


def summary_rows(result: Result) -> list[tuple[str, str]]:
    wins = sum(float(t["pnl_usd"]) > 0 for t in result.trades)
    rows = [
        ("profile", f"{result.profile.name} — {result.profile.description}"),
        ("ticks / bricks", f"{result.session.ticks} / {result.session.bricks}"),
        ("entries sent", str(result.entries)),
        ("trades closed", f"{len(result.trades)} ({wins} won, win rate {result.win_rate:.0%})"),
        ("P&L", f"${result.pnl_usd:,.2f} ({result.pnl_points:+.2f} points per contract, summed)"),
        ("max drawdown", f"${result.max_drawdown:,.2f}"),
        ("stopped out at the broker", str(sum(t["reason"] == "broker_stop" for t in result.trades))),
        ("exits by rule", ", ".join(f"{k} {v}" for k, v in sorted(Counter(t["reason"] for t in result.trades)
                                                                   .items())) or "—"),
        ("entry blocked by gate", ", ".join(f"{k} {v}" for k, v in sorted(result.blocked.items())) or "—"),
        ("commands refused", ", ".join(f"{k} {v}" for k, v in sorted(result.refused.items())) or "—"),
    ]
    settings = {k: v for k, v in result.risk.items() if k != BLACKOUTS}
    if settings:
        rows.append(("risk settings", ", ".join(f"{k} {v}" for k, v in sorted(settings.items()))))
    if BLACKOUTS in result.risk:
        rows.append(("blackout windows", "; ".join(_window_text(w) for w in result.risk[BLACKOUTS])))
    if result.risk:
        rows.extend(_limit_rows(result))
    return rows


def _window_text(w: Mapping[str, Any]) -> str:
    """A blackout window of the settings file as it was given (D22)."""
    days = f"{','.join(w['days'])} " if w.get("days") else ""
    lead = f", flatten {w['flatten_before_s']} s before" if w.get("flatten_before_s") is not None else ""
    return f"{w.get('label')}: {days}{w.get('start')} to {w.get('end')}{lead}"


LIMIT_NAMES = {"daily_loss_limit": "daily loss limit", "trailing_drawdown": "trailing drawdown"}


def _limit_rows(result: Result) -> list[tuple[str, str]]:
    """Each dollar limit that is on: the least room it had left after any snapshot, and when it was hit."""
    rows = []
    hits = {"DAILY_LOSS_LIMIT": "daily_loss_limit", "TRAILING_DRAWDOWN": "trailing_drawdown"}
    for limit, name in LIMIT_NAMES.items():
        closest = result.limits.closest_cents.get(limit)
        hit = [ts for ts, code in result.limits.breaches if hits[code] == limit]
        if closest is None and not hit:
            continue
        text = "never measured" if closest is None else f"closest approach: ${closest / 100:,.2f} left"
        if hit:
            text += f"; BREACHED at {_time(hit[0])} UTC (flattened, entries locked)"
        rows.append((name, text))
    return rows


def print_summary(result: Result, out: Any = None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Backtest", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for name, value in summary_rows(result):
        table.add_row(name, value)
    Console(file=out).print(table)


def report_html(result: Result, chart_box: float = 4.0) -> str:
    """The brick chart of one box size with entry and exit markers, and the P&L curve. Every brick is one chart
    step (bricks have no duration of their own), its real time shown in the tooltip-free legend below."""
    if not CHARTS_JS.is_file():
        raise FileNotFoundError(f"{CHARTS_JS} is missing: run `make install` (it installs the npm packages)")
    chart = bricks(result.ticks, chart_box)
    data = {
        "bricks": [{"time": i + 1, "open": b.open, "high": max(b.open, b.close), "low": min(b.open, b.close),
                    "close": b.close} for i, b in enumerate(chart)],
        "markers": _markers(chart, result.trades),
        "curve": _curve_points(result),
        "box": chart_box,
    }
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in summary_rows(result))
    trades = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in line) + "</tr>"
        for line in list(csv.reader(io.StringIO(trades_csv(result))))[1:])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in TRADE_COLUMNS)
    return _PAGE.format(
        title=html.escape(f"Backtest — {result.profile.name}"), summary=rows, head=head, trades=trades,
        box=chart_box, charts=CHARTS_JS.read_text(encoding="utf-8"),
        data=json.dumps(data, sort_keys=True, separators=(",", ":")).replace("</", "<\\/"),
    )


def _brick_at(chart: list[Brick], ts: float) -> int:
    """The chart step of the last brick formed at or before `ts` (1-based; 1 before the first)."""
    step = 1
    for i, brick in enumerate(chart):
        if brick.ts > ts:
            break
        step = i + 1
    return step


def _markers(chart: list[Brick], trades: list[dict[str, Any]]) -> list[dict[str, Any]]:
    marks = []
    for t in trades:
        long = t["side"] == "LONG"
        if t.get("entry_ts") is not None:
            marks.append({"time": _brick_at(chart, float(t["entry_ts"])), "position": "belowBar" if long else
                          "aboveBar", "color": "#2962ff", "shape": "arrowUp" if long else "arrowDown",
                          "text": f"{'BUY' if long else 'SELL'} {t['entry_price']:.2f}"})
        marks.append({"time": _brick_at(chart, float(t["exit_ts"])), "position": "aboveBar" if long else "belowBar",
                      "color": "#26a69a" if float(t["pnl_usd"]) > 0 else "#ef5350", "shape": "circle",
                      "text": f"{t['reason']} {t['pnl_usd']:+.0f}$"})
    return sorted(marks, key=lambda m: m["time"])


def _curve_points(result: Result) -> list[dict[str, Any]]:
    """The P&L curve on a time axis: 0 at the first tick, then each trade's cumulative result (one point a second
    at most: the chart needs strictly increasing times)."""
    points: dict[int, float] = {}
    if result.ticks:
        points[int(result.ticks[0].ts)] = 0.0
    for ts, total in result.curve():
        points[int(ts)] = total
    return [{"time": t, "value": v} for t, v in sorted(points.items())]


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body{{font:14px system-ui,sans-serif;margin:24px;color:#1d2330}} table{{border-collapse:collapse;margin:12px 0}}
th,td{{border:1px solid #d6dae3;padding:4px 8px;text-align:left}} .chart{{height:420px;margin:12px 0}}
</style></head><body>
<h1>{title}</h1>
<table>{summary}</table>
<h2>{box}-point bricks, entries and exits</h2><div id="bricks" class="chart"></div>
<h2>Realized P&amp;L ($)</h2><div id="curve" class="chart"></div>
<h2>Trades</h2><table><tr>{head}</tr>{trades}</table>
<script>{charts}</script>
<script>
const DATA = {data};
const LC = LightweightCharts;
const bricks = LC.createChart(document.getElementById("bricks"), {{timeScale: {{tickMarkFormatter: t => "#" + t}},
  localization: {{timeFormatter: t => "brick " + t}}}});
const series = bricks.addSeries(LC.CandlestickSeries, {{upColor: "#26a69a", downColor: "#ef5350",
  wickVisible: false, borderVisible: false}});
series.setData(DATA.bricks);
LC.createSeriesMarkers(series, DATA.markers);
bricks.timeScale().fitContent();
const curve = LC.createChart(document.getElementById("curve"), {{timeScale: {{timeVisible: true}}}});
curve.addSeries(LC.BaselineSeries, {{baseValue: {{type: "price", price: 0}}}}).setData(DATA.curve);
curve.timeScale().fitContent();
</script></body></html>
"""


def write_outputs(result: Result, out_dir: Path, chart_box: float = 4.0) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "trades.csv", out_dir / "report.html"]
    paths[0].write_text(trades_csv(result), encoding="utf-8")
    paths[1].write_text(report_html(result, chart_box), encoding="utf-8")
    return paths


def load_risk(given: str) -> dict[str, Any]:
    """A preset by id, else a JSON file: a preset (its `settings`) or the settings themselves."""
    from shared.service.presets import preset

    named = preset(given)
    if named is not None:
        return dict(named["settings"])
    data = json.loads(Path(given).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{given}: expected a JSON object of risk settings")
    settings = data.get("settings", data)
    if not isinstance(settings, dict):
        raise ValueError(f"{given}: settings: expected an object")
    return dict(settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.backtest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", type=Path, help="a TradingView export or a ts,price file (default: the sample)")
    parser.add_argument("--profile", default="tp8-flip", choices=sorted(PROFILES))
    parser.add_argument("--out", type=Path, required=True, help="where trades.csv and report.html go")
    parser.add_argument("--chart-box", type=float, default=4.0, help="the brick size the report draws")
    parser.add_argument("--seed", type=int, default=1, help="the paper bridge's random seed")
    parser.add_argument("--stops", action="store_true", help="the paper bridge rests protective stops (D21)")
    parser.add_argument("--risk", help="risk settings from the start: a preset id (GET /api/risk/presets) or a JSON "
                                       "file (a preset, or an object of settings as POST /api/risk takes them, "
                                       "trading_hours included, and `blackouts`: windows as POST /api/calendar "
                                       "takes them; e.g. sim/data/sample_gates.json)")
    args = parser.parse_args(argv)
    try:
        ticks = load(args.csv) if args.csv else sample_session()
    except SourceError as exc:
        print(f"backtest: {exc}", file=sys.stderr)
        return 2
    try:
        risk = load_risk(args.risk) if args.risk else None
        paper = PaperConfig(heartbeat_every=30.0, seed=args.seed, stops=args.stops)
        result = run(ticks, PROFILES[args.profile], paper, risk)
    except (OSError, ValueError) as exc:
        print(f"backtest: --risk: {exc}", file=sys.stderr)
        return 2
    print_summary(result)
    try:
        for path in write_outputs(result, args.out, args.chart_box):
            print(f"wrote {path}")
    except FileNotFoundError as exc:
        print(f"backtest: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
