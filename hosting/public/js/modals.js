/* Dialogs: the entry/intent dialog and the confirmation box. Both trap the keyboard focus while open, close with
 * Escape, give focus back to the button that opened them, and always fit in the viewport (CSS). */
import { $ } from './dom.js';
import { dirOfColor, fmtUsd, num } from './format.js';
import { S, instrument, offline, priceTooOld } from './store.js';
import { intentRefusal } from './cards.js';

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

let confirmWord = '';

/** `opts.keep`: the Cancel button's label; `opts.word`: a word the operator must type before OK is enabled. */
export function confirmBox(title, text, okLabel, action, opts) {
  const o = opts || {};
  returnFocus = document.activeElement;
  $('cm-title').textContent = title;
  $('cm-text').textContent = text;
  $('cm-ok').textContent = okLabel;
  $('cm-cancel').textContent = o.keep || 'Cancel';
  $('cm-error').textContent = '';
  confirmWord = o.word || '';
  $('cm-word-row').hidden = !confirmWord;
  $('cm-word-want').textContent = confirmWord;
  $('cm-word').value = '';
  confirmAction = action;
  $('confirm-modal').classList.toggle('live', title.startsWith('LIVE'));
  $('confirm-modal').hidden = false;
  renderConfirm();
  (confirmWord ? $('cm-word') : $('cm-cancel')).focus();
}

export function renderConfirm() {
  $('cm-ok').disabled = offline() || (!!confirmWord && $('cm-word').value.trim().toUpperCase() !== confirmWord);
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
    renderConfirm();
  }
}

export function confirmOpen() { return !$('confirm-modal').hidden; }

// ---- entry / intent dialog ----------------------------------------------------------------------------------

export function openOrderModal(asset, type) {
  const a = S.state.assets[asset];
  returnFocus = document.activeElement;
  S.modal = { asset, type, mode: 'SCALP', size: '6pt', dir: null, error: '' };
  if (type === 'intent' && a.zone_type === 'NORMAL') S.modal.dir = dirOfColor(a.high_renko_color);
  $('om-live-word').value = '';
  $('order-modal').hidden = false;
  renderModal();
  // never on Confirm: the Enter that opened the dialog must not send the order with a second Enter; a LIVE order
  // starts on the word to type
  (isLive() ? $('om-live-word') : $('om-cancel')).focus();
}

export function closeOrderModal() {
  S.modal = null;
  $('order-modal').hidden = true;
  if (returnFocus && document.contains(returnFocus)) returnFocus.focus();
}

export function isLive() { return !!(S.state && S.state.global.env === 'LIVE'); }

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
  const stalePrice = priceTooOld(m.asset);
  const canEnter = !!(gate && gate.body && gate.body.can_enter) && !stalePrice;
  const intentWhy = intentRefusal(m.asset, a);
  const inst = instrument(m.asset);
  const live = isLive();
  $('om-title').textContent = (live ? 'LIVE · ' : 'DEMO · ') + (m.type === 'market' ? 'Market entry — ' : 'Intent (next 6pt bar) — ') + m.asset;
  $('order-modal').classList.toggle('live', live);
  $('om-live-row').hidden = !live;
  $('om-live-want').textContent = 'LIVE';
  const typed = !live || $('om-live-word').value.trim().toUpperCase() === 'LIVE';
  $('om-market').disabled = !canEnter;
  $('om-market').title = canEnter ? '' : 'Market entry blocked: ' + (stalePrice || blockedText(gate));
  $('om-intent').disabled = !!intentWhy;
  $('om-intent').title = intentWhy ? 'Intent unavailable: ' + intentWhy : '';
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
    ready = !!m.dir && !intentWhy;
  }
  buy.setAttribute('aria-pressed', buy.classList.contains('on') ? 'true' : 'false');
  sell.setAttribute('aria-pressed', sell.classList.contains('on') ? 'true' : 'false');
  $('om-error').textContent = offline() ? 'Offline: the server does not answer'
    : m.error || (m.type === 'market' && !canEnter ? stalePrice || blockedText(gate) : m.type === 'intent' && intentWhy ? 'Intent unavailable: ' + intentWhy : '');
  $('om-confirm').disabled = offline() || !ready || !typed || S.busy.has('order:' + m.asset);
  $('om-confirm').textContent = (live ? 'Confirm LIVE ' : 'Confirm ') + (m.type === 'market' ? 'order' : 'intent');
}
