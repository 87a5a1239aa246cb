/* Every outcome announced (issue 9 item 2): fills with their price, rejects with the bridge's reason, cancels,
 * every automatic exit with the rule that fired, the daily stop, reconciliation. Each one goes to the asset's
 * card, the event feed and, when the operator switched them on, a sound, a browser notification and a count in
 * the page title. Outcomes are found by comparing each poll with the previous one (orders by id and status,
 * the state's daily-stop and mismatch flags), so nothing is announced twice or for what was there at load.
 */
import { $, h, patch, setPressed } from './dom.js';
import { fmtPx, fmtTime, isManual, sourceLabel } from './format.js';

const MAX_FEED = 60;
const feed = [];              // newest first: {text, kind, asset, ts}
const seenOrders = new Map(); // order id → status and late-filled quantity last seen
let ordersSeeded = false;
let lastGlobal = null;
let lastAssets = null;
let flatWatch = null;         // a flatten the page announced as sent: "flat" is said once every position closed
let unseen = 0;
let seq = 0;                  // each announcement's number: two in the same millisecond (one poll that finds an
                              // exit already filled) must still redraw the card and the feed
const baseTitle = document.title;
const cardOutcome = {};       // asset → the latest announcement for that asset
let onCard = () => {};

const PREFS = ['sound', 'notify', 'badge'];
const prefs = {};
for (const p of PREFS) prefs[p] = localStorage.getItem('ol.' + p) === '1';

export function latestFor(asset) { return cardOutcome[asset] || null; }

/** `render(asset)` redraws an asset's card when an outcome arrives for it. */
export function initAnnouncer(render) {
  onCard = render;
  for (const p of PREFS) {
    const btn = $('pref-' + p);
    setPressed(btn, prefs[p]);
    btn.addEventListener('click', () => togglePref(p));
  }
  $('feed-seen').addEventListener('click', clearBadge);
  // the count is for an operator looking elsewhere: coming back to the tab clears it
  document.addEventListener('visibilitychange', () => { if (!document.hidden) clearBadge(); });
  renderFeed();
}

async function togglePref(p) {
  const on = !prefs[p];
  if (p === 'notify' && on && 'Notification' in window && Notification.permission !== 'granted') {
    try { await Notification.requestPermission(); } catch (e) { /* older browsers: callback form, ignored */ }
  }
  prefs[p] = on;
  localStorage.setItem('ol.' + p, on ? '1' : '0');
  setPressed($('pref-' + p), on);
  const names = { sound: 'Sound', notify: 'Browser notifications', badge: 'Title badge' };
  let text = names[p] + ': ' + (on ? 'ON' : 'OFF');
  if (p === 'notify' && on && (!('Notification' in window) || Notification.permission !== 'granted')) {
    text += ' (the browser has not allowed notifications)';
  }
  $('pref-msg').textContent = text;
  if (p === 'badge' && !on) clearBadge();
}

function clearBadge() {
  unseen = 0;
  document.title = baseTitle;
}

/** Newer first: by when the server says it happened (`at`), then by the order of announcing. */
const newer = (x, y) => (y.at - x.at) || (y.seq - x.seq);

/** Announce one outcome: kind is ok | warn | err | info; `at` is the server's time of what happened (issue 21:
 * the feed follows the server's order of events, not the order polls happened to find them in). */
export function announce(text, kind, asset, at) {
  const ts = typeof at === 'number' && isFinite(at) ? at : Date.now() / 1000;
  const item = { text, kind: kind || 'info', asset: asset || null, ts, at: ts, seq: ++seq };
  feed.push(item);
  feed.sort(newer);
  feed.length = Math.min(feed.length, MAX_FEED);
  if (asset) {
    const cur = cardOutcome[asset];
    if (!cur || newer(item, cur) < 0) cardOutcome[asset] = item;
    onCard(asset);
  }
  renderFeed();
  if (prefs.badge) {
    unseen += 1;
    document.title = '(' + unseen + ') ' + baseTitle;
  }
  if (prefs.sound) beep(item.kind);
  if (prefs.notify && 'Notification' in window && Notification.permission === 'granted') {
    try { new Notification('OperatorLock' + (asset ? ' · ' + asset : ''), { body: text, tag: 'ol-' + item.ts + '-' + item.seq }); } catch (e) { /* ignore */ }
  }
}

function renderFeed() {
  patch($('feed'), feed.map((f) => f.seq).join(','), () => (feed.length
    ? feed.map((f) => h('li', { class: 'feed-item ' + f.kind },
      h('time', null, fmtTime(f.ts)), ' ', f.asset ? h('strong', null, f.asset + ' ') : null, f.text))
    : h('li', { class: 'empty' }, 'Fills, rejects, cancels, automatic exits and the daily stop appear here.')));
}

let audio = null;
function beep(kind) {
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = kind === 'err' ? 330 : kind === 'ok' ? 880 : 600;
    gain.gain.value = 0.08;
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + (kind === 'err' ? 0.45 : 0.18));
  } catch (e) { /* no audio device: the other channels still announce */ }
}

// ---- what changed between two polls ------------------------------------------------------------------------

function orderText(o) {
  return o.kind + ' ' + o.side + ' ' + o.qty + ' ' + (o.symbol || '');
}

/** The orders whose status changed since the last poll, and whether two of them share one server time (a frozen
 * dev clock, or one commit): then the audit log's commit order decides (`logs`, newest commit first). */
export function tiedChanges(orders) {
  if (!ordersSeeded) return false;
  const times = orders.filter((o) => {
    const seen = seenOrders.get(o.id);
    return !seen || seen.status !== o.status || (o.late_fill_qty || 0) > seen.late;
  }).map((o) => o.updatedAt ?? o.createdAt);
  return new Set(times).size < times.length;
}

function eventRank(logs) {
  // an order's latest event: a lower index in the log (newest commit first) is a later commit
  const rank = new Map();
  (logs || []).forEach((ev, i) => {
    const input = ev && ev.input;
    const ids = [input && input.order_id, ...((ev && ev.decisions) || []).map((d) => d && d.order_id)];
    for (const id of ids) if (id && !rank.has(id)) rank.set(id, i);
  });
  return rank;
}

/** Orders poll: a new automatic exit, and every status an order reaches, announced in the server's order. */
export function ordersChanged(orders, logs) {
  const rank = eventRank(logs);
  const later = (o) => [o.updatedAt ?? o.createdAt ?? 0, rank.has(o.id) ? -rank.get(o.id) : -Infinity, o.createdAt ?? 0];
  const byServer = [...orders].sort((x, y) => {
    const [a, b] = [later(x), later(y)];
    return (a[0] - b[0]) || (a[1] === b[1] ? 0 : a[1] < b[1] ? -1 : 1) || (a[2] - b[2]);
  });
  for (const o of byServer) {
    const seen = seenOrders.get(o.id);
    const before = seen && seen.status;
    const late = o.late_fill_qty || 0;
    const at = o.updatedAt ?? o.createdAt;
    seenOrders.set(o.id, { status: o.status, late });
    if (ordersSeeded && late > (seen ? seen.late : 0)) {
      // D19: the broker filled an order the desk thought dead (a cancel or reject raced the fill): the position is
      // real and is managed like any other
      announce('LATE FILL — ' + orderText(o) + ': ' + late + ' filled @ ' + fmtPx(o.avg_fill_price) + ' after it was ' +
        (o.status === 'FILLED' ? 'cancelled or rejected' : o.status) + '; the position is open at the broker', 'err',
        o.asset, at);
      continue; // it says what the fill says, and must stay the card's latest outcome
    }
    if (!ordersSeeded || before === o.status) continue;
    if (before === undefined && o.kind === 'EXIT' && !isManual(o.source)) {
      announce('AUTOMATIC EXIT — ' + sourceLabel(o.source) + ' fired: ' + orderText(o), 'warn', o.asset, o.createdAt ?? at);
    } else if (before === undefined && o.source === 'PREORDER_TRIGGER') {
      announce('AUTOMATIC ENTRY — the pre-order triggered: ' + orderText(o), 'warn', o.asset, o.createdAt ?? at);
    }
    const px = fmtPx(o.avg_fill_price);
    if (o.kind === 'STOP') { stopChanged(o, before, at); continue; }
    if (o.status === 'REJECTED' && o.reason === 'STOP_ALREADY_FILLED') {
      // D21's race: the bridge found the protective stop already filled and did not send the exit
      announce(orderText(o) + ' not sent — STOP_ALREADY_FILLED: the protective stop had already filled at the broker; ' +
        'the trade closed at the stop', 'warn', o.asset, at);
      continue;
    }
    switch (o.status) {
      case 'FILLED':
        announce(orderText(o) + ' FILLED @ ' + px + ' (' + sourceLabel(o.source) + ')', 'ok', o.asset, at); break;
      case 'PARTIALLY_FILLED':
        announce(orderText(o) + ' partially filled ' + o.filled_qty + '/' + o.qty + ' @ ' + px, 'warn', o.asset, at); break;
      case 'REJECTED':
        announce(orderText(o) + ' REJECTED — ' + (o.reason || 'no reason given by the bridge'), 'err', o.asset, at); break;
      case 'CANCELLED':
        announce(orderText(o) + ' CANCELLED' + (o.reason ? ' — ' + o.reason : ''), 'warn', o.asset, at); break;
      case 'STALE':
        announce(orderText(o) + ' STALE — the bridge claimed it and never reported; check the broker', 'err', o.asset,
          typeof o.leaseUntil === 'number' ? o.leaseUntil : at); break;
      case 'WORKING':
        if (before !== undefined) announce(orderText(o) + ' working at the broker', 'info', o.asset, at);
        break;
      default: break;
    }
  }
  ordersSeeded = true;
}

/** A protective stop's news (D21): resting, moved, filled (the trade closed at the broker's stop), rejected
 * (the position is UNPROTECTED), cancelled (an exit replaced it). */
function stopChanged(o, before, at) {
  const what = 'Protective stop ' + o.side + ' ' + o.qty + ' @ ' + fmtPx(o.stop_price);
  switch (o.status) {
    case 'WORKING':
      announce(what + (o.revision > 1 ? ' moved (revision ' + o.revision + ')' : '') + ' — resting at the broker', 'info', o.asset, at); break;
    case 'FILLED':
      announce('STOPPED OUT — ' + what + ' FILLED @ ' + fmtPx(o.avg_fill_price) + ': the trade closed at the broker\'s stop', 'err', o.asset, at); break;
    case 'REJECTED':
      announce('UNPROTECTED — ' + what + ' REJECTED by the broker' + (o.reason && o.reason !== 'broker_stop' ? ' (' + o.reason + ')' : '') +
        ': the position has no stop at the broker', 'err', o.asset, at); break;
    case 'CANCELLED':
      if (before !== undefined) announce(what + ' cancelled', 'info', o.asset, at);
      break;
    default: break;
  }
}

/** State poll: the daily stop, reconciliation (a position mismatch and its end), the bridge. */
/** FLATTEN ALL was sent: say "flat" once every position closed. */
export function watchFlat(what) { flatWatch = what; }

export function stateChanged(state) {
  const g = state.global;
  const assets = state.assets;
  if (lastGlobal) {
    const open = Object.values(assets).filter((a) => a.position !== 0);
    const at = g.daily_stop_triggered_ts ?? g.server_time;
    if (g.daily_stop_triggered && !lastGlobal.daily_stop_triggered) {
      // what is true now: the exits are sent, not filled; "flat" is announced when the positions are
      announce('DAILY STOP TRIGGERED — ' + (g.daily_stop_triggered_reason || 'drawdown limit reached') +
        ' · trading locked · ' + (open.length ? 'exit orders sent for ' + open.length + ' position' +
          (open.length > 1 ? 's' : '') + ', waiting for fills' : 'no open position'), 'err', null, at);
      flatWatch = open.length ? 'DAILY STOP' : null;
    }
    const trailing = g.money && g.money.trailing_breached;
    if (trailing && !(lastGlobal.money && lastGlobal.money.trailing_breached)) {
      announce('TRAILING DRAWDOWN BREACHED — entries locked until the account is re-baselined · ' +
        (open.length ? 'exit orders sent, waiting for fills' : 'no open position'), 'err', null, g.server_time);
      flatWatch = open.length ? 'TRAILING DRAWDOWN' : flatWatch;
    }
    if (flatWatch && !open.length) {
      announce(flatWatch + ': flat — every position is closed', 'ok', null, g.server_time);
      flatWatch = null;
    }
    if (g.rithmic_connected !== lastGlobal.rithmic_connected) {
      announce(g.rithmic_connected ? 'Bridge connected' : 'BRIDGE NOT CONNECTED — orders wait until it polls',
        g.rithmic_connected ? 'ok' : 'err', null, g.server_time);
    }
  }
  if (lastAssets) {
    for (const [key, a] of Object.entries(assets)) {
      const b = lastAssets[key];
      if (!b) continue;
      if (a.position_mismatch && !b.position_mismatch) {
        announce('POSITION MISMATCH — broker ' + (a.broker_position ?? '?') + ' vs local ' + a.position +
          ': entries blocked until they agree', 'err', key, g.server_time);
      } else if (!a.position_mismatch && b.position_mismatch) {
        announce('Reconciled — broker and local position agree (' + a.position + ')', 'ok', key, g.server_time);
      }
    }
  }
  lastGlobal = g;
  lastAssets = assets;
}
