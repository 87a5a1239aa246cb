/* The Risk tab's blackout windows (D22): the list (label, when, flatten-before, source), adding a one-off or weekly
 * window, removing one (it stays in force until the next trading day: D5), and importing an iCalendar file. The
 * list is GET /api/state's `global.calendar` (polled every second); every change answers the calendar too. The
 * server validates: its message is shown as it is. */
import { $, h, patch } from './dom.js';
import { fmtDuration, fmtTs } from './format.js';
import { S, offline, serverNow } from './store.js';
import { command } from './api.js';
import { confirmBox } from './modals.js';

const DAYS = ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'];
let onChange = () => {};
let answered = null;   // the calendar of the last answer, until the next state poll carries it
let answeredAt = 0;

export function initCalendar(changed) {
  onChange = changed;
  $('bo-kind').addEventListener('change', renderKind);
  $('bo-form').addEventListener('submit', addWindow);
  $('bo-ics').addEventListener('change', renderImport);
  $('bo-import').addEventListener('click', importIcs);
  $('bo-body').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-remove]');
    if (b && !b.disabled) removeWindow(b.dataset.remove, b.dataset.label);
  });
  renderKind();
}

function calendar() {
  const fromState = S.state && S.state.global.calendar;
  if (answered && (!fromState || S.stateAt <= answeredAt)) return answered;
  return fromState || answered;
}

function renderKind() {
  const weekly = $('bo-kind').value === 'weekly';
  for (const el of document.querySelectorAll('#bo-form .bo-once')) el.hidden = weekly;
  for (const el of document.querySelectorAll('#bo-form .bo-weekly')) el.hidden = !weekly;
}

function renderImport() {
  $('bo-import').disabled = offline() || !$('bo-ics').files.length;
}

/** "Wed, Mar 18, 14:00 – 14:30" for a one-off window, "MON TUE · 09:30–09:45" for a weekly one. */
function when(w) {
  if (w.kind === 'weekly') return (w.days || []).join(' ') + ' · ' + w.start + '–' + w.end + ' weekly';
  const s = Date.parse(w.start) / 1000;
  const e = Date.parse(w.end) / 1000;
  const day = (t) => fmtTs(t).replace(/:\d\d$/, '');
  const sameDay = fmtTs(s).slice(0, 11) === fmtTs(e).slice(0, 11);
  return day(s) + ' – ' + (sameDay ? day(e).slice(-5) : day(e));
}

export function renderCalendar() {
  const cal = calendar();
  const down = offline();
  $('bo-add').disabled = down;
  renderImport();
  if (!cal) return;
  const now = serverNow();
  const next = $('bo-next');
  const text = cal.active ? 'BLACKOUT now: ' + (cal.active.label || 'blackout') + ' until ' + fmtTs(cal.active.end) +
      ' (' + fmtDuration(cal.active.end - now) + ' left) — entries refused'
    : cal.next ? 'Next: ' + (cal.next.label || 'blackout') + ' ' + fmtTs(cal.next.start) + ' (in ' + fmtDuration(cal.next.start - now) + ')'
      : 'No blackout window ahead.';
  if (next.textContent !== text) next.textContent = text;
  next.className = 'hint' + (cal.active ? ' neg' : '');
  const windows = Array.isArray(cal.windows) ? cal.windows : [];
  const busy = [...S.busy].filter((b) => b.startsWith('bo:')).join(',');
  patch($('bo-body'), JSON.stringify([windows, busy, down]), () => {
    if (!windows.length) return h('tr', null, h('td', { colspan: 5, class: 'empty' }, 'No blackout windows'));
    return windows.map((w) => h('tr', { dataset: { id: w.id }, class: w.removing ? 'removing' : '' },
      h('td', null, w.label || 'blackout'),
      h('td', null, when(w)),
      h('td', null, w.flatten_before_s === null || w.flatten_before_s === undefined ? 'no' : fmtDuration(w.flatten_before_s)),
      h('td', null, w.source === 'ical' ? 'iCalendar import' : w.source || 'manual'),
      h('td', null, w.removing ? h('span', { class: 'warn-text' }, 'removed — in force until the next trading day')
        : h('button', { type: 'button', class: 'btn tiny', dataset: { remove: w.id, label: w.label || 'blackout' },
          'aria-label': 'Remove ' + (w.label || 'blackout'), disabled: down || S.busy.has('bo:' + w.id) }, 'Remove…'))));
  });
}

function say(text, kind) {
  const msg = $('bo-msg');
  msg.textContent = text;
  msg.className = 'msg ' + (kind || '');
}

function took(data) {
  answered = data;
  answeredAt = Date.now();
  renderCalendar();
  onChange();
}

// New York wall time → the same instant with its offset ("2026-03-18T14:00" → "2026-03-18T14:00:00-04:00")
const NY_PARTS = new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', hourCycle: 'h23', year: 'numeric',
  month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
function nyOffsetMin(utcMs) {
  const p = Object.fromEntries(NY_PARTS.formatToParts(new Date(utcMs)).map((x) => [x.type, x.value]));
  return Math.round((Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute, +p.second) - utcMs) / 60000);
}
export function nyIso(local) {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)/.exec(local || '');
  if (!m) return local || '';   // the server names the field it cannot read
  const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
  let off = nyOffsetMin(wall);
  off = nyOffsetMin(wall - off * 60000);
  const a = Math.abs(off);
  return m[1] + '-' + m[2] + '-' + m[3] + 'T' + m[4] + ':' + m[5] + ':00' + (off < 0 ? '-' : '+') +
    String(Math.floor(a / 60)).padStart(2, '0') + ':' + String(a % 60).padStart(2, '0');
}

function optionalInt(id) {
  const raw = $(id).value.trim();
  return raw === '' ? null : Number(raw);
}

async function addWindow(ev) {
  ev.preventDefault();
  const weekly = $('bo-kind').value === 'weekly';
  const body = { label: $('bo-label').value.trim(), flatten_before_s: optionalInt('bo-flatten') };
  if (weekly) {
    body.days = DAYS.filter((d) => $('bo-day-' + d).checked);
    body.start = $('bo-wstart').value.trim();
    body.end = $('bo-wend').value.trim();
  } else {
    body.start = nyIso($('bo-start').value);
    body.end = nyIso($('bo-end').value);
  }
  S.busy.add('bo:add');
  $('bo-add').disabled = true;
  try {
    const data = await command('/api/calendar', body);
    const added = Array.isArray(data.added) ? data.added : [];
    took(data);
    say(added.length ? 'Added "' + (added[0].label || 'blackout') + '" (' + when(added[0]) + '): in force at once.'
      : 'That window is already in the list.', 'ok');
    $('bo-label').value = '';
  } catch (e) {
    say(e.message, 'err');
  } finally {
    S.busy.delete('bo:add');
    renderCalendar();
  }
}

function removeWindow(id, label) {
  confirmBox('Remove the blackout "' + label + '"', 'It stays in force until the next trading day (18:00 New York): ' +
    'removing a window loosens the rules, and a loosening waits for the next trading day.', 'REMOVE', async () => {
    S.busy.add('bo:' + id);
    try {
      const data = await command('/api/calendar/' + encodeURIComponent(id), undefined, 'DELETE');
      took(data);
      say('Removed "' + label + '": in force until the next trading day.', 'ok');
    } finally {
      S.busy.delete('bo:' + id);
      renderCalendar();
    }
  });
}

async function importIcs() {
  const file = $('bo-ics').files[0];
  if (!file) return;
  $('bo-import').disabled = true;
  try {
    const ics = await file.text();
    const data = await command('/api/calendar/import', { ics, pad_before_min: optionalInt('bo-pad-before') ?? 0,
      pad_after_min: optionalInt('bo-pad-after') ?? 0, horizon_days: optionalInt('bo-horizon') ?? 30,
      flatten_before_s: optionalInt('bo-ics-flatten') });
    const added = Array.isArray(data.added) ? data.added.length : 0;
    took(data);
    say('Imported ' + file.name + ': ' + added + ' window' + (added === 1 ? '' : 's') + ' added (padded, in force at once).', 'ok');
    $('bo-ics').value = '';
  } catch (e) {
    say(e.message, 'err');
  } finally {
    renderImport();
  }
}
