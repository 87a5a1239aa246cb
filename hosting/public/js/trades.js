/* The Trades tab: what is open now, and the closed trades with filters (asset, trading day) and the day's totals. */
import { $, h, patch } from './dom.js';
import { DASH, fmtDuration, fmtPts, fmtPx, fmtTs, fmtUsd, num, signClass, sourceLabel, tradingDayOf } from './format.js';
import { S, instrument } from './store.js';
import { api } from './api.js';

export async function loadHistory() {
  const data = await api('GET', '/api/history?limit=200');
  S.history = Array.isArray(data.history) ? data.history : [];
  renderHistory();
}

export function renderOpenSummary() {
  const st = S.state;
  if (!st) return;
  const rows = [];
  for (const [key, a] of Object.entries(st.assets)) {
    if (a.position !== 0) rows.push(['Position', key, (a.position > 0 ? 'LONG ' : 'SHORT ') + Math.abs(a.position) + ' ' + instrument(key) + ' @ ' + fmtPx(a.avg_price) + (a.trade_mode ? ' · ' + a.trade_mode : '')]);
    if (a.pending_order_id) rows.push(['Pending order', key, (a.pending_kind || '') + ' ' + (a.pending_side || '') + ' ' + (a.pending_qty || '') + ' · ' + a.pending_order_id]);
    if (a.intent_active) rows.push(['Intent', key, (a.intent_direction || '?') + ' · ' + (a.intent_status || '') + ' · since ' + fmtTs(a.intent_created_ts)]);
    if (a.preorder_active) rows.push(['Pre-order', key, (a.preorder_direction || '?') + ' · ' + (a.preorder_status || '') + ' · since ' + fmtTs(a.preorder_created_ts)]);
  }
  patch($('open-summary'), JSON.stringify(rows), () => (rows.length
    ? h('div', { class: 'table-wrap' }, h('table', { class: 'grid' }, h('tbody', null, rows.map((r) => h('tr', null, r.map((c) => h('td', null, c)))))))
    : h('p', { class: 'empty' }, 'Nothing open: no position, pending order, intent or pre-order.')));
}

/** The trades the filters keep: an asset (or all) and a trading day (today, or all). */
export function filteredTrades() {
  const asset = $('hist-asset').value;
  const day = $('hist-day').value;
  const today = S.state ? S.state.global.trading_day : null;
  return S.history.filter((t) => (!asset || t.asset === asset) && (day !== 'today' || tradingDayOf(t.exit_ts) === today));
}

export function renderHistory() {
  const rows = filteredTrades();
  const usd = rows.reduce((s, t) => s + (num(t.pnl_usd) || 0), 0);
  const pts = rows.reduce((s, t) => s + (num(t.pnl_points) || 0), 0);
  const wins = rows.filter((t) => num(t.pnl_usd) > 0).length;
  const losses = rows.filter((t) => num(t.pnl_usd) < 0).length;
  const label = $('hist-day').value === 'today' ? 'This trading day' : 'All loaded';
  patch($('hist-totals'), JSON.stringify([rows.length, usd, pts, wins, losses, label]), () => [
    h('span', { class: 'tot' }, label + ': ' + rows.length + ' trade' + (rows.length === 1 ? '' : 's')),
    h('span', { class: 'tot ' + signClass(usd) }, 'P&L ' + (rows.length ? fmtUsd(usd, true) : DASH)),
    h('span', { class: 'tot ' + signClass(pts) }, rows.length ? fmtPts(pts) : DASH),
    h('span', { class: 'tot' }, wins + ' won · ' + losses + ' lost'),
  ]);
  patch($('history-body'), JSON.stringify(rows), () => {
    if (!rows.length) return h('tr', null, h('td', { colspan: 10, class: 'empty' }, S.history.length ? 'No closed trades match the filters' : 'No closed trades yet'));
    return rows.map((t) => {
      const tr = h('tr', { class: 'clickable', tabindex: '0' },
        h('td', null, fmtTs(t.exit_ts)), h('td', null, t.asset), h('td', null, (t.side || '') + ' × ' + (t.size ?? '')),
        h('td', null, fmtPx(t.entry_price) + ' → ' + fmtPx(t.exit_price)),
        h('td', null, num(t.exit_ts) !== null && num(t.entry_ts) !== null ? fmtDuration(t.exit_ts - t.entry_ts) : DASH),
        h('td', { class: signClass(t.pnl_points) }, fmtPts(t.pnl_points)),
        h('td', { class: signClass(t.pnl_usd) }, fmtUsd(t.pnl_usd, true)),
        h('td', null, sourceLabel(t.reason) === t.reason ? (t.reason || '') : sourceLabel(t.reason)),
        h('td', null, t.trade_mode || t.mode || ''), h('td', null, (t.symbol || '') + ' ' + (t.env || '')));
      const show = () => { const el = $('history-detail'); el.textContent = JSON.stringify(t, null, 2); el.hidden = false; };
      tr.addEventListener('click', show);
      tr.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') show(); });
      return tr;
    });
  });
}
