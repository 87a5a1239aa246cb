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

/** Announce one outcome: kind is ok | warn | err | info. */
export function announce(text, kind, asset) {
  const item = { text, kind: kind || 'info', asset: asset || null, ts: Date.now() / 1000, seq: ++seq };
  feed.unshift(item);
  feed.length = Math.min(feed.length, MAX_FEED);
  if (asset) {
    cardOutcome[asset] = item;
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
  patch($('feed'), String(feed[0] ? feed[0].seq : 0), () => (feed.length
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

/** Orders poll: a new automatic exit, and every status an order reaches. */
export function ordersChanged(orders) {
  for (const o of orders) {
    const seen = seenOrders.get(o.id);
    const before = seen && seen.status;
    const late = o.late_fill_qty || 0;
    seenOrders.set(o.id, { status: o.status, late });
    if (ordersSeeded && late > (seen ? seen.late : 0)) {
      // D19: the broker filled an order the desk thought dead (a cancel or reject raced the fill): the position is
      // real and is managed like any other
      announce('LATE FILL — ' + orderText(o) + ': ' + late + ' filled @ ' + fmtPx(o.avg_fill_price) + ' after it was ' +
        (o.status === 'FILLED' ? 'cancelled or rejected' : o.status) + '; the position is open at the broker', 'err',
        o.asset);
      continue; // it says what the fill says, and must stay the card's latest outcome
    }
    if (!ordersSeeded || before === o.status) continue;
    if (before === undefined && o.kind === 'EXIT' && !isManual(o.source)) {
      announce('AUTOMATIC EXIT — ' + sourceLabel(o.source) + ' fired: ' + orderText(o), 'warn', o.asset);
    } else if (before === undefined && o.source === 'PREORDER_TRIGGER') {
      announce('AUTOMATIC ENTRY — the pre-order triggered: ' + orderText(o), 'warn', o.asset);
    }
    const px = fmtPx(o.avg_fill_price);
    switch (o.status) {
      case 'FILLED':
        announce(orderText(o) + ' FILLED @ ' + px + ' (' + sourceLabel(o.source) + ')', 'ok', o.asset); break;
      case 'PARTIALLY_FILLED':
        announce(orderText(o) + ' partially filled ' + o.filled_qty + '/' + o.qty + ' @ ' + px, 'warn', o.asset); break;
      case 'REJECTED':
        announce(orderText(o) + ' REJECTED — ' + (o.reason || 'no reason given by the bridge'), 'err', o.asset); break;
      case 'CANCELLED':
        announce(orderText(o) + ' CANCELLED' + (o.reason ? ' — ' + o.reason : ''), 'warn', o.asset); break;
      case 'STALE':
        announce(orderText(o) + ' STALE — the bridge claimed it and never reported; check the broker', 'err', o.asset); break;
      case 'WORKING':
        if (before !== undefined) announce(orderText(o) + ' working at the broker', 'info', o.asset);
        break;
      default: break;
    }
  }
  ordersSeeded = true;
}

/** State poll: the daily stop, reconciliation (a position mismatch and its end), the bridge. */
export function stateChanged(state) {
  const g = state.global;
  const assets = state.assets;
  if (lastGlobal) {
    if (g.daily_stop_triggered && !lastGlobal.daily_stop_triggered) {
      announce('DAILY STOP TRIGGERED — ' + (g.daily_stop_triggered_reason || 'drawdown limit reached') +
        ' · trading locked, positions flattened', 'err', null);
    }
    if (g.rithmic_connected !== lastGlobal.rithmic_connected) {
      announce(g.rithmic_connected ? 'Bridge connected' : 'BRIDGE NOT CONNECTED — orders wait until it polls',
        g.rithmic_connected ? 'ok' : 'err', null);
    }
  }
  if (lastAssets) {
    for (const [key, a] of Object.entries(assets)) {
      const b = lastAssets[key];
      if (!b) continue;
      if (a.position_mismatch && !b.position_mismatch) {
        announce('POSITION MISMATCH — broker ' + (a.broker_position ?? '?') + ' vs local ' + a.position +
          ': entries blocked until they agree', 'err', key);
      } else if (!a.position_mismatch && b.position_mismatch) {
        announce('Reconciled — broker and local position agree (' + a.position + ')', 'ok', key);
      }
    }
  }
  lastGlobal = g;
  lastAssets = assets;
}
