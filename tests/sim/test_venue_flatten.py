"""D22's flatten-before in the in-process venue as on the stack: the watchdog's tick (once a minute of market time,
as the replay ticks the local stack's) flattens a position opened inside a window's flatten-before span (an entry
the bridge had claimed before it), or one whose flatten its timer had to skip, so the backtest's trades are the
replay's."""

from __future__ import annotations

from sim.paper import Market
from sim.venue import Fill, InProcess
from tests.sim.test_paper import ES, T0, position

WINDOW = {"label": "Fed", "start": "2026-11-17T09:00:00-05:00", "end": "2026-11-17T09:15:00-05:00",
          "flatten_before_s": 600}   # T0 is 08:30: the flatten moment is 08:50


def ready_at(venue: InProcess, market: Market, now: float, price: float = 6000.0) -> None:
    market.move(now, price)
    venue.set_time(now)
    venue.tv_heartbeat(ES, price)
    for stream in ("12pt", "8pt", "2.5pt"):
        venue.renko(ES, stream, "green", None)
    venue.renko(ES, "6pt", "green", f"m{now}")


def exits(venue: InProcess) -> list[str]:
    return [o.source for o in venue.orders.values() if o.kind == "EXIT"]


def test_the_lead_refuses_entries_and_a_claimed_entry_filled_in_it_is_flattened_within_the_minute() -> None:
    """D22 as read here: the lead is part of the window for entries. An entry the bridge claimed before it cannot
    be cancelled: its fill opens a position inside the lead, which the next watchdog tick flattens."""
    venue, market = InProcess(), Market()
    venue.set_time(T0)
    assert venue.calendar([WINDOW])[0] == 201
    ready_at(venue, market, T0 + 19 * 60)                           # 08:49: before the lead, an entry passes
    assert venue.place_order(ES, "SCALP", "BUY", "6pt")[0] == 201
    _, body = venue.poll("paper", 5)
    (entry,) = body["orders"]                                       # claimed by the bridge: no longer cancellable
    ready_at(venue, market, T0 + 22 * 60)                           # 08:52: inside the lead, entries are refused
    assert venue.place_order(ES, "SCALP", "BUY", "6pt")[1]["code"] == "BLACKOUT"
    assert venue.orders[entry["id"]].status == "CLAIMED" and exits(venue) == []
    venue.report(Fill(entry["id"], "FILLED", qty=5, cum_qty=5, fill_price=6000.0, fill_id="f1"))
    assert position(venue) == 5
    venue.set_time(T0 + 23 * 60 + 30)                                # the stack's watchdog ticked at 08:53
    assert exits(venue) == ["BLACKOUT_FLATTEN"]
    (flatten,) = venue.poll("paper", 5)[1]["orders"]
    venue.report(Fill(flatten["id"], "FILLED", qty=5, cum_qty=5, fill_price=6001.0, fill_id="f2"))
    assert position(venue) == 0 and venue.trades()[0]["reason"] == "blackout_flatten"


def test_without_a_window_with_a_lead_the_venue_makes_no_watchdog_decision() -> None:
    venue = InProcess()
    venue.set_time(T0)
    before = venue.decisions
    for minute in range(1, 30):
        venue.set_time(T0 + minute * 60)
    assert venue.decisions == before


def test_the_flatten_moment_cancels_an_entry_not_yet_handed_to_the_bridge() -> None:
    """As the daily stop (D11): the venue loads the asset's in-flight order for the flatten timer, as the service."""
    venue, market = InProcess(), Market()
    venue.set_time(T0)
    assert venue.calendar([WINDOW])[0] == 201
    ready_at(venue, market, T0 + 19 * 60)                           # 08:49: before the lead
    status, body = venue.place_order(ES, "SCALP", "BUY", "6pt")
    assert status == 201, body
    (oid,) = [o.id for o in venue.orders.values() if o.kind == "ENTRY"]
    venue.set_time(T0 + 20 * 60)                                     # 08:50: the flatten timer
    assert (venue.orders[oid].status, venue.orders[oid].reason) == ("CANCELLED", "blackout_flatten")
    assert venue.poll("paper", 5)[1]["orders"] == [] and exits(venue) == [] and position(venue) == 0


def test_an_answer_carries_the_state_as_the_services_unless_the_caller_reads_facts_only() -> None:
    """`answers_state`: a placed order's answer (engine.WITH_STATE) carries the computed state like the service's;
    the backtest's venue leaves it out, and decides the same."""
    answers = []
    for with_state in (True, False):
        venue, market = InProcess(answers_state=with_state), Market()
        ready_at(venue, market, T0)
        status, body = venue.place_order(ES, "SCALP", "BUY", "6pt")
        assert status == 201, body
        answers.append((with_state, body))
        assert ("state" in body) is with_state
        if with_state:
            assert body["state"]["assets"][ES]["pending_order_id"] == body["order"]["id"]
    (_, full), (_, facts) = answers
    assert {k: v for k, v in full.items() if k != "state"} == facts
