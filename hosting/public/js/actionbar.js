/* The action bar (issue 21 item 2): while a position is open, a strip fixed to the bottom of the screen keeps each
 * position, its open P&L and EXIT / FORCE EXIT, and FLATTEN ALL, within reach on any screen (on a phone the
 * orders box is far down the page). The buttons are the cards' own actions, disabled for the same reasons. */
import { $, h, patch } from './dom.js';
import { fmtAge, fmtPts, fmtPx, fmtUsd, signClass } from './format.js';
import { S, instrument, offline } from './store.js';
import { positionMoney } from './cards.js';
import { snapshotAge } from './header.js';

let handlers = { click: () => {}, flatten: () => {} };
export function initActionBar(onClick, onFlatten) {
  handlers = { click: onClick, flatten: onFlatten };
  $('action-bar').addEventListener('click', (ev) => {
    const btn = ev.target.closest('button');
    if (!btn || btn.disabled) return;
    if (btn.id === 'bar-flatten') handlers.flatten();
    else if (btn.dataset.act && btn.dataset.asset) handlers.click(btn.dataset.asset, btn);
  });
}

export function renderActionBar() {
  const bar = $('action-bar');
  const st = S.state;
  const open = st ? Object.entries(st.assets).filter(([, a]) => a.position !== 0) : [];
  bar.hidden = !open.length;
  document.body.classList.toggle('has-bar', open.length > 0);
  if (!open.length) return;
  const down = offline();
  const snap = snapshotAge();
  const rows = open.map(([key, a]) => {
    const m = positionMoney(key, a);
    const pending = !!a.pending_order_id;
    const exitWhy = down ? 'offline' : pending ? 'an order is in flight' : a.initial_exit_lock_active ? 'initial exit lock — use FORCE EXIT' : '';
    const forceWhy = down ? 'offline' : pending ? 'an order is in flight' : '';
    return { key, side: a.position > 0 ? 'LONG' : 'SHORT', qty: Math.abs(a.position), inst: instrument(key),
      avg: fmtPx(a.avg_price), usd: m ? fmtUsd(m.usd, true) : '—', pts: m ? fmtPts(m.pts) : '', cls: m ? signClass(m.usd) : '',
      pending: pending ? (a.pending_kind || 'ORDER') + ' pending' : '', exitWhy, forceWhy,
      busy: S.busy.has('exit:' + key) || S.busy.has('force-exit:' + key) };
  });
  const aged = snap.silent ? (snap.age === null ? 'no snapshot' : fmtAge(snap.age) + ' old') : '';
  const flattenBusy = S.busy.has('exit-all');
  // the money changes every snapshot (and its age every second): updated in place below, so the buttons stay the
  // same elements between a press and its release
  const sig = rows.map((r) => [r.key, r.side, r.qty, r.pending, r.exitWhy, r.forceWhy, r.busy]);
  patch(bar, JSON.stringify([sig, down, flattenBusy]), () => [
    h('div', { class: 'bar-rows' }, rows.map((r) => h('div', { class: 'bar-row', id: 'bar-' + r.key },
      h('span', { class: 'pill side ' + r.side.toLowerCase() }, r.key + ' ' + r.side + ' ' + r.qty),
      h('span', { class: 'bar-pnl ' + r.cls + (aged ? ' aged' : ''), id: 'bar-pnl-' + r.key },
        ''),
      r.pending ? h('span', { class: 'warn-text' }, r.pending) : null,
      h('span', { class: 'bar-btns' },
        h('button', { type: 'button', class: 'btn danger ctl', dataset: { act: 'exit', asset: r.key },
          disabled: !!r.exitWhy || r.busy, title: r.exitWhy || 'Market exit of the whole position' }, 'EXIT…'),
        h('button', { type: 'button', class: 'btn danger strong ctl', dataset: { act: 'force-exit', asset: r.key },
          disabled: !!r.forceWhy || r.busy, title: r.forceWhy || 'Exit now, bypassing the initial exit lock' }, 'FORCE EXIT…'))))),
    h('button', { type: 'button', class: 'btn danger strong', id: 'bar-flatten', disabled: down || flattenBusy,
      title: down ? 'Offline: the server does not answer' : 'Market exit of every open position' }, 'FLATTEN ALL…'),
  ]);
  for (const r of rows) {
    const el = $('bar-pnl-' + r.key);
    const txt = 'OPEN ' + r.usd + (r.pts ? ' · ' + r.pts : '') + (aged ? ' · ' + aged + ', bridge silent' : '');
    if (el.textContent !== txt) el.textContent = txt;
    el.className = 'bar-pnl ' + r.cls + (aged ? ' aged' : '');
  }
}
