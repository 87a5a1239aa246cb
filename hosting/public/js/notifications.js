/* The Risk tab's notification destinations (D23, issue 20): the list (name, kind, level, last delivery, last error
 * with its time), adding one (its apprise URL typed into a password field, sent once, then cleared: the page never
 * holds it again, the server answers with the scheme only), changing a level, deleting (confirmed) and "Send a
 * test" with its outcome. GET /api/notifications/destinations is read when the Risk tab is shown and with its poll.
 * `#push-device` is the Web Push control's place ("Notify this device"), filled by its own module. */
import { $, h, patch } from './dom.js';
import { fmtTs } from './format.js';
import { S, offline } from './store.js';
import { api, command } from './api.js';
import { confirmBox } from './modals.js';

const LEVELS = { critical: 'critical only', important: 'important and critical', all: 'all' };
let dests = null;     // the last list the server answered
let loadError = '';

export function initNotifications() {
  $('nd-form').addEventListener('submit', addDestination);
  $('nd-body').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-act]');
    if (!b || b.disabled) return;
    if (b.dataset.act === 'test') sendTest(b.dataset.id, b.dataset.label);
    if (b.dataset.act === 'delete') removeDestination(b.dataset.id, b.dataset.label);
  });
  $('nd-body').addEventListener('change', (ev) => {
    const sel = ev.target.closest('select[data-id]');
    if (sel) changeLevel(sel.dataset.id, sel.dataset.label, sel.value);
  });
}

export async function loadNotifications() {
  try {
    const data = await api('GET', '/api/notifications/destinations');
    dests = Array.isArray(data.destinations) ? data.destinations : [];
    loadError = '';
  } catch (e) {
    loadError = e.message;
  }
  renderNotifications();
}

/** "json" from the masked "json://…" the server shows. */
function kindOf(d) {
  return String(d.url || '').split('://')[0] || '?';
}

function lastDelivery(d) {
  return typeof d.last_ok_ts === 'number' ? fmtTs(d.last_ok_ts) + (d.delivered ? ' · ' + d.delivered + ' delivered' : '')
    : 'never';
}

export function renderNotifications() {
  const down = offline();
  $('nd-add').disabled = down || S.busy.has('nd:add');
  const busy = [...S.busy].filter((b) => b.startsWith('nd:')).join(',');
  patch($('nd-body'), JSON.stringify([dests, busy, down, loadError]), () => {
    if (!dests) return h('tr', null, h('td', { colspan: 6, class: 'empty' }, loadError || 'Loading…'));
    if (!dests.length) return h('tr', null, h('td', { colspan: 6, class: 'empty' }, 'No destinations: add one below'));
    return dests.map((d) => {
      const name = d.label || d.id;
      const local = d.id === 'local';   // the local stack's receiver (NOTIFY_LOCAL_URL): not a stored setting
      const off = down || S.busy.has('nd:' + d.id);
      return h('tr', { dataset: { id: d.id } },
        h('td', null, name),
        h('td', null, kindOf(d)),
        h('td', null, local ? LEVELS[d.level] || d.level
          : h('select', { 'aria-label': 'Level of ' + name, dataset: { id: d.id, label: name }, disabled: off },
            Object.entries(LEVELS).map(([v, text]) => h('option', { value: v, selected: v === d.level }, text)))),
        h('td', { class: 'nd-ok' }, lastDelivery(d)),
        h('td', { class: 'nd-error' }, d.last_error
          ? [h('span', { class: 'neg' }, d.last_error), ' (' + fmtTs(d.last_error_ts) + ')'] : 'none'),
        h('td', { class: 'nd-actions' },
          h('button', { type: 'button', class: 'btn tiny', dataset: { act: 'test', id: d.id, label: name },
            'aria-label': 'Send a test to ' + name, disabled: off }, 'Send a test'),
          local ? null : h('button', { type: 'button', class: 'btn tiny danger', dataset: { act: 'delete', id: d.id,
            label: name }, 'aria-label': 'Delete ' + name, disabled: off }, 'Delete…')));
    });
  });
}

function say(text, kind) {
  const msg = $('nd-msg');
  msg.textContent = text;
  msg.className = 'msg ' + (kind || '');
}

/** The destination's id from its name ("Desk phone" → "desk-phone"), not one in use (a POST with it would replace). */
function newId(name) {
  const base = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 28) || 'destination';
  const used = new Set((dests || []).map((d) => d.id));
  let id = base;
  for (let n = 2; used.has(id); n += 1) id = base + '-' + n;
  return id;
}

async function addDestination(ev) {
  ev.preventDefault();
  const name = $('nd-name').value.trim();
  const url = $('nd-url').value.trim();
  if (!name || !url) { say('Name and URL: both are needed.', 'err'); return; }
  S.busy.add('nd:add');
  renderNotifications();
  try {
    const data = await command('/api/notifications/destinations', { id: newId(name), label: name, url,
      level: $('nd-level').value });
    $('nd-url').value = '';   // the URL is the server's secret now: the page keeps no copy
    $('nd-name').value = '';
    say('Added "' + name + '" (' + kindOf(data.destination || {}) + ', ' + (LEVELS[data.destination.level] || '') +
      '). Send a test to check it.', 'ok');
  } catch (e) {
    say(e.message, 'err');
  } finally {
    S.busy.delete('nd:add');
    await loadNotifications();
  }
}

async function changeLevel(id, name, level) {
  S.busy.add('nd:' + id);
  try {
    await command('/api/notifications/destinations', { id, label: name, level });
    say('"' + name + '" now hears: ' + LEVELS[level] + '.', 'ok');
  } catch (e) {
    say(e.message, 'err');
  } finally {
    S.busy.delete('nd:' + id);
    await loadNotifications();
  }
}

async function sendTest(id, name) {
  S.busy.add('nd:' + id);
  say('Sending a test to "' + name + '"…', 'info');
  renderNotifications();
  try {
    await api('POST', '/api/notifications/destinations/' + encodeURIComponent(id) + '/test');
    say('Test delivered to "' + name + '".', 'ok');
  } catch (e) {
    say('Test to "' + name + '" failed: ' + e.message, 'err');
  } finally {
    S.busy.delete('nd:' + id);
    await loadNotifications();
  }
}

function removeDestination(id, name) {
  confirmBox('Delete the destination "' + name + '"', 'Its URL is removed from the secrets store; notifications ' +
    'still on their way to it are dropped. Nothing else changes.', 'DELETE', async () => {
    S.busy.add('nd:' + id);
    try {
      await api('DELETE', '/api/notifications/destinations/' + encodeURIComponent(id));
      say('Deleted "' + name + '".', 'ok');
    } finally {
      S.busy.delete('nd:' + id);
      await loadNotifications();
    }
  });
}
