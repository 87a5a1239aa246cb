/* OperatorLock operator dashboard (§14 adapted to this backend; decisions D2, D5, D8, D10, D12–D14).
 *
 * Vanilla JS as ES modules, no build step, nothing loaded from elsewhere. A newcomer's map:
 *   main.js      boot, the polls, wiring of the page's fixed buttons
 *   store.js     the page state, the server clock, offline detection, lock end times, instrument names
 *   api.js       fetch with timeout, the server's error text, the poll loop helper
 *   header.js    header figures (money, connectivity) and banners
 *   cards.js     one card per asset: streams, position money and controls, gates
 *   actions.js   what each click sends and the answer it shows
 *   announce.js  fills, rejects, cancels, automatic exits, daily stop, reconciliation → card, feed, sound, title
 *   orders.js    the Orders table and STALE list
 *   modals.js    entry dialog and confirmation box (focus trap)
 *   charts.js    bricks and P&L curve (lightweight-charts)
 *   trades.js, log.js, risk.js, tabs.js: the other tabs
 *   push.js      "Notify this device" (Web Push, sw.js) and the card anchors a notification opens (/#card-ES)
 * The server decides: the entry button follows GET /api/gates `can_enter`; every refusal is shown verbatim.
 */
import { $ } from './dom.js';
import { api, every } from './api.js';
import { S, offline } from './store.js';
import { renderBanners, renderHeader } from './header.js';
import { initCards, renderAssets, renderGatesOnly, renderOneCard } from './cards.js';
import { renderOrders } from './orders.js';
import { closeConfirm, closeOrderModal, confirmBox, confirmOpen, openOrderModal, renderConfirm, renderModal, runConfirm, trapFocus } from './modals.js';
import { act, bridgeTiming, cancelOrder, confirmOrder, envTag, initActions, onCardAction } from './actions.js';
import { initAnnouncer, ordersChanged, stateChanged, tiedChanges, watchFlat } from './announce.js';
import { initActionBar, renderActionBar } from './actionbar.js';
import { initTabs } from './tabs.js';
import { loadHistory, renderHistory, renderOpenSummary } from './trades.js';
import { loadLogs } from './log.js';
import { initRisk, loadRisk, renderRisk } from './risk.js';
import { dirOfColor } from './format.js';
import { refreshCharts } from './charts.js';
import { initPush } from './push.js';

let tab = 'console';
const pollers = {};
let wasOffline = false;

function renderAll() {
  renderHeader();
  renderBanners();
  renderAssets();
  renderOrders();
  renderModal();
  renderRisk();
  renderActionBar();
  if (tab === 'trades') renderOpenSummary();
}

function refreshSoon() {
  for (const name of ['state', 'gates', 'orders']) if (pollers[name]) pollers[name].now();
}

// ---- polls ---------------------------------------------------------------------------------------------------

async function loadState() {
  try {
    const data = await api('GET', '/api/state');
    if (!data || !data.global || !data.assets) throw new Error('bad state');
    const first = !S.state;
    S.state = data;
    S.stateAt = Date.now();
    S.lastOkAt = Date.now();
    if (typeof data.global.server_time === 'number') S.offset = data.global.server_time - Date.now() / 1000;
    stateChanged(data);
    if (first && pollers.gates) pollers.gates.now();
  } catch (e) {
    if (e.status !== 401) S.lastFailAt = Date.now();
    throw e;
  } finally {
    if (offline() !== wasOffline) { wasOffline = offline(); document.body.classList.toggle('offline', wasOffline); }
    renderAll();
  }
}

function gatesDirection(a) {
  // In a FREE zone the structure gate needs a side; only the side matching the 2.5pt colour can pass (§5.6),
  // so ask the server about that one. Elsewhere the server picks the side itself.
  if (a && a.zone_type === 'FREE') return dirOfColor(a.two_half_renko_color);
  return null;
}

async function loadGates() {
  if (!S.state) return;
  await Promise.all(Object.keys(S.state.assets).map(async (key) => {
    const direction = gatesDirection(S.state.assets[key]);
    const q = '/api/gates?asset=' + encodeURIComponent(key) + (direction ? '&direction=' + direction : '');
    try {
      S.gates[key] = { body: await api('GET', q), at: Date.now(), direction, error: null };
    } catch (e) {
      // keep the last board (shown greyed and aged) rather than blank it on one failed poll
      const prev = S.gates[key];
      S.gates[key] = prev && prev.body ? { ...prev, error: e.message } : { body: null, at: Date.now(), direction, error: e.message };
    }
  }));
  renderAssets();
  renderModal();
}

async function loadOrders() {
  const data = await api('GET', '/api/orders?limit=30');
  S.orders = Array.isArray(data.orders) ? data.orders : [];
  S.ordersAt = Date.now();
  // two changes at one server time (a frozen dev clock): the audit log's commit order says which came first
  let logs = null;
  if (tiedChanges(S.orders)) {
    try { logs = (await api('GET', '/api/logs?limit=60')).events; } catch (e) { logs = null; }
  }
  ordersChanged(S.orders, logs);
  renderOrders();
  renderBanners();
  renderAssets();
  renderActionBar();
}

async function loadWindow() {
  S.window = await api('GET', '/api/session-window');
  S.windowAt = Date.now();
  renderHeader();
}

// ---- wiring --------------------------------------------------------------------------------------------------

function showTab(name) {
  tab = name;
  if (name === 'trades') { renderOpenSummary(); loadHistory().catch(() => {}); }
  if (name === 'log') loadLogs().catch(() => {});
  if (name === 'risk') loadRisk().catch(() => {});
  if (name === 'charts') refreshCharts().catch(() => {});
}

function flattenAll() {
  if (offline()) return;
  confirmBox(envTag() + 'Flatten all', 'Send a market exit for every open position on every asset' + bridgeTiming().when +
    ' (bypasses the initial exit lock)?' + bridgeTiming().note, 'FLATTEN ALL', () => act('exit-all', '/api/exit-all', { force: true }, null, (d) => {
    const n = Array.isArray(d.orders) ? d.orders.length : 0;
    const skipped = Array.isArray(d.skipped) ? d.skipped.length : 0;
    if (n) watchFlat('FLATTEN ALL');
    return 'Exit orders sent: ' + n + (skipped ? ' · skipped: ' + skipped : '') + ' — waiting for the fills';
  }));
}

function wire() {
  initTabs(showTab);
  initCards((key, btn) => onCardAction(key, btn, openOrderModal));
  initActions(refreshSoon, renderAll);
  initActionBar((key, btn) => onCardAction(key, btn, openOrderModal), flattenAll);
  initAnnouncer((asset) => renderOneCard(asset));
  initRisk(renderHeader);
  initPush().catch(() => {});

  $('om-cancel').addEventListener('click', closeOrderModal);
  $('om-confirm').addEventListener('click', confirmOrder);
  $('om-type').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-type]');
    if (!b || b.disabled || !S.modal) return;
    S.modal.type = b.dataset.type;
    S.modal.error = '';
    S.modal.dir = null;
    const a = S.state.assets[S.modal.asset];
    if (S.modal.type === 'intent' && a.zone_type === 'NORMAL') S.modal.dir = dirOfColor(a.high_renko_color);
    renderModal();
  });
  $('om-mode').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-mode]');
    if (b && S.modal) { S.modal.mode = b.dataset.mode; renderModal(); }
  });
  $('om-size').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-size]');
    if (b && !b.disabled && S.modal) { S.modal.size = b.dataset.size; renderModal(); }
  });
  $('om-dir').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-dir]');
    if (b && !b.disabled && S.modal) { S.modal.dir = b.dataset.dir; S.modal.error = ''; renderModal(); }
  });
  $('cm-cancel').addEventListener('click', closeConfirm);
  $('cm-ok').addEventListener('click', runConfirm);
  $('cm-word').addEventListener('input', renderConfirm);
  $('om-live-word').addEventListener('input', renderModal);
  document.addEventListener('keydown', (ev) => {
    trapFocus(ev);
    if (ev.key !== 'Escape') return;
    if (confirmOpen()) closeConfirm();
    else if (S.modal) closeOrderModal();
  });
  $('more-stats').addEventListener('click', () => {
    const open = $('more-stats').getAttribute('aria-expanded') !== 'true';
    $('more-stats').setAttribute('aria-expanded', open ? 'true' : 'false');
    $('more-stats').textContent = open ? 'Less' : 'More';
    document.body.classList.toggle('stats-open', open);
  });
  $('env-switch').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-env]');
    if (!b || b.disabled || !S.state || b.dataset.env === S.state.global.env) return;
    const env = b.dataset.env;
    const send = () => act('env', '/api/env', { env }, null, () => 'Environment: ' + env);
    if (env === 'LIVE') {
      confirmBox('Switch to LIVE', 'New orders will carry env LIVE and the bridge will route them to the live account.',
        'Switch to LIVE', send);
    } else send().catch(() => {});
  });
  $('exit-all').addEventListener('click', flattenAll);
  const cancelDelegate = (ev) => {
    const b = ev.target.closest('button[data-cancel]');
    if (b && !b.disabled) cancelOrder(b.dataset.cancel);
  };
  $('stale-orders').addEventListener('click', cancelDelegate);
  $('orders-body').addEventListener('click', cancelDelegate);
  $('history-refresh').addEventListener('click', () => loadHistory().catch(() => {}));
  $('hist-asset').addEventListener('change', renderHistory);
  $('hist-day').addEventListener('change', renderHistory);
  $('log-refresh').addEventListener('click', () => loadLogs().catch(() => {}));
  $('log-asset').addEventListener('change', () => loadLogs().catch(() => {}));
  $('log-operator').addEventListener('change', () => loadLogs().catch(() => {}));
  $('charts-refresh').addEventListener('click', () => refreshCharts().catch(() => {}));
}

async function boot() {
  try {
    const status = await api('GET', '/api/auth/status');
    if (!status.authenticated) { window.location.replace('/login.html'); return; }
    if (status.operator && status.operator.email) {  // operator accounts: who is signed in, and what Sign out does
      $('signout').title = 'Signed in as ' + status.operator.email + '. Sign out ends this account\'s sessions on every device.';
    }
  } catch (e) {
    if (e.status === 401) return;
  }
  document.body.classList.remove('booting');
  wire();
  pollers.state = every(1000, loadState);
  pollers.gates = every(2000, loadGates);
  pollers.orders = every(2000, loadOrders);
  every(10000, loadRisk);
  every(30000, loadWindow);
  every(10000, async () => {
    if (tab === 'trades') await loadHistory();
    if (tab === 'log') await loadLogs();
    if (tab === 'charts') await refreshCharts();
  });
  setInterval(() => {
    // the clock-driven parts (ages, countdowns, "last update N s ago") between polls
    renderHeader();
    renderBanners();
    renderGatesOnly();
    renderOrders();
    renderActionBar();
    if (offline() !== wasOffline) { wasOffline = offline(); renderAll(); }
  }, 1000);
}

boot();
