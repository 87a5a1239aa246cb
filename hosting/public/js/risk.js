/* The Risk tab: a tightening applies at once, a loosening from the next trading day (D5). The dollar limits of D20
 * (empty = off), the protective stop distance per asset, the price's maximum age for entries (issue 21), presets
 * with their source, and the re-baseline after a trailing-drawdown breach (typed confirmation). The tab's blackout
 * windows are calendar.js, its notification destinations notifications.js. */
import { $, h, patch } from './dom.js';
import { fmtUsd, mmss } from './format.js';
import { S, offline } from './store.js';
import { api, command } from './api.js';
import { confirmBox } from './modals.js';
import { initCalendar, renderCalendar } from './calendar.js';
import { initNotifications, loadNotifications, renderNotifications } from './notifications.js';

const RISK_LABELS = {
  max_trades_per_day: 'Max trades per day',
  daily_stop_enabled: 'Daily stop enabled',
  daily_stop_limit_pct: 'Daily stop limit %',
  max_price_age_s: 'Max price age (s)',
  daily_loss_limit_usd: 'Daily loss limit $',
  trailing_drawdown_usd: 'Trailing drawdown $',
  trailing_mode: 'Trailing mode',
  trailing_stops_at_usd: 'Trailing stops at $',
  max_loss_per_trade_usd: 'Max loss per trade $',
  warn_at_pct: 'Warn at %',
  protective_stop_points: 'Protective stop points',
  require_protective_stop: 'Require a stop at the broker',
  flatten_if_unprotected: 'Flatten when unprotected',
  loss_streak_limit: 'Loss streak limit',
  loss_streak_lock_minutes: 'Loss streak lock (min)',
  trading_hours: 'Trading hours',
};
const DAYS = ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'];
// input id → [setting, kind]: 'int' | 'num' | 'usd' (empty = off) | 'intoff' (empty = off) | 'bool' | 'text'
const FIELDS = [
  ['risk-max', 'max_trades_per_day', 'int'], ['risk-enabled', 'daily_stop_enabled', 'bool'],
  ['risk-pct', 'daily_stop_limit_pct', 'num'], ['risk-price-age', 'max_price_age_s', 'num'],
  ['risk-daily-loss', 'daily_loss_limit_usd', 'usd'], ['risk-trailing', 'trailing_drawdown_usd', 'usd'],
  ['risk-trailing-mode', 'trailing_mode', 'text'], ['risk-stops-at', 'trailing_stops_at_usd', 'usd'],
  ['risk-per-trade', 'max_loss_per_trade_usd', 'usd'], ['risk-warn', 'warn_at_pct', 'num'],
  ['risk-require-stop', 'require_protective_stop', 'bool'], ['risk-flatten-unprotected', 'flatten_if_unprotected', 'bool'],
  ['risk-streak-limit', 'loss_streak_limit', 'intoff'], ['risk-streak-minutes', 'loss_streak_lock_minutes', 'int'],
];
const STOP_ASSETS = ['ES', 'NQ'];

let onChange = () => {};
let presets = null;

export function initRisk(changed) {
  onChange = changed;
  $('risk-form').addEventListener('submit', saveRisk);
  $('risk-preset').addEventListener('change', renderPreset);
  $('risk-preset-apply').addEventListener('click', applyPreset);
  $('risk-rebaseline-word').addEventListener('input', renderRebaseline);
  $('risk-baseline').addEventListener('input', renderRebaseline);
  $('risk-rebaseline').addEventListener('click', rebaseline);
  initCalendar(changed);
  initNotifications();
}

export async function loadRisk() {
  if (!$('panel-risk').hidden) loadNotifications();   // its own failure shows in its own table
  S.risk = await api('GET', '/api/risk');
  renderRisk();
  onChange();
  if (!presets) {
    try { presets = await api('GET', '/api/risk/presets'); } catch (e) { presets = null; }
    renderPresets();
  }
}

function riskTarget(name) {
  const r = S.risk;
  return r.pending && Object.prototype.hasOwnProperty.call(r.pending, name) ? r.pending[name] : r[name];
}

function shownValues() {
  const shown = {};
  for (const [, name] of FIELDS) shown[name] = riskTarget(name);
  const stops = { ...(S.risk.protective_stop_points || {}), ...((S.risk.pending || {}).protective_stop_points || {}) };
  for (const k of STOP_ASSETS) shown['stop.' + k] = stops[k] ?? null;
  const hours = riskTarget('trading_hours') || {};
  for (const d of DAYS) shown['hours.' + d] = hoursText(hours[d]);
  return shown;
}

function fill(shown) {
  for (const [id, name, kind] of FIELDS) {
    const el = $(id);
    if (kind === 'bool') el.checked = !!shown[name];
    else el.value = shown[name] === null || shown[name] === undefined ? '' : String(shown[name]);
  }
  for (const k of STOP_ASSETS) $('risk-stop-' + k).value = shown['stop.' + k] === null ? '' : String(shown['stop.' + k]);
  for (const d of DAYS) $('risk-hours-' + d).value = shown['hours.' + d];
}

const hhmm = (m) => String(Math.floor(m / 60)).padStart(2, '0') + ':' + String(m % 60).padStart(2, '0');

/** A day's allowed spans as the operator types them: "09:30-16:00, 18:00-24:00". The server answers them as
 * [["09:30","16:00"], …]; a change waiting for the next trading day is stored as minutes [570, 960, …]. */
function hoursText(spans) {
  if (!Array.isArray(spans) || !spans.length) return '';
  if (typeof spans[0] === 'number') {
    const out = [];
    for (let i = 0; i + 1 < spans.length; i += 2) out.push(hhmm(spans[i]) + '-' + hhmm(spans[i + 1]));
    return out.join(', ');
  }
  return spans.map((x) => x[0] + '-' + x[1]).join(', ');
}

/** The hours typed in the form: {MON: [["09:30","16:00"]], …}, null when every day is empty (off), or an error. */
function readHours(textOf) {
  const out = {};
  for (const d of DAYS) {
    const raw = (textOf ? textOf(d) : $('risk-hours-' + d).value).trim();
    if (!raw) continue;
    const spans = [];
    for (const part of raw.split(',')) {
      const m = /^\s*(\d{1,2}:\d\d)\s*[-–]\s*(\d{1,2}:\d\d)\s*$/.exec(part);
      if (!m) return { error: 'Trading hours ' + d + ': expected HH:MM-HH:MM (spans separated by commas), not "' + part.trim() + '"' };
      spans.push([m[1].padStart(5, '0'), m[2].padStart(5, '0')]);
    }
    out[d] = spans;
  }
  return { hours: Object.keys(out).length ? out : null };
}

export function renderRisk(force) {
  const r = S.risk;
  renderCalendar();
  renderNotifications();
  $('risk-save').disabled = offline();
  if (!r) return;
  const form = $('risk-form');
  // the inputs show what the operator last asked for (a pending loosening included); not while being edited
  if (force || !form.contains(document.activeElement) || !S.riskShown) {
    const shown = shownValues();
    if (force || JSON.stringify(shown) !== JSON.stringify(S.riskShown)) {
      fill(shown);
      S.riskShown = shown;
    }
  }
  const m = r.money || {};
  patch($('risk-current'), JSON.stringify(r), () => [
    h('p', null, 'In force today: ' + r.max_trades_per_day + ' trades per day (' + (r.trades_remaining_today ?? '–') +
      ' left) · daily stop ' + (r.daily_stop_enabled ? 'ON at ' + r.daily_stop_limit_pct + '% drawdown' : 'OFF') +
      ' · entries need a price at most ' + (r.price_age_limit_s ?? r.max_price_age_s ?? 600) + ' s old'),
    h('p', { id: 'risk-discipline' }, 'Loss streak: ' + (r.loss_streak_limit === null ? 'off' : r.loss_streak_limit +
      ' losing trades in a row lock entries for ' + r.loss_streak_lock_minutes + ' min (doubled for each further lock that day)') +
      ' · trading hours: ' + (Object.keys(r.trading_hours || {}).length ? Object.entries(r.trading_hours).map(([d, v]) => d + ' ' + hoursText(v)).join(', ')
        : 'always allowed') + ' · protective stop: ' + (r.require_protective_stop ? 'required for entries' : 'not required') +
      (r.flatten_if_unprotected ? ', a rejected stop flattens' : '')),
    h('p', { id: 'risk-dollars' }, 'Dollar limits: daily loss ' + (r.daily_loss_limit_usd === null ? 'off' : fmtUsd(r.daily_loss_limit_usd)) +
      ' · trailing drawdown ' + (r.trailing_drawdown_usd === null ? 'off' : fmtUsd(r.trailing_drawdown_usd) + ' (' +
        String(r.trailing_mode).replace(/_/g, ' ') + (r.trailing_stops_at_usd === null ? '' : ', stops at ' + fmtUsd(r.trailing_stops_at_usd)) + ')') +
      ' · per trade ' + (r.max_loss_per_trade_usd === null ? 'off' : fmtUsd(r.max_loss_per_trade_usd)) + ' · warn at ' + r.warn_at_pct + '%' +
      (m.high_water_mark_usd === null || m.high_water_mark_usd === undefined ? '' : ' · high-water mark ' + fmtUsd(m.high_water_mark_usd)) +
      (m.trailing_breached ? ' · TRAILING DRAWDOWN BREACHED: re-baseline below' : '')),
  ]);
  const pending = r.pending || {};
  patch($('risk-pending'), JSON.stringify(pending), () => {
    const keys = Object.keys(pending);
    if (!keys.length) return [];
    return [h('strong', null, 'From next trading day: '),
      keys.map((k) => h('span', { class: 'pill warnp' }, (RISK_LABELS[k] || k) + ' → ' +
        (pending[k] === null ? 'off' : k === 'trading_hours' ? Object.entries(pending[k]).map(([d, v]) => d + ' ' + hoursText(v)).join(', ') || 'none'
          : typeof pending[k] === 'object' ? Object.entries(pending[k]).map(([a, v]) => a + ' ' + v).join(', ')
          : String(pending[k]))))];
  });
  if (!$('risk-baseline').value && m.net_liq_usd !== null && m.net_liq_usd !== undefined) $('risk-baseline').placeholder = String(m.net_liq_usd);
  renderRebaseline();
}

function read(id, kind) {
  const el = $(id);
  if (kind === 'bool') return el.checked;
  if (kind === 'text') return el.value;
  const raw = el.value.trim();
  if (raw === '') return kind === 'usd' || kind === 'intoff' ? null : undefined;
  if (kind === 'intoff') return parseInt(raw, 10);
  return kind === 'int' ? parseInt(raw, 10) : Number(raw);
}

async function saveRisk(ev) {
  ev.preventDefault();
  if (!S.risk || !S.riskShown) return;
  const body = {};
  for (const [id, name, kind] of FIELDS) {
    const v = read(id, kind);
    if (v === undefined) continue;
    const was = S.riskShown[name] ?? null;
    if (v !== was && !(typeof v === 'number' && Number(was) === v)) body[name] = v;
  }
  const stops = {};
  for (const k of STOP_ASSETS) {
    const v = read('risk-stop-' + k, 'num');
    if (v !== undefined && v !== Number(S.riskShown['stop.' + k])) stops[k] = v;
  }
  if (Object.keys(stops).length) body.protective_stop_points = stops;
  const msg = $('risk-msg');
  const typed = readHours();
  if (typed.error) {
    msg.textContent = typed.error;
    msg.className = 'msg err';
    return;
  }
  if (JSON.stringify(typed.hours) !== JSON.stringify(readHours((d) => S.riskShown['hours.' + d]).hours)) body.trading_hours = typed.hours;
  if (!Object.keys(body).length) {
    msg.textContent = 'Nothing changed';
    msg.className = 'msg';
    return;
  }
  await send(body, 'Saved.');
}

// each action says its outcome beside its own button: the form's Save, a preset, the re-baseline
async function send(body, what, msgId = 'risk-msg') {
  const msg = $(msgId);
  $('risk-save').disabled = true;
  try {
    const data = await command('/api/risk', body);
    S.risk = data;
    const deferred = Object.keys(body).filter((k) => data.pending && k in data.pending);
    msg.textContent = what + (deferred.length ? ' Loosened (applies from next trading day): ' +
      deferred.map((k) => RISK_LABELS[k] || k).join(', ') + '.' : ' Applied now.') +
      (body.daily_stop_enabled !== undefined ? ' Daily stop: ' + (body.daily_stop_enabled ? 'ON' : 'OFF') + '.' : '') +
      // a streak limit the day's losses already reach locks entries at once (D22)
      (body.loss_streak_limit !== undefined && data.loss_streak && data.loss_streak.remaining_s > 0 ?
        ' Loss streak reached: entries locked for ' + mmss(data.loss_streak.remaining_s) + '.' : '');
    msg.className = 'msg ok';
    renderRisk(true);
    onChange();
  } catch (e) {
    msg.textContent = e.message;
    msg.className = 'msg err';
  } finally {
    $('risk-save').disabled = offline();
  }
}

function renderPresets() {
  const sel = $('risk-preset');
  if (!presets || !Array.isArray(presets.presets)) return;
  sel.replaceChildren(h('option', { value: '' }, 'Choose…'),
    ...presets.presets.map((p) => h('option', { value: p.id }, p.name)));
  $('risk-preset-note').textContent = presets.note || '';
  renderPreset();
}

function chosenPreset() {
  const id = $('risk-preset').value;
  return presets && Array.isArray(presets.presets) ? presets.presets.find((p) => p.id === id) : null;
}

function renderPreset() {
  const p = chosenPreset();
  $('risk-preset-apply').disabled = !p || offline();
  $('risk-preset-source').textContent = p ? 'Source: ' + p.source + ' Settings: ' +
    Object.entries(p.settings).map(([k, v]) => (RISK_LABELS[k] || k) + ' ' + v).join(' · ') : '';
}

function applyPreset() {
  const p = chosenPreset();
  if (!p) return;
  confirmBox('Apply the preset "' + p.name + '"', 'Set ' + Object.entries(p.settings).map(([k, v]) => (RISK_LABELS[k] || k) + ' ' + v).join(', ') +
    '? Tighter figures apply at once, looser ones from the next trading day. ' + (presets.note || ''), 'APPLY PRESET',
  () => send({ ...p.settings }, 'Preset "' + p.name + '" applied.', 'risk-preset-msg'));
}

function renderRebaseline() {
  const baseline = Number($('risk-baseline').value);
  $('risk-rebaseline').disabled = offline() || !(baseline > 0) || $('risk-rebaseline-word').value.trim() !== 'REBASELINE';
}

async function rebaseline() {
  const baseline = Number($('risk-baseline').value);
  const msg = $('risk-rebaseline-msg');
  $('risk-rebaseline').disabled = true;
  try {
    S.risk = await command('/api/risk/account', { baseline_usd: baseline, confirm: 'REBASELINE' });
    msg.textContent = 'Account re-baselined at ' + fmtUsd(baseline) + ': the high-water mark starts there' +
      ' and a trailing-drawdown lock is lifted.';
    msg.className = 'msg ok';
    $('risk-rebaseline-word').value = '';
    renderRisk(true);
    onChange();
  } catch (e) {
    msg.textContent = e.message;
    msg.className = 'msg err';
  } finally {
    renderRebaseline();
  }
}
