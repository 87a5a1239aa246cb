/* The header (money, connectivity, limits) and the banners. Critical banners (offline, bridge down, daily stop,
 * position mismatch, LIVE, a simulated clock) live in the pinned strip under the header; the others scroll.
 *
 * Money from the broker (equity, day P&L, open P&L, the distance to each limit) is only as fresh as the bridge's
 * last P&L snapshot: each figure says its age once it is older than a snapshot's cadence, and the whole group goes
 * grey while the bridge is silent (nothing new arrives and the daily stop cannot fire). */
import { $, h, patch, setText } from './dom.js';
import { DASH, fmtAge, fmtDuration, fmtPct, fmtTime, fmtTs, fmtUsd, mmss, num, signClass } from './format.js';
import { S, lastUpdateAge, lockLeft, offline, priceAge, priceLevel, serverNow } from './store.js';

const SNAPSHOT_CADENCE_S = 10;   // the bridge snapshots every 2 s: older than this, the age is shown

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

/** How old the broker's money figures are, and whether they are live: {age (s) or null, silent}. */
export function snapshotAge() {
  const g = S.state ? S.state.global : null;
  if (!g) return { age: null, silent: true };
  const at = num(g.rithmic_snapshot_ts);
  return { age: at === null ? null : Math.max(0, serverNow() - at), silent: !g.rithmic_connected };
}

/** A money figure from the snapshots: its text with its age when old, grey while the bridge is silent. */
function moneyText(el, value, cls, title) {
  const { age, silent } = snapshotAge();
  const known = value !== DASH;
  const old = known && age !== null && (silent || age > SNAPSHOT_CADENCE_S);
  setText(el, value + (old ? ' · ' + fmtAge(age) + ' old' : ''), (cls || '') + (known && silent ? ' aged' : ''));
  el.title = title + (known ? (age === null ? '' : ' · last broker snapshot ' + fmtAge(age) + ' ago') +
    (silent ? ' · the bridge is silent: not live' : '') : '');
}

/** The dollar limits of D20 (GET /api/state global.money): [text, class] for each header figure. */
export function dollarLimits() {
  const g = S.state ? S.state.global : null;
  const m = g && g.money;
  if (!m) return {};
  const warnAt = (num(m.warn_at_pct) ?? 80) / 100;
  const warned = new Set(m.warned || []);
  const out = {};
  const limit = num(m.daily_loss_limit_usd);
  if (limit === null) out.loss = ['off', '', 'No daily loss limit in dollars (Risk tab)'];
  else {
    const room = num(m.room_to_daily_loss_limit_usd);
    const hit = g.daily_stop_triggered && g.daily_stop_code === 'DAILY_LOSS_LIMIT';
    const used = room === null ? null : (limit - room) / limit;
    out.loss = [hit ? 'REACHED — ' + flatState() + ' · locked until 18:00 NY' : room === null ? DASH + ' of ' + fmtUsd(limit)
      : fmtUsd(room) + ' of ' + fmtUsd(limit), hit || (room !== null && room <= 0) ? 'neg'
      : warned.has('daily_loss_limit') || (used !== null && used >= warnAt) ? 'warn' : '',
    'Room left to the daily loss limit (warning at ' + Math.round(warnAt * 100) + '% used)'];
  }
  const dd = num(m.trailing_drawdown_usd);
  if (dd === null) out.floor = ['off', '', 'No trailing drawdown (Risk tab)'];
  else if (m.trailing_breached) {
    out.floor = ['BREACHED at ' + fmtUsd(m.trailing_floor_usd) + ' — ' + flatState() + ' · locked until re-baseline', 'neg',
      'Equity reached the trailing floor: entries stay locked until the account is re-baselined (Risk tab)'];
  } else {
    const room = num(m.room_to_floor_usd);
    const used = room === null ? null : (dd - room) / dd;
    out.floor = [fmtUsd(m.trailing_floor_usd) + ' · room ' + fmtUsd(room) + ' · HWM ' + fmtUsd(m.high_water_mark_usd),
      room !== null && room <= 0 ? 'neg' : warned.has('trailing_drawdown') || (used !== null && used >= warnAt) ? 'warn' : '',
      'Trailing drawdown ' + fmtUsd(dd) + ' (' + String(m.trailing_mode).replace(/_/g, ' ') + ') from the high-water mark'];
  }
  const worst = m.worst_case_next_entry_usd || {};
  const cap = num(m.max_loss_per_trade_usd);
  const over = Object.values(worst).some((v) => cap !== null && num(v) !== null && v > cap);
  out.worst = [Object.entries(worst).map(([k, v]) => k + ' ' + fmtUsd(v)).join(' · ') + (cap === null ? '' : ' (cap ' + fmtUsd(cap) + ')'),
    over ? 'neg' : '', 'The next entry\'s worst case: quantity × protective stop points × point value'];
  return out;
}

export function renderHeader() {
  const st = S.state;
  const down = offline();
  document.body.classList.toggle('offline', down);
  if (st) {
    const g = st.global;
    const m = money();
    moneyText($('h-equity'), m.balance === null ? DASH : fmtUsd(m.balance), '',
      m.balance === null ? 'No broker snapshot yet' : 'Account balance from the broker');
    moneyText($('h-daypnl'), m.pnl === null ? DASH : fmtUsd(m.pnl, true) + ' (' + fmtPct(m.pct, true) + ')',
      signClass(m.pnl), 'The trading day\'s P&L from the broker');
    const open = m.balance === null ? null : num(g.open_pnl);
    moneyText($('h-openpnl'), open === null ? DASH : fmtUsd(open, true), signClass(open), 'Open P&L from the broker');
    const lim = dollarLimits();
    for (const [id, key] of [['h-lossroom', 'loss'], ['h-floor', 'floor'], ['h-worst', 'worst']]) {
      const [txt, cls, title] = lim[key] || [DASH, '', ''];
      if (key === 'worst') { setText($(id), txt, cls); $(id).title = title; } else moneyText($(id), txt, cls, title);
    }
    setText($('h-date'), g.trading_day || g.today_date || DASH);
    $('h-date').title = 'Trading day (starts 18:00 New York); calendar date ' + (g.today_date || DASH);

    const cc = $('h-connected');
    if (down) {
      setText(cc, 'OFFLINE', 'neg');
      cc.title = 'The server does not answer';
    } else {
      // TradingView counts as connected while its price is inside the server's limit; the page says how old it is
      const ages = Object.keys(st.assets).map((k) => priceAge(k)).filter((x) => x !== null);
      const oldest = ages.length ? Math.max(...ages) : null;
      const level = oldest === null ? 'stale' : priceLevel(oldest);
      const count = (g.connected_count ?? 0);
      setText(cc, count + '/' + (g.connected_expected ?? 2) + (g.rithmic_connected ? '' : ' · BRIDGE DOWN') +
        (oldest !== null && level !== 'ok' ? ' · price ' + fmtAge(oldest) + ' old' : ''),
      !g.rithmic_connected || level === 'stale' ? 'neg' : level === 'warn' || !g.connected ? 'warn' : 'ok');
      cc.title = 'TradingView ' + (g.tradingview_connected ? 'connected' : 'not connected') +
        (oldest === null ? '' : ' (oldest price ' + fmtAge(oldest) + ')') +
        ' · Rithmic bridge ' + (g.rithmic_connected ? 'connected' : 'not connected');
    }
    setText($('h-tradelock'), g.trade_lock ? 'ON' : 'OFF', g.trade_lock ? 'neg' : 'ok');
    const left = g.trades_remaining_today;
    const taken = g.trades_taken_today ?? 0;
    if (left === 0) setText($('h-trades'), '0 of ' + g.max_trades_per_day, 'neg');
    else if (left === 1) setText($('h-trades'), '1 · LAST TRADE', 'warn');
    else setText($('h-trades'), String(left ?? DASH) + ' (' + taken + ' taken)', '');
    // a resting protective stop (D21) is not an order in flight: counted apart
    const live = S.orders.filter((o) => !['FILLED', 'REJECTED', 'CANCELLED'].includes(o.status));
    const working = live.filter((o) => o.kind !== 'STOP').length;
    const stops = live.length - working;
    setText($('h-orders'), String(working) + (stops ? ' · ' + stops + ' stop' + (stops > 1 ? 's' : '') : ''), working ? 'warn' : '');
    $('h-orders').title = 'Orders not yet filled, rejected or cancelled' + (stops ? '; protective stops counted apart' : '');
    renderDiscipline(g);
    for (const btn of document.querySelectorAll('#env-switch button')) {
      btn.classList.toggle('on', btn.dataset.env === g.env);
      btn.setAttribute('aria-pressed', btn.dataset.env === g.env ? 'true' : 'false');
      btn.disabled = down || S.busy.has('env');
    }
    document.body.classList.toggle('env-live', g.env === 'LIVE');
    $('env-band').hidden = g.env !== 'LIVE';

    const ds = $('h-dailystop');
    const pending = Object.keys((S.risk && S.risk.pending) || {}).some((k) => k.startsWith('daily_stop')) ? ' · change pending' : '';
    const title = 'Daily stop on equity drawdown: distance from the day\'s start equity; change it in the Risk tab';
    if (g.daily_stop_triggered) setText(ds, 'TRIGGERED', 'neg');
    else if (!g.daily_stop_enabled) setText(ds, 'OFF' + pending, 'warn');
    else if (m.leftUsd === null) setText(ds, num(g.daily_stop_limit_pct) + '% · ' + DASH + ' left' + pending, '');
    else {
      const tight = m.leftPct < (m.limit / 100) / 3;
      moneyText(ds, num(g.daily_stop_limit_pct) + '% · ' + fmtUsd(m.leftUsd) + ' (' + fmtPct(m.leftPct) + ') left' + pending,
        tight ? 'neg' : m.leftPct < (m.limit / 100) * 2 / 3 ? 'warn' : '', title);
    }
    if (!ds.title) ds.title = title;
  }
  const win = S.window;
  if (win) {
    const el = $('h-window');
    // while offline the countdown stops where the last answer left it
    const gone = ((down ? Math.max(S.lastOkAt, S.windowAt) : Date.now()) - S.windowAt) / 1000;
    if (win.open) setText(el, 'OPEN · closes in ' + fmtDuration(win.seconds_until_close - gone), 'ok');
    else setText(el, 'CLOSED · opens in ' + fmtDuration(win.seconds_until_open - gone), 'warn');
    el.title = 'CME Globex: Sunday 18:00 to Friday 17:00 New York, daily break 17:00–18:00' +
      (win.calendar_known === false ? ' (weekly hours only: no CME holiday calendar for this year)' : '');
    if (win.calendar_known === false) el.textContent += ' · no holiday calendar';
  }
  const candle = 300 - (serverNow() % 300);
  setText($('h-candle'), mmss(candle), down ? '' : candle <= 5 ? 'warn' : '');
  const age = lastUpdateAge();
  setText($('h-updated'), age === null ? DASH : fmtAge(age) + ' ago', down ? 'neg' : '');
}

/** D22 in the header: the next blackout and its countdown ("BLACKOUT until …" inside one), and the loss streak
 * (its lock's countdown while locked). Countdowns run on the server's clock between polls. */
function renderDiscipline(g) {
  const cal = g.calendar || {};
  const el = $('h-blackout');
  const left = lockLeft('blackout');
  let inS;
  if (cal.active && left !== null) {
    setText(el, 'BLACKOUT until ' + fmtTime(cal.active.end).slice(0, 5) + ' · ' + (cal.active.label || 'blackout') + ' · ' +
      fmtDuration(left) + ' left', 'neg');
    el.title = 'Inside a blackout window: entries are refused until it ends (Risk tab)';
  } else if (cal.next && typeof cal.next.start === 'number') {
    // a window with a flatten lead shuts entries (and flattens) that much before its start (D22)
    const lead = Number(cal.next.flatten_before_s) || 0;
    inS = cal.next.start - lead - serverNow();
    setText(el, (cal.next.label || 'blackout') + (lead ? ' · flat in ' : ' in ') + fmtDuration(inS) + ' · ' +
      fmtTs(cal.next.start).replace(/:\d\d$/, ''), inS <= 15 * 60 ? 'warn' : '');
    el.title = 'The next blackout window (New York time): entries are refused inside it' +
      (lead ? ' and from ' + Math.round(lead / 60) + ' min before it, when open positions are flattened' : '');
  } else {
    setText(el, 'none', '');
    el.title = 'No blackout window ahead (Risk tab)';
  }
  // only when there is one to show: an empty figure would cost the header a line on a desktop
  el.parentElement.hidden = !cal.active && !(cal.next && typeof cal.next.start === 'number');
  // inside a blackout or 15 minutes before one, the figure is among the key ones (shown on a phone too)
  el.parentElement.classList.toggle('key', !!(cal.active && left !== null) || (inS !== undefined && inS <= 15 * 60));
  const st = g.loss_streak || {};
  const sEl = $('h-streak');
  const lock = lockLeft('loss_streak');
  sEl.parentElement.hidden = (st.limit === null || st.limit === undefined) && !st.count && !(lock > 0);
  sEl.parentElement.classList.toggle('key', lock !== null && lock > 0);
  if (lock !== null && lock > 0) {
    setText(sEl, 'LOCKED · ' + mmss(lock) + ' left', 'neg');
    sEl.title = 'Loss-streak limit (' + st.limit + ' in a row) reached: entries locked; the next lock today lasts ' + st.next_lock_minutes + ' min';
  } else if (st.limit === null || st.limit === undefined) {
    setText(sEl, 'off' + (st.count ? ' · ' + st.count + ' in a row' : ''), '');
    sEl.title = 'No loss-streak limit (Risk tab); losing trades in a row: ' + (st.count ?? 0);
  } else {
    setText(sEl, (st.count ?? 0) + ' of ' + st.limit + ' losses', st.count && st.count >= st.limit - 1 ? 'warn' : '');
    sEl.title = 'Losing trades in a row; at ' + st.limit + ' entries lock for ' + st.next_lock_minutes + ' min';
  }
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
    const clock = st.dev_clock;
    if (clock && (clock.frozen || Math.abs(num(clock.offset_s) || 0) > 2)) {
      // the local stack's dev clock: every time, lock and trading day on this page follows it, not the real one
      pinned.push(banner('clock', 'SIMULATED CLOCK — ' + (clock.frozen ? 'frozen at ' : 'running at ') +
        fmtTs(g.server_time) + ' New York · real time ' + fmtTs(Date.now() / 1000) + ' · trading day ' +
        (g.trading_day || DASH), 'b-clock'));
    }
    if (g.daily_stop_triggered) {
      const dd = num(g.daily_stop_triggered_dd_pct);
      pinned.push(banner('red', 'DAILY STOP TRIGGERED — TRADING LOCKED' +
        (g.daily_stop_triggered_reason ? ' · ' + g.daily_stop_triggered_reason
          : dd !== null ? ' · drawdown ' + dd.toFixed(2) + '%' : '') + ' · ' + flatState(), 'b-dailystop'));
    } else if (g.trade_lock) {
      pinned.push(banner('red', 'GLOBAL TRADE LOCK' + (g.trade_lock_reason ? ' — ' + g.trade_lock_reason : ''), 'b-tradelock'));
    }
    if (g.money && g.money.trailing_breached) {
      pinned.push(banner('red', 'TRAILING DRAWDOWN BREACHED at ' + fmtUsd(g.money.trailing_floor_usd) + ' — ' +
        flatState() + ' · entries locked until the account is re-baselined (Risk tab)', 'b-trailing'));
    }
    if (!g.rithmic_connected) {
      const seen = num(g.rithmic_last_ts);
      pinned.push(banner('red', 'BRIDGE NOT CONNECTED — ' + (seen === null ? 'never heard from' :
        'silent for ' + fmtAge(serverNow() - seen)) + ' · new orders wait until it polls · money figures are not live', 'b-bridge'));
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
    const cal = g.calendar || {};
    const black = lockLeft('blackout');
    if (cal.active && black !== null) {
      other.push(banner('amber', 'BLACKOUT — ' + (cal.active.label || 'blackout') + ' until ' + fmtTime(cal.active.end).slice(0, 5) +
        ' New York · ' + fmtDuration(black) + ' remaining · entries refused', 'b-blackout'));
    }
    const streak = lockLeft('loss_streak');
    if (streak !== null && streak > 0) {
      other.push(banner('amber', 'LOSS STREAK LOCK — ' + ((g.loss_streak || {}).limit ?? '') + ' losing trades in a row · ' +
        mmss(streak) + ' remaining', 'b-streak'));
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

/** What is true of the positions now: "exit orders sent" while any is open, "flat" once none is. */
export function flatState() {
  const assets = S.state ? Object.values(S.state.assets) : [];
  const open = assets.filter((a) => a.position !== 0);
  if (!open.length) return 'flat';
  return open.some((a) => a.pending_order_id) ? 'exit orders sent, waiting for fills' : 'positions still open';
}
