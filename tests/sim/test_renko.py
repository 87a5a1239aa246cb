"""Renko bricks: worked examples computed by hand, and properties of the builder over random paths.

Paths are generated in integer 0.25 ticks (MES) so the expected values are exact; the oracle below is a deliberately
naive one-brick-at-a-time state machine on those integers, independent of the builder's level arithmetic.
"""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.renko import BOX_SIZES, MAX_BRICKS_PER_PRICE, Brick, RenkoBuilder, bricks, merged
from sim.sources import Tick

QUARTER_BOXES = tuple(round(b * 4) for b in BOX_SIZES)  # 4, 10, 16, 24, 32, 48


def path(*prices: float) -> list[Tick]:
    """Ticks one second apart, ts = the tick's position, so a brick's ts says which price completed it."""
    return [Tick(float(i), p) for i, p in enumerate(prices)]


def edges(bs: list[Brick]) -> list[tuple[float, float, float]]:
    return [(b.open, b.close, b.ts) for b in bs]


def reference(quarters: list[int], box: int) -> list[tuple[int, int, int]]:
    """(open, close, tick position) in quarter ticks, one brick per loop turn, straight from the quoted rules."""
    out: list[tuple[int, int, int]] = []
    anchor: int | None = None
    last: tuple[int, int] | None = None
    for i, q in enumerate(quarters):
        if anchor is None:
            anchor = q // box * box
            continue
        while True:
            if last is None:
                if q >= anchor + box:
                    last = (anchor, anchor + box)
                elif q <= anchor - box:
                    last = (anchor, anchor - box)
                else:
                    break
            else:
                o, c = last
                if c > o and q >= c + box:
                    last = (c, c + box)
                elif c > o and q <= o - box:  # one box beyond the open: two from the close
                    last = (o, o - box)
                elif c < o and q <= c - box:
                    last = (c, c - box)
                elif c < o and q >= o + box:
                    last = (o, o + box)
                else:
                    break
            out.append((*last, i))
    return out


# --- worked examples ---------------------------------------------------------------------------------------------


def test_box_1_continuation_reversal_and_no_brick_inside_the_band() -> None:
    got = bricks(path(100.0, 100.5, 101.0, 102.5, 101.0, 100.0, 99.25, 101.75, 102.0), 1.0)
    # 100.0 anchors at 100. 100.5: nothing. 101.0 reaches 100 + 1: green 100→101 (ts 2).
    # 102.5: close 101 + 1 = 102 reached, 103 not: green 101→102 (ts 3).
    # 101.0: a red brick needs the open 101 - 1 = 100: nothing. 100.0: reversal red 101→100 (ts 5), opening at the
    # last brick's open. 99.25: continuation needs 99: nothing. 101.75: reversal needs the open 101 + 1 = 102: nothing.
    # 102.0: green 101→102 (ts 8).
    assert edges(got) == [(100.0, 101.0, 2.0), (101.0, 102.0, 3.0), (101.0, 100.0, 5.0), (101.0, 102.0, 8.0)]
    assert [b.color for b in got] == ["green", "green", "red", "green"]
    assert [b.index for b in got] == [0, 1, 2, 3]


def test_box_2_5_gap_emits_every_brick_in_order_with_one_ts() -> None:
    got = bricks(path(6001.0, 6008.0, 6000.0), 2.5)
    # 6001 anchors at floor(6001 / 2.5) * 2.5 = 6000. 6008 is 3.2 boxes up: 6000→6002.5→6005→6007.5, all at ts 1.
    # 6000: reversal needs 6007.5 - 5 = 6002.5; it goes on to 6000: red 6005→6002.5, 6002.5→6000 at ts 2.
    assert edges(got) == [
        (6000.0, 6002.5, 1.0), (6002.5, 6005.0, 1.0), (6005.0, 6007.5, 1.0),
        (6005.0, 6002.5, 2.0), (6002.5, 6000.0, 2.0),
    ]


def test_first_brick_needs_the_anchor_plus_or_minus_one_box() -> None:
    got = bricks(path(6003.0, 5997.0, 5996.0, 6003.75, 6004.0), 4.0)
    # 6003 anchors at 6000 (floor(6003 / 4) = 1500). 5997: the first red brick needs 6000 - 4 = 5996: nothing.
    # 5996: red 6000→5996 (ts 2). 6003.75: a green needs 6000 + 4 = 6004: nothing. 6004: green 6000→6004 (ts 4).
    assert edges(got) == [(6000.0, 5996.0, 2.0), (6000.0, 6004.0, 4.0)]


def test_first_brick_up_from_an_off_grid_start() -> None:
    # 6010.75 anchors at 6000 for box 12: the first green needs 6012 (just 1.25 away), the first red 5988.
    assert edges(bricks(path(6010.75, 6011.75, 6012.0), 12.0)) == [(6000.0, 6012.0, 2.0)]
    assert bricks(path(6010.75, 5988.25), 12.0) == []
    assert edges(bricks(path(6010.75, 5988.0), 12.0)) == [(6000.0, 5988.0, 1.0)]


def test_red_trend_continues_and_reverses_two_boxes_up() -> None:
    got = bricks(path(50.0, 44.0, 45.75, 46.0, 42.0, 43.5, 44.0, 48.0), 2.0)
    # anchor 50; 44: red 50→48→46→44 (ts 1). 45.75: nothing (reversal needs the open 46 + 2 = 48).
    # 46: nothing either. 42: continuation 44→42 (ts 4). 43.5: nothing. 44: nothing (needs 44 + 2 = 46).
    # 48: reversal green 44→46, 46→48 (ts 7).
    assert edges(got) == [
        (50.0, 48.0, 1.0), (48.0, 46.0, 1.0), (46.0, 44.0, 1.0), (44.0, 42.0, 4.0),
        (44.0, 46.0, 7.0), (46.0, 48.0, 7.0),
    ]


def test_a_price_exactly_on_the_edge_completes_the_brick() -> None:
    assert len(bricks(path(6000.0, 6000.99), 1.0)) == 0
    assert len(bricks(path(6000.0, 6001.0), 1.0)) == 1
    assert len(bricks(path(6000.0, 5999.0), 1.0)) == 1


def test_2_5_box_stays_on_its_grid_after_many_bricks() -> None:
    # 400 swings of 25 points: a float accumulating 2.5 would be expected to drift; edges are level * 2.5, so exact.
    prices = [6000.0] + [6025.0 if i % 2 == 0 else 6000.0 for i in range(400)]
    got = bricks(path(*prices), 2.5)
    assert len(got) == 10 + 399 * 9  # the first leg is 10 boxes; each reversal after that 9 (opens one box back)
    assert all((b.open / 2.5).is_integer() and (b.close / 2.5).is_integer() for b in got)
    assert {b.open for b in got} | {b.close for b in got} == {6000.0 + 2.5 * k for k in range(11)}


def test_brick_color_and_bar_id() -> None:
    b = Brick(box=4.0, index=17, open=6000.0, close=5996.0, ts=1794931234.75)
    assert b.color == "red"
    assert b.bar_id == "1794931234-17"
    assert Brick(box=4.0, index=0, open=6000.0, close=6004.0, ts=1.0).color == "green"


def test_builder_refuses_bad_boxes_and_prices() -> None:
    for box in (0, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="box"):
            RenkoBuilder(box)
    builder = RenkoBuilder(1.0)
    for price in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match="finite"):
            builder.update(0.0, price)
    builder.update(0.0, 6000.0)
    with pytest.raises(ValueError, match="finite"):
        builder.update(0.0, math.nan)
    assert builder.update(1.0, 6001.0)[0].close == 6001.0  # a refused price leaves the state as it was


def test_a_jump_over_the_cap_is_refused_without_changing_state() -> None:
    builder = RenkoBuilder(1.0)
    builder.update(0.0, 6000.0)
    with pytest.raises(ValueError, match="jumps"):
        builder.update(1.0, 6000.0 + MAX_BRICKS_PER_PRICE + 1)  # cents read as points, say
    assert builder.count == 0
    assert len(builder.update(2.0, 6000.0 + MAX_BRICKS_PER_PRICE)) == MAX_BRICKS_PER_PRICE


def test_merged_orders_by_box_then_index_and_yields_every_tick() -> None:
    ticks = path(6000.0, 6000.5, 6013.0, 5990.0)
    out = list(merged(ticks))
    assert [t for t, _ in out] == ticks
    assert out[0][1] == [] and out[1][1] == []
    for _, done in out:
        assert done == sorted(done, key=lambda b: (b.box, b.index))
    for box in BOX_SIZES:
        assert [b for _, done in out for b in done if b.box == box] == bricks(ticks, box)
    # 6013 completes 13 bricks of 1, 5 of 2.5, 3 of 4, 2 of 6, 1 of 8 and 1 of 12
    assert [sum(b.box == box for b in out[2][1]) for box in BOX_SIZES] == [13, 5, 3, 2, 1, 1]


def test_merged_refuses_repeated_boxes() -> None:
    with pytest.raises(ValueError, match="repeat"):
        list(merged(path(1.0), boxes=(1.0, 2.0, 1.0)))


# --- properties ----------------------------------------------------------------------------------------------------

# A walk in quarter ticks around 6000 with mostly small steps and some gaps of many boxes.
steps = st.lists(
    st.one_of(st.integers(-8, 8), st.integers(-8, 8), st.integers(-400, 400)), min_size=0, max_size=120
)
starts = st.integers(23_000, 25_000)
PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def walk(start: int, moves: list[int]) -> list[int]:
    return list(itertools.accumulate(moves, initial=start))


def ticks_of(quarters: list[int]) -> list[Tick]:
    return [Tick(float(i), q / 4) for i, q in enumerate(quarters)]


@PROPS
@given(starts, steps)
def test_matches_the_one_brick_at_a_time_reference(start: int, moves: list[int]) -> None:
    quarters = walk(start, moves)
    for box, qbox in zip(BOX_SIZES, QUARTER_BOXES, strict=True):
        got = [(round(b.open * 4), round(b.close * 4), int(b.ts)) for b in bricks(ticks_of(quarters), box)]
        assert got == reference(quarters, qbox)


@PROPS
@given(starts, steps)
def test_contiguous_on_the_grid_one_box_each_and_reversals_need_two_boxes(start: int, moves: list[int]) -> None:
    quarters = walk(start, moves)
    for box in BOX_SIZES:
        got = bricks(ticks_of(quarters), box)
        assert [b.index for b in got] == list(range(len(got)))
        for b in got:
            assert abs(b.close - b.open) == box
            assert (b.open / box).is_integer() and (b.close / box).is_integer()
            price = quarters[int(b.ts)] / 4
            assert price >= b.close if b.color == "green" else price <= b.close  # the price reached the close
        if got:
            anchor = math.floor(quarters[0] / 4 / box) * box
            assert got[0].open == anchor
        for prev, b in itertools.pairwise(got):
            assert b.ts >= prev.ts
            if b.color == prev.color:
                assert b.open == prev.close
            else:
                assert b.open == prev.open  # a reversal opens at the last brick's open...
                reached = quarters[int(b.ts)] / 4
                # ...and only once price went one box beyond that open: two boxes from the last close
                assert abs(reached - prev.close) >= 2 * box


@PROPS
@given(starts, steps)
def test_no_brick_is_left_out_every_price_ends_inside_the_quiet_band(start: int, moves: list[int]) -> None:
    quarters = walk(start, moves)
    for box in BOX_SIZES:
        builder = RenkoBuilder(box)
        last: Brick | None = None
        anchor = math.floor(quarters[0] / 4 / box) * box
        for i, q in enumerate(quarters):
            done = builder.update(float(i), q / 4)
            last = done[-1] if done else last
            price = q / 4
            if last is None:
                assert anchor - box < price < anchor + box
            elif last.color == "green":
                assert last.close - 2 * box < price < last.close + box
            else:
                assert last.close - box < price < last.close + 2 * box
        if last is not None:
            assert abs(last.close - quarters[-1] / 4) < 2 * box


@PROPS
@given(starts, steps)
def test_a_fast_move_gives_the_same_bricks_as_the_slow_path_through_every_tick(start: int, moves: list[int]) -> None:
    quarters = walk(start, moves)
    slow = [quarters[0]]
    for q in quarters[1:]:
        direction = 1 if q > slow[-1] else -1
        slow.extend(range(slow[-1] + direction, q + direction, direction) if q != slow[-1] else [q])
    for box in BOX_SIZES:
        fast_bricks = [(b.open, b.close) for b in bricks(ticks_of(quarters), box)]
        assert fast_bricks == [(b.open, b.close) for b in bricks(ticks_of(slow), box)]


@PROPS
@given(starts, steps)
def test_update_bricks_and_merged_agree_and_are_deterministic(start: int, moves: list[int]) -> None:
    ticks = ticks_of(walk(start, moves))
    by_merged = [b for _, done in merged(ticks) for b in done]
    for box in BOX_SIZES:
        builder = RenkoBuilder(box)
        one_by_one = [b for t in ticks for b in builder.update(t.ts, t.price)]
        assert one_by_one == bricks(ticks, box) == bricks(iter(ticks), box)
        assert [b for b in by_merged if b.box == box] == one_by_one
        assert builder.count == len(one_by_one)
        ids = [b.bar_id for b in one_by_one]
        assert len(set(ids)) == len(ids)
    assert by_merged == [b for _, done in merged(ticks) for b in done]


@PROPS
@given(steps)
def test_bigger_boxes_give_no_more_bricks_on_a_common_grid(moves: list[int]) -> None:
    # Every box size divides 120 points, so a start at 6000 anchors all six grids on one price. (From an arbitrary
    # start each box anchors on its own grid and a bigger box can form its first brick first: 5975 → 5976 is a brick
    # of 1 and of 4, anchored at 5972, but none of 2.5.)
    quarters = walk(24_000, moves)
    counts = [len(bricks(ticks_of(quarters), box)) for box in BOX_SIZES]
    assert counts == sorted(counts, reverse=True)


def test_bigger_boxes_can_form_first_from_an_off_grid_start() -> None:
    assert [len(bricks(path(5975.0, 5976.0), box)) for box in (1.0, 2.5, 4.0)] == [1, 0, 1]


@PROPS
@given(st.sampled_from([0.1, 0.3, 0.7, 1.1, 0.05, 2.5, 1.0]), st.integers(-5_000, 200_000))
def test_edges_are_exact_for_boxes_a_float_cannot_hold(box: float, k: int) -> None:
    # Brick edges are level * box; a price one ulp short of an edge must not complete it, whatever price / box rounds
    # to (0.3 / 0.1 is 2.9999999999999996, and 3 * 0.1 is 0.30000000000000004).
    up_edge, down_edge = (k + 1) * box, (k - 1) * box
    builder = RenkoBuilder(box)
    assert builder.update(0.0, k * box) == []
    assert builder.update(1.0, math.nextafter(up_edge, -math.inf)) == []
    assert builder.update(2.0, math.nextafter(down_edge, math.inf)) == []
    [brick] = builder.update(3.0, up_edge)
    assert (brick.open, brick.close) == (k * box, up_edge)
    assert builder.update(4.0, math.nextafter(down_edge, math.inf)) == []  # a reversal needs two boxes
    assert len(builder.update(5.0, down_edge)) == 1


@pytest.mark.parametrize(
    ("box", "price"),
    [(3.3, 3510407.9999999995), (0.7, 834894.9)],  # price / box rounds onto an integer edge the price does not reach
)
def test_a_quotient_rounding_onto_an_edge_does_not_move_the_grid(box: float, price: float) -> None:
    near = range(math.floor(price / box) - 2, math.floor(price / box) + 3)
    lo = max(k for k in near if k * box <= price)  # the edges the price sits between, found by search
    hi = min(k for k in near if k * box >= price)
    up = RenkoBuilder(box)
    up.update(0.0, price)  # anchors on lo
    assert up.update(1.0, math.nextafter((lo + 1) * box, -math.inf)) == []
    assert [(b.open, b.close) for b in up.update(2.0, (lo + 1) * box)] == [(lo * box, (lo + 1) * box)]
    down = RenkoBuilder(box)
    down.update(0.0, (hi + 1) * box)
    assert [(b.open, b.close) for b in down.update(1.0, price)] == [((hi + 1) * box, hi * box)]
