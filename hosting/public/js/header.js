/* The header (money, connectivity, limits) and the banners. Critical banners (offline, bridge down, daily stop,
 * position mismatch) live in the pinned strip under the header; the others scroll with the page. */
import { $, h, patch, setText } from './dom.js';
import { DASH, fmtAge, fmtDuration, fmtPct, fmtUsd, mmss, num, signClass } from './format.js';
import { S, lastUpdateAge, lockLeft, offline, serverNow } from './store.js';

/** Day P&L and the distance to the daily stop, or nulls before the first broker snapshot of the trading day. */
export function money() {
  const g = S.state ? S.state.global : null;
  if (!g) return {};
  const start = num(g.daily_start_equity);
  const pnl = num(g.daily_pnl_usd);
  const pct = num(g.daily_pnl_pct);
  const limit = num(g.daily_stop_limit_pct);
  let leftPct = null;
  let leftUsd = null;
  if (start !== null && pct !== null && limit !== null) {
    leftPct = Math.max(0, limit / 100 + pct);
    leftUsd = start * leftPct;
  }
  return { balance: num(g.rithmic_account_balance), start, pnl, pct, limit, leftPct, leftUsd };
}

export function renderHeader() {
  const st = S.state;
  const down = offline();
  document.body.classList.toggle('offline', down);
  if (st) {
    const g = st.global;
    const m = money();
    setText($('h-equity'), m.balance === null ? DASH : fmtUsd(m.balance));
    $('h-equity').title = m.balance === null ? 'No broker snapshot yet' : 'Account balance from the last broker snapshot';
    setText($('h-daypnl'), m.pnl === null ? DASH : fmtUsd(m.pnl, true) + ' (' + fmtPct(m.pct, true) + ')', signClass(m.pnl));
    const open = m.balance === null ? null : num(g.open_pnl);
    setText($('h-openpnl'), open === null ? DASH : fmtUsd(open, true), signClass(open));
    setText($('h-date'), g.trading_day || g.today_date || DASH);
    $('h-date').title = 'Trading day (starts 18:00 New York); calendar date ' + (g.today_date || DASH);

    const cc = $('h-connected');
    if (down) {
      setText(cc, 'OFFLINE', 'neg');
      cc.title = 'The server does not answer';
    } else {
      setText(cc, (g.connected_count ?? 0) + '/' + (g.connected_expected ?? 2) +
        (g.rithmic_connected ? '' : ' · BRIDGE DOWN'), g.connected ? 'ok' : g.rithmic_connected ? 'warn' : 'neg');
      cc.title = 'TradingView ' + (g.tradingview_connected ? 'connected' : 'not connected') +
        ' · Rithmic bridge ' + (g.rithmic_connected ? 'connected' : 'not connected');
    }
    setText($('h-tradelock'), g.trade_lock ? 'ON' : 'OFF', g.trade_lock ? 'neg' : 'ok');
    const left = g.trades_remaining_today;
    const taken = g.trades_taken_today ?? 0;
    if (left === 0) setText($('h-trades'), '0 of ' + g.max_trades_per_day, 'neg');
    else if (left === 1) setText($('h-trades'), '1 · LAST TRADE', 'warn');
    else setText($('h-trades'), String(left ?? DASH) + ' (' + taken + ' taken)', '');
    const working = S.orders.filter((o) => !['FILLED', 'REJECTED', 'CANCELLED'].includes(o.status)).length;
    setText($('h-orders'), String(working), working ? 'warn' : '');
    $('h-orders').title = 'Orders not yet filled, rejected or cancelled';
    for (const btn of document.querySelectorAll('#env-switch button')) {
      btn.classList.toggle('on', btn.dataset.env === g.env);
      btn.setAttribute('aria-pressed', btn.dataset.env === g.env ? 'true' : 'false');
      btn.disabled = down || S.busy.has('env');
    }
    document.body.classList.toggle('env-live', g.env === 'LIVE');

    const ds = $('h-dailystop');
    const pending = Object.keys((S.risk && S.risk.pending) || {}).some((k) => k.startsWith('daily_stop')) ? ' · change pending' : '';
    if (g.daily_stop_triggered) setText(ds, 'TRIGGERED', 'neg');
    else if (!g.daily_stop_enabled) setText(ds, 'OFF' + pending, 'warn');
    else if (m.leftUsd === null) setText(ds, num(g.daily_stop_limit_pct) + '% · ' + DASH + ' left' + pending, '');
    else {
      const tight = m.leftPct < (m.limit / 100) / 3;
      setText(ds, num(g.daily_stop_limit_pct) + '% · ' + fmtUsd(m.leftUsd) + ' (' + fmtPct(m.leftPct) + ') left' + pending,
        tight ? 'neg' : m.leftPct < (m.limit / 100) * 2 / 3 ? 'warn' : '');
    }
    ds.title = 'Daily stop on equity drawdown: distance from the day\'s start equity; change it in the Risk tab';
  }
  const win = S.window;
  if (win) {
    const el = $('h-window');
    // while offline the countdown stops where the last answer left it
    const gone = ((down ? Math.max(S.lastOkAt, S.windowAt) : Date.now()) - S.windowAt) / 1000;
    if (win.open) setText(el, 'OPEN · closes in ' + fmtDuration(win.seconds_until_close - gone), 'ok');
    else setText(el, 'CLOSED · opens in ' + fmtDuration(win.seconds_until_open - gone), 'warn');
    el.title = 'CME Globex: Sunday 18:00 to Friday 17:00 New York, daily break 17:00–18:00';
  }
  const candle = 300 - (serverNow() % 300);
  setText($('h-candle'), mmss(candle), down ? '' : candle <= 5 ? 'warn' : '');
  const age = lastUpdateAge();
  setText($('h-updated'), age === null ? DASH : fmtAge(age) + ' ago', down ? 'neg' : '');
}

function banner(kind, text, id) {
  return h('div', { class: 'banner ' + kind, id }, text);
}

export function renderBanners() {
  const pinned = [];
  const other = [];
  const st = S.state;
  if (offline()) {
    const age = lastUpdateAge();
    pinned.push(banner('grey', 'OFFLINE — the server does not answer · last update ' +
      (age === null ? 'never' : fmtAge(age) + ' ago') + ' · controls disabled, figures frozen', 'b-offline'));
  }
  if (st) {
    const g = st.global;
    if (g.daily_stop_triggered) {
      const dd = num(g.daily_stop_triggered_dd_pct);
      pinned.push(banner('red', 'DAILY STOP TRIGGERED — TRADING LOCKED' +
        (g.daily_stop_triggered_reason ? ' · ' + g.daily_stop_triggered_reason
          : dd !== null ? ' · drawdown ' + dd.toFixed(2) + '%' : ''), 'b-dailystop'));
    } else if (g.trade_lock) {
      pinned.push(banner('red', 'GLOBAL TRADE LOCK' + (g.trade_lock_reason ? ' — ' + g.trade_lock_reason : ''), 'b-tradelock'));
    }
    if (!g.rithmic_connected) {
      const seen = num(g.rithmic_last_ts);
      pinned.push(banner('red', 'BRIDGE NOT CONNECTED — ' + (seen === null ? 'never heard from' :
        'silent for ' + fmtAge(serverNow() - seen)) + ' · new orders wait until it polls', 'b-bridge'));
    }
    for (const [key, a] of Object.entries(st.assets)) {
      if (a.position_mismatch) {
        pinned.push(banner('red', 'POSITION MISMATCH ' + key + ': broker ' + (a.broker_position ?? '?') +
          ' vs local ' + a.position + ' — entries blocked until they agree', 'b-mismatch-' + key));
      }
    }
    const candle = lockLeft('candle_lock');
    if (candle !== null) {
      other.push(banner('amber', '5-MIN CANDLE LOCK — one trade already used this candle · ' + mmss(candle) +
        ' remaining', 'b-candle'));
    }
    const cool = lockLeft('post_exit_cooldown');
    if (cool !== null) other.push(banner('amber', 'POST-EXIT COOLDOWN · ' + mmss(cool) + ' remaining', 'b-cooldown'));
  }
  const stale = S.orders.filter((o) => o.status === 'STALE');
  if (stale.length) {
    other.push(banner('red', stale.length + ' STALE order' + (stale.length > 1 ? 's' : '') +
      ' — claimed by the bridge with no report; check the broker, then cancel (Orders below)', 'b-stale'));
  }
  patch($('banners-pinned'), JSON.stringify(pinned.map((b) => [b.className, b.textContent])), () => pinned);
  patch($('banners'), JSON.stringify(other.map((b) => [b.className, b.textContent])), () => other);
}
