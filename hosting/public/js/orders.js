/* The Orders table (source, fill price, reason, age) and the STALE list. Cancel is offered only for an order
 * the bridge has not reported on (PENDING, or STALE: claimed and never reported). */
import { $, h, patch } from './dom.js';
import { fmtAge, fmtPx, fmtTime, sourceLabel } from './format.js';
import { S, offline, serverNow } from './store.js';

const CANCELLABLE = new Set(['PENDING', 'STALE']);
/** A protective stop (D21) is never the asset's pending order, and is not cancelled from the desk: the bridge
 * cancels it when an exit replaces it, and cancelling it here would leave the position unprotected. */
const cancellable = (o) => CANCELLABLE.has(o.status) && o.kind !== 'STOP';

export function renderOrders() {
  const orders = S.orders;
  const down = offline();
  const now = serverNow();
  const stale = orders.filter((o) => o.status === 'STALE');
  const exitAll = $('exit-all');
  const open = S.state ? Object.values(S.state.assets).some((a) => a.position !== 0) : false;
  exitAll.disabled = down || !open;
  exitAll.title = down ? 'Offline: the server does not answer' : open ? 'Market exit of every open position'
    : 'No open positions to exit';
  const busyIds = [...S.busy].filter((b) => b.startsWith('cancel:')).join(',');
  patch($('stale-orders'), JSON.stringify([stale, busyIds, down]), () => stale.map((o) =>
    h('div', { class: 'stale-row', dataset: { id: o.id } },
      h('span', { class: 'pill stale' }, 'STALE'),
      h('span', null, o.asset + ' ' + o.kind + ' ' + o.side + ' ' + o.qty + ' ' + (o.symbol || '') + ' · claimed by ' +
        (o.leaseOwner || '?') + ', no report before ' + fmtTime(o.leaseUntil)),
      h('code', { class: 'oid' }, o.id),
      o.kind === 'STOP' ? h('span', { class: 'warn-text' }, 'protective stop: check it at the broker')
        : h('button', { type: 'button', class: 'btn tiny danger', dataset: { cancel: o.id },
          disabled: down || S.busy.has('cancel:' + o.id) }, 'Cancel'))));
  patch($('orders-body'), JSON.stringify([orders, busyIds, down, Math.floor(now / 5)]), () => {
    if (!orders.length) return h('tr', null, h('td', { colspan: 11, class: 'empty' }, 'No orders yet'));
    return orders.map((o) => h('tr', { class: 'st-' + String(o.status).toLowerCase(), dataset: { id: o.id } },
      h('td', { title: fmtTime(o.createdAt) }, fmtTime(o.createdAt), h('span', { class: 'sub' }, ' ' + fmtAge(now - o.createdAt) + ' ago')),
      h('td', null, o.asset), h('td', null, o.kind), h('td', { class: 'src' }, sourceLabel(o.source)),
      h('td', null, o.side), h('td', null, (o.filled_qty ? o.filled_qty + '/' : '') + o.qty + ' ' + (o.symbol || '')),
      h('td', { class: 'px' }, o.kind === 'STOP' && !o.avg_fill_price ? 'stop ' + fmtPx(o.stop_price) : fmtPx(o.avg_fill_price)),
      h('td', null, h('span', { class: 'pill st st-' + String(o.status).toLowerCase() }, o.status),
        o.late_fill_qty ? h('span', { class: 'pill st st-rejected', title: 'filled at the broker after the desk ' +
          'thought it cancelled, rejected or stale' }, 'LATE FILL ' + o.late_fill_qty) : null),
      h('td', { class: 'reason' }, o.kind === 'STOP' ? stopNote(o) : o.reason || ''), h('td', null, h('code', { class: 'oid' }, o.id)),
      h('td', null, cancellable(o)
        ? h('button', { type: 'button', class: 'btn tiny', dataset: { cancel: o.id },
          disabled: down || S.busy.has('cancel:' + o.id) }, 'Cancel')
        : null)));
  });
}

function stopNote(o) {
  const what = 'protective stop' + (o.revision > 1 ? ' rev ' + o.revision : '');
  if (o.status === 'WORKING') return what + ' — resting at broker';
  if (o.status === 'REJECTED') return what + ' — REJECTED: unprotected' + (o.reason && o.reason !== 'broker_stop' ? ' (' + o.reason + ')' : '');
  if (o.status === 'FILLED') return what + ' — filled: the trade closed at the stop';
  if (o.status === 'CANCELLED') return what + ' — cancelled';
  return what + ' — not placed yet';
}
