/* The page's one state object, the server clock, and whether the server is reachable.
 *
 * Honest connectivity: while polls fail, the clock stops at the last answer (ages and countdowns freeze),
 * `offline()` is true, and every control that needs the server is disabled.
 */

export const S = {
  state: null,          // last GET /api/state body
  stateAt: 0,           // Date.now() when it arrived
  offset: 0,            // server clock − local clock (s): the local stack's clock can be moved
  lastOkAt: 0,          // Date.now() of the last successful state poll
  lastFailAt: 0,        // Date.now() of the last failed one
  gates: {},            // asset → {body, at, direction, error}
  orders: [],
  ordersAt: 0,
  risk: null,
  riskShown: null,      // the values the risk form was filled with
  window: null,
  windowAt: 0,
  history: [],
  busy: new Set(),      // actions in flight, e.g. 'exit:ES'
  modal: null,
};

/** The server is unreachable: the last state poll failed (or none succeeded for 5 s). */
export function offline() {
  if (!S.lastOkAt) return S.lastFailAt > 0;
  return S.lastFailAt > S.lastOkAt || Date.now() - S.lastOkAt > 5000;
}

/** Server time now; frozen at the last answer while offline (nothing keeps ticking on stale data). */
export function serverNow() {
  if (offline() && S.state) return S.state.global.server_time;
  return Date.now() / 1000 + S.offset;
}

export const since = (at) => (Date.now() - at) / 1000;
/** Seconds since the last good answer from the server. */
export const lastUpdateAge = () => (S.lastOkAt ? since(S.lastOkAt) : null);

/** The end (server time) of each timed lock, from one source (GET /api/state): banner, gates and header agree. */
export function lockEnds() {
  const g = S.state && S.state.global;
  if (!g) return {};
  const at = g.server_time;
  const out = {};
  if (g.five_min_trade_lock_active) out.candle_lock = at + (g.five_min_trade_lock_remaining_s || 0);
  if (g.post_exit_lock_active) out.post_exit_cooldown = g.post_exit_lock_expires_ts || at + (g.post_exit_lock_remaining_s || 0);
  // D22: the loss-streak lock and the blackout in force end at a stored time: the header, banner and gate row agree
  const streak = g.loss_streak;
  if (streak && typeof streak.lock_until === 'number') out.loss_streak = streak.lock_until;
  const active = g.calendar && g.calendar.active;
  if (active && typeof active.end === 'number') out.blackout = active.end;
  return out;
}
export function lockLeft(name) {
  const end = lockEnds()[name];
  return end === undefined ? null : Math.max(0, end - serverNow());
}

/** The contract root orders are sent for (MES, MNQ) and its figures, as the server gives them (`contract` of each
 * asset in GET /api/state: the broker's contract, else the one the asset trades; D7). */
function contract(asset) {
  const a = S.state && S.state.assets[asset];
  return (a && a.contract) || {};
}
export function instrument(asset) {
  return contract(asset).root || asset;
}
/** Dollars per point: the broker's own figure once it reported the position, else the contract's. */
export function pointValue(asset) {
  const a = S.state && S.state.assets[asset];
  if (a && typeof a.rithmic_point_value === 'number' && a.rithmic_point_value > 0) return a.rithmic_point_value;
  const pv = contract(asset).point_value;
  return typeof pv === 'number' && pv > 0 ? pv : null;
}

/** Seconds since the asset's last TradingView price (its heartbeat), or null when none came. */
export function priceAge(asset) {
  const a = S.state && S.state.assets[asset];
  if (!a || typeof a.last_heartbeat_ts !== 'number') return null;
  return Math.max(0, serverNow() - a.last_heartbeat_ts);
}
/** How a price of this age looks to a trader: fresh under 60 s, amber from 60 s, red from 120 s. */
export const PRICE_AMBER_S = 60;
export const PRICE_RED_S = 120;
export function priceLevel(age) {
  if (age === null || age >= PRICE_RED_S) return 'stale';
  return age >= PRICE_AMBER_S ? 'warn' : 'ok';
}
/** The age the server's heartbeat gate accepts (the spec's 600 s, or the operator's tighter max_price_age_s). */
export function priceLimit() {
  const g = S.state && S.state.global;
  return g && typeof g.price_age_limit_s === 'number' ? g.price_age_limit_s : 600;
}
/** Why the server would refuse a control that needs a fresh price now, or '' (the heartbeat gate, on the clock). */
export function priceTooOld(asset) {
  const age = priceAge(asset);
  if (age === null) return 'no TradingView price yet';
  return age > priceLimit() ? 'the price is ' + Math.floor(age) + ' s old (limit ' + priceLimit() + ' s)' : '';
}

/** D21: the bridge declared it rests protective stops, in a heartbeat the server still counts as fresh (its
 * `rithmic_connected`: the same 60 s). Without it no stop is created for a position. */
export function bridgeRestsStops() {
  const g = S.state && S.state.global;
  const info = g && g.rithmic_bridge;
  if (!info || !g.rithmic_connected) return false;
  const caps = Array.isArray(info.capabilities) ? info.capabilities : [];
  const at = info.server_received_ts;
  return caps.includes('protective_stop') && typeof at === 'number' && serverNow() - at <= 60;
}

/** The asset's protective stop as the screen tells it (D21): {state, text, cls, price, order}, or null when
 * nothing is to be said (flat, and the bridge rests stops or the desk is on DEMO). A resting stop is never the
 * asset's pending order: entries and exits ignore it. */
export function stopView(asset) {
  const g = S.state && S.state.global;
  const a = g && S.state.assets[asset];
  if (!a) return null;
  const live = g.env === 'LIVE';
  const capable = bridgeRestsStops();
  const stop = a.stop_order_id ? S.orders.find((o) => o.id === a.stop_order_id) : null;
  if (a.position === 0) {
    return !capable && live ? { state: 'none', text: 'no stop at the broker — the bridge does not rest stops: an entry would be unprotected',
      cls: 'neg', price: null, order: null } : null;
  }
  if (stop) {
    const px = stop.stop_price;
    if (stop.status === 'WORKING') return { state: 'resting', text: 'resting at broker', cls: 'ok', price: px, order: stop };
    if (stop.status === 'PENDING' || stop.status === 'CLAIMED' || stop.status === 'STALE') {
      // a MODIFY of a stop the bridge held: the old one still rests until the bridge acknowledges the new version
      if (stop.revision > 1) return { state: 'moving', text: 'resting at broker · moving (revision ' + stop.revision + ')', cls: 'warn', price: px, order: stop };
      return { state: 'not_placed', text: 'not placed' + (stop.status === 'STALE' ? ' — claimed, no report: check the broker'
        : g.rithmic_connected ? ' — sent to the bridge' : ' — the bridge is not connected'), cls: 'neg', price: px, order: stop };
    }
  }
  // no live stop: the latest stop of this position tells why (orders of the position: since its entry)
  const since = typeof a.last_entry_ts === 'number' ? a.last_entry_ts - 1 : -Infinity;
  const last = S.orders.filter((o) => o.asset === asset && o.kind === 'STOP' && (o.createdAt ?? 0) >= since)
    .sort((x, y) => (y.updatedAt ?? 0) - (x.updatedAt ?? 0))[0];
  if (last && last.status === 'REJECTED') {
    return { state: 'rejected', text: 'rejected — unprotected' + (last.reason ? ' (' + last.reason + ')' : ''), cls: 'neg',
      price: last.stop_price, order: last };
  }
  if (!capable) return { state: 'none', text: 'no stop at the broker — the bridge does not rest stops', cls: live ? 'neg' : 'warn', price: null, order: null };
  return { state: 'not_placed', text: 'not placed', cls: 'neg', price: null, order: null };
}
