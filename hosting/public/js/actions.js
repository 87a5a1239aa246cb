/* What the operator's clicks send. Every answer is shown: the server's refusal verbatim, a toggle's new ON/OFF,
 * an order "sent — waiting for the bridge" (its fill, reject or cancel is announced when the bridge reports). */
import { $ } from './dom.js';
import { fmtAge, fmtPx, num, sourceLabel } from './format.js';
import { S, instrument, serverNow } from './store.js';
import { command } from './api.js';
import { cardMessage } from './cards.js';
import { closeOrderModal, confirmBox, marketDirection, renderModal } from './modals.js';

let refresh = () => {};
let rerender = () => {};
export function initActions(onRefresh, onRender) { refresh = onRefresh; rerender = onRender; }

let toastTimer = null;
export function toast(text, kind) {
  const el = $('toast');
  el.textContent = text;
  el.className = 'toast ' + (kind || '');
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, kind === 'err' ? 9000 : 5000);
}

/** POST, show the server's answer, then refresh what it may have changed. */
export async function act(busyKey, path, body, asset, okText) {
  if (S.busy.has(busyKey)) return null;
  S.busy.add(busyKey);
  rerender();
  try {
    const data = await command(path, body);
    const text = okText ? okText(data) : 'Done';
    if (asset) cardMessage(asset, text, 'info');
    else toast(text, 'ok');
    return data;
  } catch (e) {
    if (e.status !== 401) {
      if (asset) cardMessage(asset, e.message, 'err');
      else toast(e.message, 'err');
    }
    throw e;
  } finally {
    S.busy.delete(busyKey);
    refresh();
  }
}

const onOff = (v) => (v ? 'ON' : 'OFF');
function orderId(data) {
  return data && data.order && data.order.id ? data.order.id : data && data.order_id ? data.order_id : '';
}
const sent = (what) => (d) => what + ' ' + orderId(d) + ' sent — waiting for the bridge';

/** When the bridge will act on an order sent now: at once, or once a silent bridge polls again. */
export function bridgeTiming() {
  const g = S.state && S.state.global;
  if (g && g.rithmic_connected) return { now: true, when: ' now', note: '' };
  const seen = g ? num(g.rithmic_last_ts) : null;
  return { now: false, when: '', note: ' The bridge is silent (' + (seen === null ? 'never heard from'
    : 'last heard ' + fmtAge(serverNow() - seen) + ' ago') + '): the order waits, unsent, and goes out when the bridge polls again.' };
}

/** The environment's word in a dialog's title: LIVE orders reach the live account. */
export function envTag() {
  return S.state && S.state.global.env === 'LIVE' ? 'LIVE · ' : 'DEMO · ';
}

export function cancelOrder(id, asset) {
  if (!id) return;
  const key = asset || String(id).split('-')[0];
  const order = S.orders.find((o) => o.id === id);
  const a = S.state && S.state.assets[key];
  const isExit = order ? order.kind === 'EXIT' : !!(a && a.pending_order_id === id && a.pending_kind === 'EXIT');
  const send = () => act('cancel:' + id, '/api/orders/' + encodeURIComponent(id) + '/cancel', {}, a ? key : null,
    () => 'Order ' + id + ' cancelled' + (isExit ? ' — the position stays open' : ''));
  if (!isExit) { send().catch(() => {}); return; }
  // one click must not undo an exit: say what stays open, and ask
  const what = order ? order.side + ' ' + order.qty + ' ' + (order.symbol || '') + ' (' + sourceLabel(order.source) + ')' : id;
  const pos = a && a.position !== 0 ? key + ' ' + (a.position > 0 ? 'LONG ' : 'SHORT ') + Math.abs(a.position) + ' ' + instrument(key) : key;
  confirmBox(envTag() + 'Cancel the exit ' + key + '?', 'Cancel the exit order ' + what + '? The ' + pos +
    ' position stays open with no exit working.', 'CANCEL THE EXIT', send, { keep: 'Keep the exit' });
}

/** A click on a card's button (data-act). */
export function onCardAction(key, btn, openOrderModal) {
  const a = S.state && S.state.assets[key];
  if (!a) return;
  const body = { asset: key };
  const swallow = (p) => p && p.catch(() => {});
  const inst = instrument(key);
  switch (btn.dataset.act) {
    case 'enter': openOrderModal(key, 'market'); break;
    case 'intent': openOrderModal(key, 'intent'); break;
    case 'cancel-intent': swallow(act('cancel-intent:' + key, '/api/intent/cancel', body, key, () => 'Intent cancelled')); break;
    case 'cancel-preorder': swallow(act('cancel-preorder:' + key, '/api/preorder/cancel', body, key, () => 'Pre-order cancelled')); break;
    case 'cancel-order': cancelOrder(btn.dataset.id, key); break;
    case 'tp-next': swallow(act('tp-next:' + key, '/api/take-profit', { asset: key, tp_arm: 'toggle' }, key, (d) => '6PT NEXT: ' + onOff(d.tp_armed))); break;
    case 'high-next': swallow(act('high-next:' + key, '/api/high-next-bar-exit', body, key, (d) => '8PT NEXT: ' + onOff(d.high_next_bar_exit_enabled))); break;
    case 'main-flip': swallow(act('main-flip:' + key, '/api/main-flip-exit', body, key, (d) => '6PT FLIP: ' + onOff(d.main_flip_exit_enabled))); break;
    case 'four-pt': swallow(act('four-pt:' + key, '/api/four-pt-invalidation', body, key, (d) => '4PT INVALIDATION: ' + onOff(d.four_pt_invalidation_enabled))); break;
    case 'tp-preset': {
      const v = Number(btn.dataset.v);
      swallow(act('tp-preset:' + key, '/api/points-take-profit', { asset: key, target: v, enabled: true }, key,
        (d) => 'Points TP: ' + onOff(d.points_tp_enabled) + ' at ' + v + ' pts' +
          (num(a.avg_price) !== null ? ' (' + fmtPx(a.avg_price + (a.position > 0 ? v : -v)) + ')' : '')));
      break;
    }
    case 'tp-toggle':
      swallow(act('tp-toggle:' + key, '/api/points-take-profit', { asset: key, enabled: !a.points_tp_enabled }, key,
        (d) => 'Points TP: ' + onOff(d.points_tp_enabled)));
      break;
    case 'protect': {
      const v = Number(btn.dataset.v);
      const turnOff = a.protect_enabled && num(a.protect_threshold_points) === v;
      swallow(act('protect:' + key, '/api/protect', { asset: key, threshold: v, enabled: !turnOff }, key,
        (d) => 'Protect ' + (v > 0 ? '+' : '') + v + ': ' + onOff(d.protect_enabled && num(d.protect_threshold_points ?? v) === v)));
      break;
    }
    case 'scale-in':
      confirmBox(envTag() + 'Scale in ' + key, 'Add ' + 5 + ' ' + inst + ' to the ' + (a.position > 0 ? 'LONG ' : 'SHORT ') +
        Math.abs(a.position) + ' ' + inst + ' position at market?', 'SCALE IN',
      () => act('scale-in:' + key, '/api/scale-in', body, key, sent('Scale-in order')));
      break;
    case 'exit':
      confirmBox(envTag() + 'Exit ' + key, 'Send a market exit for the whole ' + key + ' position (' + Math.abs(a.position) + ' ' + inst + ')' +
        bridgeTiming().when + '?' + bridgeTiming().note, 'EXIT', () => act('exit:' + key, '/api/exit', { asset: key }, key, sent('Exit order')));
      break;
    case 'force-exit':
      confirmBox(envTag() + 'FORCE EXIT ' + key, 'Exit the ' + key + ' position (' + Math.abs(a.position) + ' ' + inst +
        ')' + bridgeTiming().when + ', bypassing the initial exit lock?' + bridgeTiming().note, 'FORCE EXIT',
      () => act('force-exit:' + key, '/api/exit', { asset: key, force: true }, key, sent('Exit order')));
      break;
    default: break;
  }
}

export async function confirmOrder() {
  const m = S.modal;
  if (!m) return;
  const asset = m.asset;
  const a = S.state.assets[asset];
  m.error = '';
  let path;
  let body;
  if (m.type === 'market') {
    body = { asset, mode: 'A', trade_mode: m.mode, entry_size_mode: m.size, order_type: 'market' };
    if (marketDirection(a).choose) body.direction = m.dir;
    path = '/api/orders';
  } else {
    body = { asset, direction: m.dir };
    path = '/api/intent';
  }
  try {
    await act('order:' + asset, path, body, asset, (d) => (m.type === 'market'
      ? 'Entry ' + orderId(d) + ' sent — waiting for the bridge' + (S.state.global.rithmic_connected ? '' : ' (not connected)')
      : 'Intent ' + m.dir + ' set — READY on the next 6pt bar'));
    if (S.modal === m) closeOrderModal();
  } catch (e) {
    if (S.modal === m) {
      m.error = e.message;
      renderModal();
    }
  }
}
