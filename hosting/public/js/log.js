/* The Log tab: the audit trail (D13), newest first; a row opens its whole record. */
import { $, h, patch } from './dom.js';
import { fmtTs } from './format.js';
import { api } from './api.js';

export async function loadLogs() {
  const asset = $('log-asset').value;
  const operator = $('log-operator').value.trim();
  const data = await api('GET', '/api/logs?limit=100' + (asset ? '&asset=' + encodeURIComponent(asset) : '')
    + (operator ? '&operator=' + encodeURIComponent(operator) : ''));
  renderLogs(Array.isArray(data.events) ? data.events : []);
}

function summariseInput(ev) {
  const i = ev.input || {};
  const bits = [ev.type || ''];
  for (const k of ['stream', 'color', 'order_type', 'direction', 'trade_mode', 'status', 'order_id', 'toggle', 'env', 'price', 'reason']) {
    if (i[k] !== undefined && i[k] !== null && i[k] !== '') bits.push(String(i[k]));
  }
  return bits.join(' ');
}

/** Who sent an operator command (the audit record's actor, when the server records one). */
function actorOf(ev) {
  const a = ev.actor;
  if (!a || typeof a !== 'object') return '';
  return String(a.email || a.uid || a.kind || '');
}

function renderLogs(events) {
  patch($('log-body'), JSON.stringify(events), () => {
    if (!events.length) return h('tr', null, h('td', { colspan: 7, class: 'empty' }, 'No events'));
    return events.map((ev) => {
      const decisions = (ev.decisions || []).map((d) => d.kind + (d.code ? ' ' + d.code : '')).join(', ');
      const st = Number(ev.status) || 0;
      const tr = h('tr', { class: 'clickable ' + (st >= 400 ? 'refused' : ''), tabindex: '0' },
        h('td', null, fmtTs(ev.ts)), h('td', null, ev.asset || '—'), h('td', null, summariseInput(ev)),
        h('td', null, String(ev.status ?? '') + (ev.duplicate ? ' dup' : '')), h('td', null, ev.code || ''),
        h('td', null, decisions), h('td', null, actorOf(ev)));
      const show = () => { const el = $('log-detail'); el.textContent = JSON.stringify(ev, null, 2); el.hidden = false; };
      tr.addEventListener('click', show);
      tr.addEventListener('keydown', (e) => { if (e.key === 'Enter') show(); });
      return tr;
    });
  });
}
