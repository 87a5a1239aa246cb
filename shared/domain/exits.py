"""Every automatic exit at its evaluation point (§8.3). Each fires at most one EXIT order and never while anything
is pending; an order is created in the same commit as the decision, so the original's "fallback local close" (a
trade closed locally with no broker order, §13.3.13) cannot happen here and is not built."""

from __future__ import annotations

from .core import Ctx, create_exit, may_exit, opposite_color


def points_take_profit_exit(ctx: Ctx, asset: str) -> bool:
    a = ctx.world.assets[asset]
    if not may_exit(a) or not a.points_tp_enabled:
        return False
    if a.points_tp_target <= 0 or a.rithmic_open_points < a.points_tp_target:
        return False
    create_exit(ctx, asset, "TAKE_PROFIT_POINTS", reason="points_take_profit")
    a.points_tp_hit_ts = ctx.now
    return True


def protect_exit(ctx: Ctx, asset: str) -> bool:
    a = ctx.world.assets[asset]
    if not may_exit(a) or not a.protect_enabled:
        return False
    if a.two_half_tp_lock_enabled or a.rithmic_open_points > a.protect_threshold_points:
        return False
    create_exit(ctx, asset, "PROTECT", reason="protect")
    a.protect_hit_ts = ctx.now
    return True


def signal_count_take_profit_exit(ctx: Ctx, asset: str) -> bool:
    """6PT NEXT: exit once `tp_count` reaches `tp_target`; the only rule the initial exit lock blocks."""
    a = ctx.world.assets[asset]
    if not may_exit(a) or not a.tp_armed or a.initial_exit_lock_active:
        return False
    if a.tp_target <= 0 or a.tp_count < a.tp_target:
        return False
    create_exit(ctx, asset, "TAKE_PROFIT", reason="signal_count_take_profit")
    return True


def main_flip_exit(ctx: Ctx, asset: str) -> bool:
    a = ctx.world.assets[asset]
    if not may_exit(a) or a.exit_mode != "A" or not (a.exit_tf == "main" or a.main_flip_exit_enabled):
        return False
    if a.main_renko_color != opposite_color(a.position):
        return False
    create_exit(ctx, asset, "EXIT_ENGINE", reason="renko_main_flip")
    return True


def high_next_bar_exit(ctx: Ctx, asset: str) -> bool:
    a = ctx.world.assets[asset]
    if not may_exit(a) or not a.high_next_bar_exit_enabled:
        return False
    if a.high_next_bar_exit_base_ts is not None and a.high_next_bar_exit_base_ts == a.high_renko_ts:
        return False  # armed before any 8pt bar (base None): the first one fires it (§13.3.15 trap fixed)
    create_exit(ctx, asset, "HIGH_NEXT_BAR_EXIT", reason="high_next_bar_exit")
    a.high_next_bar_exit_enabled = False
    a.high_next_bar_exit_started_ts = a.high_next_bar_exit_base_ts = None
    return True


def high_flip_exit(ctx: Ctx, asset: str) -> bool:
    a = ctx.world.assets[asset]
    if not may_exit(a) or a.exit_mode != "A" or a.exit_tf != "high":
        return False
    if a.high_renko_color != opposite_color(a.position):
        return False
    create_exit(ctx, asset, "EXIT_ENGINE_HIGH", reason="renko_high_flip")
    return True


def four_pt_invalidation_exit(ctx: Ctx, asset: str) -> bool:
    a = ctx.world.assets[asset]
    if not may_exit(a) or a.exit_mode != "A" or not a.four_pt_invalidation_enabled:
        return False
    if a.renko_color != opposite_color(a.position):
        return False
    create_exit(ctx, asset, "EXIT_ENGINE_4PT", reason="renko_4pt_invalidation")
    return True
