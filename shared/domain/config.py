"""Configuration of the rules: assets, contracts, sizes and every tunable number, as one frozen value.

Nothing here reads the environment: the shell builds a Config (usually `default_config()`) and passes it in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property

from . import fast

# Front quarterly months: H (Mar), M (Jun), U (Sep), Z (Dec).
QUARTER_MONTHS: tuple[tuple[int, str], ...] = ((3, "H"), (6, "M"), (9, "U"), (12, "Z"))
MONTH_CODES = "FGHJKMNQUVXZ"



@dataclass(frozen=True)
class Contract:
    """A futures contract's figures (D7)."""

    point_value: float   # dollars per point of one contract
    tick: float          # the minimum price increment, in points


# The contracts by root: the one table of point values and tick sizes. The dashboard reads them from `GET
# /api/state` (each asset's `contract`); docs/decisions.md D7 quotes the point values (tests/unit/test_catalog.py
# compares the two).
CONTRACTS: dict[str, Contract] = {
    "MES": Contract(point_value=5.0, tick=0.25),
    "ES": Contract(point_value=50.0, tick=0.25),
    "MNQ": Contract(point_value=2.0, tick=0.25),
    "NQ": Contract(point_value=20.0, tick=0.25),
}
_ROOTS_LONGEST_FIRST: tuple[str, ...] = tuple(sorted(CONTRACTS, key=len, reverse=True))   # MES is not ES


@dataclass(frozen=True)
class AssetSpec:
    key: str                     # UI asset key, e.g. "ES"
    name: str                    # display name
    roots: tuple[str, ...]       # symbol roots TradingView or the broker may use ("ES", "MES")
    traded_root: str             # the contract root orders are sent for ("MES")
    exchange: str = "CME"
    contract_override: str | None = None   # a fixed broker contract instead of the computed front month
    # a fill price outside this range is refused while no price of the asset is known yet (D19); wide on purpose:
    # it stops a broken bridge's 0.0 or 9,999,999, not a market move
    plausible_price: tuple[float, float] = (1.0, 1_000_000.0)
    protective_stop_points: float = 10.0   # the default distance of the resting stop (D21) and of an entry's worst case


# Where a fill of each index can plausibly be, before any price of it is known (D19): the S&P 500 E-mini traded
# 6,000-7,000 and the Nasdaq-100 20,000-26,000 in 2025-26; the ranges allow a fall to a third and a rise to about
# three times that, and still refuse a broken bridge's 0.0 or 9,999,999.
ES_PLAUSIBLE_PRICE = (2_000.0, 20_000.0)
NQ_PLAUSIBLE_PRICE = (6_000.0, 75_000.0)

# Bounds of a deployment's FILL_PRICE_BAND_PCT: tighter than 1 % refuses real fills in a fast market (the broker
# filled them all the same, so the control plane would lose track of a live position); wider than 25 % is no bound
# at all (CME halts the equity index futures at a 20 % move). A value outside keeps the default.
FILL_PRICE_BAND_PCT_RANGE = (1.0, 25.0)


@dataclass(frozen=True)
class Config:
    assets: dict[str, AssetSpec] = field(default_factory=dict)
    heartbeat_fresh_s: float = 600.0
    rithmic_fresh_s: float = 60.0
    price_silence_s: float = 120.0      # the watchdog: no TradingView heartbeat this long in session (D23)
    bridge_silence_s: float = 60.0      # the watchdog: no bridge heartbeat this long (D23)
    timer_late_s: float = 30.0          # the watchdog: its canary timer this late without firing = TIMERS_FAILING
    post_exit_cooldown_s: float = 180.0
    candle_s: int = 300
    order_lease_s: float = 200.0
    fill_price_band_pct: float = 10.0   # a reported fill price this far from the last known price is refused
    intent_max_age_s: float = 900.0
    entry_qty_default: int = 5          # entry_size_mode "6pt" (or anything else)
    entry_qty_9pt: int = 3              # entry_size_mode "9pt"
    scale_in_qty: int = 5
    max_trades_per_day: int = 6
    daily_stop_enabled: bool = True
    daily_stop_limit_pct: float = 30.0
    points_tp_default_target: float = 15.0
    protect_default_threshold: float = -2.0
    protect_thresholds: tuple[float, ...] = (-2.0, 0.5)
    tp_target_default: int = 3
    recent_bar_ids: int = 32            # webhook receipts kept per stream and asset (D6)
    events_ttl_days: int = 30
    roll_days_before_expiry: int = 8
    trading_day_start_hour: int = 18    # America/New_York (D4)

    @cached_property
    def asset_keys(self) -> tuple[str, ...]:
        """Every configured asset key, sorted: what an operator command or a snapshot loads."""
        return tuple(sorted(self.assets))

    @cached_property
    def asset_by_root(self) -> dict[str, str]:
        """Symbol root -> asset key (the first asset to name a root has it): what `normalise_asset` looks up."""
        out: dict[str, str] = {}
        for spec in self.assets.values():
            for root in spec.roots:
                out.setdefault(root, spec.key)
        return out


def default_config(contract_overrides: dict[str, str] | None = None) -> Config:
    overrides = contract_overrides or {}
    assets = {
        "ES": AssetSpec("ES", "S&P 500 Futures", ("ES", "MES"), "MES", contract_override=overrides.get("ES"),
                        plausible_price=ES_PLAUSIBLE_PRICE, protective_stop_points=10.0),
        "NQ": AssetSpec("NQ", "Nasdaq 100 Futures", ("NQ", "MNQ"), "MNQ", contract_override=overrides.get("NQ"),
                        plausible_price=NQ_PLAUSIBLE_PRICE, protective_stop_points=40.0),
    }
    return Config(assets=assets)


_SYMBOL_RE = re.compile(r"^(?P<root>[A-Z]+?)(?P<month>[FGHJKMNQUVXZ]\d{1,4})?(?P<cont>\d!)?$")


def normalise_asset(raw: object, config: Config) -> str | None:
    """Map any TradingView or broker spelling to an asset key (D6): ES, MES, ES1!, CME_MINI:MESZ2026, MESZ6 → ES."""
    if not isinstance(raw, str):
        return None
    text = _symbol_text(raw)
    if not text:
        return None
    if text in config.assets:
        return text
    root = _symbol_root(text)
    return None if root is None else config.asset_by_root.get(root)


@fast.remembered
def _symbol_text(raw: str) -> str:
    """A spelling without its exchange prefix, upper case (CME_MINI:mesz2026 -> MESZ2026)."""
    return raw.strip().upper().rsplit(":", 1)[-1]


@fast.remembered
def _symbol_root(text: str) -> str | None:
    """A contract spelling's root (MESZ6 -> MES)."""
    match = _SYMBOL_RE.match(text)
    return None if match is None else match.group("root")


def third_friday(year: int, month: int) -> date:
    first = date(year, month, 1)
    offset = (4 - first.weekday()) % 7  # Friday is weekday 4
    return first + timedelta(days=offset + 14)


def front_month(day: date, roll_days: int = 8) -> tuple[int, str]:
    """(year, month code) of the front quarterly contract on `day`, rolling `roll_days` before expiry."""
    year = day.year
    for _ in range(2):
        for month, code in QUARTER_MONTHS:
            if day < third_friday(year, month) - timedelta(days=roll_days):
                return year, code
        year += 1
    raise AssertionError("unreachable: a quarterly contract always exists within a year")  # pragma: no cover


def contract_for(asset: str, day: date, config: Config) -> str:
    """The broker contract for an asset on a (New York) date, e.g. MESZ6 (D7)."""
    spec = config.assets[asset]
    if spec.contract_override:
        return spec.contract_override
    year, code = front_month(day, config.roll_days_before_expiry)
    return f"{spec.traded_root}{code}{year % 10}"


def is_traded_contract(symbol: str, spec: AssetSpec) -> bool:
    """Whether a broker symbol is a month of the contract the asset trades (MESZ6, MESH7 for ES; not ESZ6)."""
    return _is_month_of(symbol, spec.traded_root)


@fast.remembered
def _is_month_of(symbol: str, root: str) -> bool:
    return _names_a_month(symbol.strip().upper(), root)


def _names_a_month(text: str, root: str) -> bool:
    """Whether upper-case `text` is `root` alone or `root` and a month code (MESZ6, MES; not MESA or ESZ6 for MES)."""
    rest = text[len(root):]
    return text.startswith(root) and (not rest or rest[0] in MONTH_CODES)


@fast.remembered
def contract_root(contract: str | None) -> str | None:
    """The root of a contract (MESZ6 -> MES, MES -> MES) among CONTRACTS', or None (ESA, an unknown root)."""
    if not contract:
        return None
    text = contract.upper()
    for root in _ROOTS_LONGEST_FIRST:
        if _names_a_month(text, root):
            return root
    return None


@fast.remembered
def point_value(contract: str | None) -> float:
    """Dollars per point of a contract by its root (CONTRACTS); unknown → 1.0."""
    root = contract_root(contract)
    return 1.0 if root is None else CONTRACTS[root].point_value


def tick_size(contract: str | None) -> float:
    """The minimum price increment of a contract by its root (CONTRACTS); unknown → 0.01 (rounds no level)."""
    root = contract_root(contract)
    return 0.01 if root is None else CONTRACTS[root].tick


def contract_view(spec: AssetSpec, contract: str | None) -> dict[str, object]:
    """What the dashboard shows of an asset's contract (D7): the broker's `contract` when it names a known one,
    else the root the asset trades; its point value and tick."""
    root = contract_root(contract) or spec.traded_root
    figures = CONTRACTS.get(root)
    if figures is None:   # an asset configured with a contract of no known figures: no dollar amounts shown
        return {"root": root, "point_value": None, "tick": None}
    return {"root": root, "point_value": figures.point_value, "tick": figures.tick}
