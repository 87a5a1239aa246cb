/* The Risk tab: a tightening applies at once, a loosening from the next trading day (D5). */
import { $, h, patch } from './dom.js';
import { S, offline } from './store.js';
import { api, command } from './api.js';

const RISK_LABELS = {
  max_trades_per_day: 'Max trades per day',
  daily_stop_enabled: 'Daily stop enabled',
  daily_stop_limit_pct: 'Daily stop limit %',
};

let onChange = () => {};
export function initRisk(changed) {
  onChange = changed;
  $('risk-form').addEventListener('submit', saveRisk);
}

export async function loadRisk() {
  S.risk = await api('GET', '/api/risk');
  renderRisk();
  onChange();
}

function riskTarget(name) {
  const r = S.risk;
  return r.pending && Object.prototype.hasOwnProperty.call(r.pending, name) ? r.pending[name] : r[name];
}

export function renderRisk(force) {
  const r = S.risk;
  $('risk-save').disabled = offline();
  if (!r) return;
  const form = $('risk-form');
  // the inputs show what the operator last asked for (a pending loosening included); not while being edited
  if (force || !form.contains(document.activeElement) || !S.riskShown) {
    const shown = { max_trades_per_day: riskTarget('max_trades_per_day'),
      daily_stop_enabled: riskTarget('daily_stop_enabled'), daily_stop_limit_pct: riskTarget('daily_stop_limit_pct') };
    if (force || JSON.stringify(shown) !== JSON.stringify(S.riskShown)) {
      $('risk-max').value = shown.max_trades_per_day;
      $('risk-enabled').checked = !!shown.daily_stop_enabled;
      $('risk-pct').value = shown.daily_stop_limit_pct;
      S.riskShown = shown;
    }
  }
  patch($('risk-current'), JSON.stringify(r), () => h('p', null, 'In force today: ' + r.max_trades_per_day +
    ' trades per day (' + (r.trades_remaining_today ?? '–') + ' left) · daily stop ' +
    (r.daily_stop_enabled ? 'ON at ' + r.daily_stop_limit_pct + '% drawdown' : 'OFF')));
  const pending = r.pending || {};
  patch($('risk-pending'), JSON.stringify(pending), () => {
    const keys = Object.keys(pending);
    if (!keys.length) return [];
    return [h('strong', null, 'From next trading day: '),
      keys.map((k) => h('span', { class: 'pill warnp' }, (RISK_LABELS[k] || k) + ' → ' + String(pending[k])))];
  });
}

async function saveRisk(ev) {
  ev.preventDefault();
  if (!S.risk || !S.riskShown) return;
  const body = {};
  const max = Number($('risk-max').value);
  const pct = Number($('risk-pct').value);
  const enabled = $('risk-enabled').checked;
  if (max !== Number(S.riskShown.max_trades_per_day)) body.max_trades_per_day = max;
  if (pct !== Number(S.riskShown.daily_stop_limit_pct)) body.daily_stop_limit_pct = pct;
  if (enabled !== !!S.riskShown.daily_stop_enabled) body.daily_stop_enabled = enabled;
  const msg = $('risk-msg');
  if (!Object.keys(body).length) {
    msg.textContent = 'Nothing changed';
    msg.className = 'msg';
    return;
  }
  $('risk-save').disabled = true;
  try {
    const data = await command('/api/risk', body);
    S.risk = data;
    const deferred = Object.keys(body).filter((k) => data.pending && k in data.pending);
    msg.textContent = 'Saved.' + (deferred.length ? ' Loosened (applies from next trading day): ' +
      deferred.map((k) => RISK_LABELS[k] || k).join(', ') + '.' : ' Applied now.') +
      (body.daily_stop_enabled !== undefined ? ' Daily stop: ' + (body.daily_stop_enabled ? 'ON' : 'OFF') + '.' : '');
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
