/* Dialogs: the entry/intent dialog and the confirmation box. Both trap the keyboard focus while open, close with
 * Escape, give focus back to the button that opened them, and always fit in the viewport (CSS). */
import { $ } from './dom.js';
import { dirOfColor, fmtUsd, num } from './format.js';
import { S, instrument, offline } from './store.js';

let returnFocus = null;

function focusables(root) {
  return [...root.querySelectorAll('button, [href], input, select, textarea, [tabindex]:not([tabindex="-1"])')]
    .filter((el) => !el.disabled && !el.closest('[hidden]') && el.offsetParent !== null);
}

/** Keep Tab inside the open dialog. */
export function trapFocus(ev) {
  if (ev.key !== 'Tab') return;
  const open = [...document.querySelectorAll('.modal-back')].find((m) => !m.hidden);
  if (!open) return;
  const items = focusables(open);
  if (!items.length) return;
  const first = items[0];
  const last = items[items.length - 1];
  if (ev.shiftKey && (document.activeElement === first || !open.contains(document.activeElement))) {
    ev.preventDefault();
    last.focus();
  } else if (!ev.shiftKey && (document.activeElement === last || !open.contains(document.activeElement))) {
    ev.preventDefault();
    first.focus();
  }
}

// ---- confirmation box ---------------------------------------------------------------------------------------

let confirmAction = null;

export function confirmBox(title, text, okLabel, action) {
  returnFocus = document.activeElement;
  $('cm-title').textContent = title;
  $('cm-text').textContent = text;
  $('cm-ok').textContent = okLabel;
  $('cm-error').textContent = '';
  $('cm-ok').disabled = offline();
  confirmAction = action;
  $('confirm-modal').hidden = false;
  $('cm-cancel').focus();
}

export function closeConfirm() {
  confirmAction = null;
  $('confirm-modal').hidden = true;
  if (returnFocus && document.contains(returnFocus)) returnFocus.focus();
}

export async function runConfirm() {
  if (!confirmAction) return;
  const action = confirmAction;
  $('cm-ok').disabled = true;
  try {
    await action();
    closeConfirm();
  } catch (e) {
    $('cm-error').textContent = e.message;
    $('cm-ok').disabled = offline();
  }
}

export function confirmOpen() { return !$('confirm-modal').hidden; }

// ---- entry / intent dialog ----------------------------------------------------------------------------------

export function openOrderModal(asset, type) {
  const a = S.state.assets[asset];
  returnFocus = document.activeElement;
  S.modal = { asset, type, mode: 'SCALP', size: '6pt', dir: null, error: '' };
  if (type === 'intent' && a.zone_type === 'NORMAL') S.modal.dir = dirOfColor(a.high_renko_color);
  $('order-modal').hidden = false;
  renderModal();
  ($('om-confirm').disabled ? $('om-cancel') : $('om-confirm')).focus();
}

export function closeOrderModal() {
  S.modal = null;
  $('order-modal').hidden = true;
  if (returnFocus && document.contains(returnFocus)) returnFocus.focus();
}

function sizeRestriction(inst) {
  const bal = num(S.state.global.rithmic_account_balance);
  if (bal === null) return '5 ' + inst + ' unavailable: account balance unknown (no broker snapshot yet) — 3 ' + inst;
  if (bal >= 1000 && bal <= 2000) return '5 ' + inst + ' unavailable: account balance ' + fmtUsd(bal) + ' — 3 ' + inst;
  return '';
}

/** The direction the market entry will use, whether the operator must choose, and why. */
export function marketDirection(a) {
  if (a.intent_active && a.intent_status === 'READY' && a.intent_direction) {
    return { auto: a.intent_direction, note: 'Intent READY: ' + a.intent_direction };
  }
  if (a.zone_type === 'NORMAL') {
    const d = dirOfColor(a.high_renko_color);
    return { auto: d, note: 'NORMAL zone: direction follows the 8pt (' + d + ')' };
  }
  if (a.zone_type === 'FREE') {
    const allowed = dirOfColor(a.two_half_renko_color);
    return { choose: true, allowed, note: allowed ? 'FREE zone: choose; only ' + allowed + ' matches the 2.5pt (' +
      a.two_half_renko_color + ')' : 'FREE zone: the 2.5pt is neutral — no side can pass' };
  }
  return { auto: null, note: '8pt/12pt structure unavailable' };
}

function blockedText(gate) {
  if (!gate || !gate.body) return gate && gate.error ? gate.error : '';
  const r = gate.body.gates.find((x) => !x.pass);
  return r ? r.reason || r.code : '';
}

export function renderModal() {
  const m = S.modal;
  if (!m || !S.state) return;
  const a = S.state.assets[m.asset];
  const g = S.state.global;
  const gate = S.gates[m.asset];
  const canEnter = !!(gate && gate.body && gate.body.can_enter);
  const inst = instrument(m.asset);
  $('om-title').textContent = (m.type === 'market' ? 'Market entry — ' : 'Intent (next 6pt bar) — ') + m.asset;
  $('om-market').disabled = !canEnter;
  $('om-market').title = canEnter ? '' : 'Market entry blocked by the gates';
  for (const [id, on] of [['om-market', m.type === 'market'], ['om-intent', m.type === 'intent']]) {
    $(id).classList.toggle('on', on);
    $(id).setAttribute('aria-pressed', on ? 'true' : 'false');
  }

  const restricted = sizeRestriction(inst);
  if (restricted) m.size = '9pt';
  for (const btn of $('om-mode').querySelectorAll('button')) {
    btn.classList.toggle('on', btn.dataset.mode === m.mode);
    btn.setAttribute('aria-pressed', btn.dataset.mode === m.mode ? 'true' : 'false');
  }
  $('om-size-5').textContent = '5 ' + inst;
  $('om-size-3').textContent = '3 ' + inst;
  $('om-size-5').disabled = !!restricted;
  for (const btn of $('om-size').querySelectorAll('button')) {
    btn.classList.toggle('on', btn.dataset.size === m.size);
    btn.setAttribute('aria-pressed', btn.dataset.size === m.size ? 'true' : 'false');
  }
  $('om-size-note').textContent = restricted;
  $('om-mode-row').hidden = m.type !== 'market';
  $('om-size-row').hidden = m.type !== 'market';
  $('om-size-note').hidden = m.type !== 'market';
  $('om-bridge').textContent = g.rithmic_connected ? ''
    : 'The bridge is not connected: the order would wait, unsent, until it polls.';

  const buy = $('om-buy');
  const sell = $('om-sell');
  let ready = true;
  if (m.type === 'market') {
    const d = marketDirection(a);
    if (d.choose) {
      buy.disabled = d.allowed !== 'BUY';
      sell.disabled = d.allowed !== 'SELL';
      if (m.dir && m.dir !== d.allowed) m.dir = null;
      ready = !!m.dir;
      $('om-dir-auto').textContent = '';
    } else {
      buy.disabled = sell.disabled = true;
      m.dir = null;
      $('om-dir-auto').textContent = d.auto ? 'auto: ' + d.auto : '';
    }
    buy.classList.toggle('on', (m.dir || d.auto) === 'BUY');
    sell.classList.toggle('on', (m.dir || d.auto) === 'SELL');
    $('om-dir-note').textContent = d.note;
    ready = ready && canEnter;
  } else {
    buy.disabled = sell.disabled = false;
    buy.classList.toggle('on', m.dir === 'BUY');
    sell.classList.toggle('on', m.dir === 'SELL');
    $('om-dir-auto').textContent = '';
    $('om-dir-note').textContent = 'READY on the next 6pt bar; expires at the 6pt bar after that (or after 15 min)';
    ready = !!m.dir;
  }
  buy.setAttribute('aria-pressed', buy.classList.contains('on') ? 'true' : 'false');
  sell.setAttribute('aria-pressed', sell.classList.contains('on') ? 'true' : 'false');
  $('om-error').textContent = offline() ? 'Offline: the server does not answer'
    : m.error || (m.type === 'market' && !canEnter ? blockedText(gate) : '');
  $('om-confirm').disabled = offline() || !ready || S.busy.has('order:' + m.asset);
  $('om-confirm').textContent = m.type === 'market' ? 'Confirm' : 'Confirm intent';
}
