/* One card per asset: the renko streams, zone and tempo, the pending order, the position with its money and
 * controls, the gates board, the entry buttons, and the latest announced outcome.
 * A control the server would refuse is disabled and says why (the server's own rule, see operator.py). */
import { $, h, patch, setPressed } from './dom.js';
import { latestFor } from './announce.js';
import { colorClass, fmtAge, fmtPts, fmtPx, fmtTime, fmtUsd, mmss, num, signClass } from './format.js';
import { S, instrument, lockLeft, offline, pointValue, priceAge, priceLevel, priceLimit, priceTooOld, serverNow, since, stopView } from './store.js';
import { dollarLimits, snapshotAge } from './header.js';

const GATE_LABELS = {
  daily_stop: 'Daily stop',
  post_exit_cooldown: 'Post-exit cooldown',
  candle_lock: '5-min candle lock',
  trade_lock: 'Global trade lock',
  daily_trade_limit: 'Daily trade limit',
  open_position: 'Flat (no open position)',
  pending_order: 'No pending order',
  position_mismatch: 'Broker position agrees',
  heartbeat: 'Price age',
  tempo: 'Tempo token',
  structure: 'Zone / 2.5pt structure',
  trailing_drawdown: 'Trailing drawdown',
  risk_room: 'Risk room ($)',
  loss_streak: 'Loss streak lock',
  blackout: 'Blackout window',
  trading_window: 'Trading window',
  protective_stop: 'Protective stop available',
};

const cards = {};
const HEARTBEAT_TEXT = 'Heartbeat stale or missing – cannot trade';   // the server's refusal (rules.md, gate 11)
const REMAINING = /\s*\(\d+:\d\d remaining\)/;
const messages = {};
let handlers = { click: () => {} };

export function initCards(onClick) { handlers.click = onClick; }

/** A short message on the card (the answer to the operator's own click). */
export function cardMessage(asset, text, kind) {
  messages[asset] = { text, kind, at: Date.now() };
  renderAssets();
}

function ensureCard(key) {
  if (cards[key]) return cards[key];
  const parts = {
    contract: h('span', { class: 'contract' }),
    hb: h('span', { class: 'hb' }),
    colors: h('div', { class: 'colors' }),
    pills: h('div', { class: 'pills' }),
    pending: h('div', { class: 'pending' }),
    position: h('div', { class: 'position' }),
    live: h('div', { class: 'live' }),
    stop: h('div', { class: 'stop', id: 'stop-' + key, role: 'status' }),
    gates: h('div', { class: 'gates' }),
    dollars: h('div', { class: 'dollars', id: 'dollars-' + key }),
    enter: h('button', { type: 'button', class: 'btn primary enter', id: 'enter-' + key, dataset: { act: 'enter' } }, 'MARKET…'),
    intent: h('button', { type: 'button', class: 'btn', id: 'intent-' + key, dataset: { act: 'intent' } }, 'INTENT…'),
    why: h('div', { class: 'why', id: 'why-' + key }),
    outcome: h('div', { class: 'outcome', id: 'outcome-' + key, role: 'status', 'aria-live': 'polite' }),
    msg: h('div', { class: 'msg', id: 'msg-' + key, role: 'status' }),
  };
  const card = h('article', { class: 'card', id: 'card-' + key, dataset: { asset: key }, 'aria-label': key },
    h('div', { class: 'card-head' }, h('h2', { class: 'card-title' }, key), parts.contract, parts.hb),
    parts.outcome, parts.colors, parts.pills, parts.pending, parts.position, parts.live, parts.stop, parts.gates, parts.dollars,
    h('div', { class: 'entry-actions' }, parts.enter, parts.intent), parts.why, parts.msg);
  card.addEventListener('click', (ev) => {
    const btn = ev.target.closest('button[data-act]');
    if (btn && !btn.disabled) handlers.click(key, btn);
  });
  cards[key] = parts;
  $('assets').appendChild(card);
  $('log-asset').appendChild(h('option', { value: key }, key));
  $('hist-asset').appendChild(h('option', { value: key }, key));
  return parts;
}

export function renderAssets() {
  const st = S.state;
  if (!st) return;
  const now = serverNow();
  for (const [key, a] of Object.entries(st.assets)) renderCard(key, a, ensureCard(key), now);
}

export function renderOneCard(key) {
  if (S.state && S.state.assets[key]) renderCard(key, S.state.assets[key], ensureCard(key), serverNow());
}

export function renderGatesOnly() {
  for (const key of Object.keys(cards)) renderGates(key, cards[key]);
}

function renderCard(key, a, p, now) {
  const down = offline();
  const age = (ts) => (num(ts) === null ? null : now - ts);
  p.contract.textContent = a.rithmic_symbol || '';
  // the price's age as a trader reads it: amber from 60 s, red from 120 s (the server's gate allows up to its limit)
  const hbAge = priceAge(key);
  const level = priceLevel(hbAge);
  p.hb.textContent = 'Price ' + fmtPx(a.last_price) + ' · ' + (hbAge === null ? 'none yet' : fmtAge(hbAge) + ' old');
  p.hb.className = 'hb ' + (down ? 'frozen' : level);
  p.hb.title = 'TradingView heartbeat price; entries need one at most ' + fmtAge(priceLimit()) + ' old (Risk tab: max price age)';

  // one cell for each brick size, as the server lists them (the state view's `streams`, from the rules' catalog)
  const streams = Array.isArray(a.streams) ? a.streams : [];
  patch(p.colors, streams.map((s) => s.size + s.color + ':' + Math.floor(age(s.ts) ?? -1)).join('|'), () =>
    streams.map((s) => h('div', { class: 'cell ' + colorClass(s.color), dataset: { stream: s.size } },
      h('span', { class: 'lbl' }, s.size),
      h('span', { class: 'col' }, (s.color || 'neutral').toUpperCase()),
      h('span', { class: 'age' }, fmtAge(age(s.ts))))));

  renderPills(a, p);
  renderPending(key, a, p, now);
  renderPosition(key, a, p);
  renderStop(key, p);
  renderGates(key, p);

  const gate = S.gates[key];
  // the price ages between two gate polls: the page applies the server's own limit on the clock
  const stalePrice = priceTooOld(key);
  const canEnter = !!(gate && gate.body && gate.body.can_enter && !gate.error && since(gate.at) < 8) && !stalePrice;
  p.enter.disabled = down || !canEnter || S.busy.has('order:' + key);
  const blocked = gate && gate.body ? gate.body.gates.find((r) => !r.pass) : null;
  const intentWhy = intentRefusal(key, a);
  p.intent.disabled = down || !!intentWhy || S.busy.has('order:' + key);
  const marketWhy = stalePrice && (!blocked || blocked.gate === 'heartbeat' || blocked.gate === 'tempo' || blocked.gate === 'structure')
    ? stalePrice : blocked ? String(blocked.reason || blocked.code).replace(REMAINING, '') : 'waiting for the gates';
  const why = down ? 'Offline: entries need the server'
    : (!canEnter ? 'MARKET: ' + marketWhy : '') + (intentWhy ? (canEnter ? '' : ' · ') + 'INTENT: ' + intentWhy : '');
  p.enter.title = canEnter ? 'Every gate passes' : 'MARKET: ' + marketWhy;
  p.intent.title = intentWhy ? 'INTENT unavailable: ' + intentWhy : 'Arm an entry for the next 6pt bar';
  if (p.why.textContent !== why) p.why.textContent = why;

  const out = latestFor(key);
  patch(p.outcome, out ? String(out.seq) : '', () => (out ? [h('span', { class: 'o-kind ' + out.kind }, '●'),
    h('time', null, fmtTime(out.ts)), ' ', out.text] : []));
  p.outcome.className = 'outcome ' + (out ? out.kind : '');

  const m = messages[key];
  if (m && since(m.at) > (m.kind === 'err' ? 20 : 10)) delete messages[key];
  const cur = messages[key];
  p.msg.textContent = cur ? cur.text : '';
  p.msg.className = 'msg ' + (cur ? cur.kind : '');
}

/** Why the server would refuse an intent now (operator.py's order), or ''. */
export function intentRefusal(key, a) {
  const g = S.state.global;
  if (g.daily_stop_triggered) return 'the daily stop is triggered';
  const cool = lockLeft('post_exit_cooldown');
  if (cool !== null && cool > 0) return 'post-exit cooldown (' + mmss(cool) + ' remaining)';
  if (g.trade_lock) return 'the global trade lock is on';
  if (a.position !== 0) return 'a position is open';
  if (a.pending_order_id) return 'an order is in flight';
  if (a.preorder_active) return 'a pre-order is active';
  if (a.intent_active) return 'an intent is already set';
  return priceTooOld(key);
}

function pill(cls, text, title) { return h('span', { class: 'pill ' + cls, title }, text); }

function renderPills(a, p) {
  const zone = a.zone_type;
  const tempoAge = num(a.tempo_age_s);
  const down = offline();
  const sig = JSON.stringify([zone, a.high_renko_color, a.tempo_ready, tempoAge === null ? null : Math.floor(tempoAge),
    a.intent_active, a.intent_status, a.intent_direction, a.preorder_active, a.preorder_status, a.preorder_direction,
    a.position, a.two_half_tp_lock_enabled, a.two_half_tp_lock_released, a.position_mismatch, a.broker_position, down]);
  patch(p.pills, sig, () => {
    const out = [];
    if (zone === 'FREE') out.push(pill('zone free', 'FREE ZONE', '8pt and 12pt disagree: choose the side'));
    else if (zone === 'NORMAL') {
      out.push(pill('zone normal ' + colorClass(a.high_renko_color),
        'NORMAL ' + (a.high_renko_color === 'green' ? '▲ LONG' : '▼ SHORT'), '8pt and 12pt agree'));
    } else out.push(pill('zone none', 'NO ZONE', '8pt/12pt structure unavailable'));
    out.push(pill('tempo ' + (a.tempo_ready ? 'ready' : 'wait'),
      (a.tempo_ready ? 'READY' : 'WAIT') + (tempoAge === null ? '' : ' ' + fmtAge(tempoAge)),
      'Tempo token: one 6pt bar = one trade'));
    if (a.intent_active) {
      out.push(pill('intent ' + (a.intent_status === 'READY' ? 'ready' : ''),
        'INTENT ' + (a.intent_direction || '?') + ' · ' + (a.intent_status || 'PENDING')),
      h('button', { type: 'button', class: 'btn tiny', dataset: { act: 'cancel-intent' }, disabled: down }, 'Cancel intent'));
    }
    if (a.preorder_active) {
      out.push(pill('intent', 'PRE-ORDER ' + (a.preorder_direction || '?') + ' · ' + (a.preorder_status || '')),
        h('button', { type: 'button', class: 'btn tiny', dataset: { act: 'cancel-preorder' }, disabled: down }, 'Cancel pre-order'));
    }
    if (a.position !== 0) {
      // the server clears `enabled` when it releases the lock: RELEASED (a 2.5pt bar against the position) is
      // told apart from OFF by `released`
      const lock = a.two_half_tp_lock_enabled ? 'ON' : a.two_half_tp_lock_released ? 'RELEASED' : 'OFF';
      out.push(pill('lock25 ' + lock.toLowerCase(), '2.5 LOCK: ' + lock,
        'Automatic 2.5pt management lock: TP, protect and 8PT NEXT changes wait while it is ON'));
    }
    if (a.position_mismatch) {
      out.push(pill('mismatch', '⚠ POSITION MISMATCH: broker ' + (a.broker_position ?? '?') + ' vs local ' + a.position,
        'Two consecutive broker snapshots disagree with the local position (D10): entries blocked'));
    }
    return out;
  });
}

/** The order in flight: its status and age, whether the bridge can take it, and Cancel only while no report came. */
function renderPending(key, a, p, now) {
  const order = a.pending_order_id ? S.orders.find((o) => o.id === a.pending_order_id) : null;
  const status = order ? order.status : 'PENDING';
  const created = order ? order.createdAt : null;
  const bridge = S.state.global.rithmic_connected;
  const down = offline();
  // the age is not in the signature: a row rebuilt every second would replace its Cancel button between a
  // press and its release, and the click would be lost; the age's text is updated in place below
  const sig = JSON.stringify([a.pending_order_id, a.pending_kind, a.pending_side, a.pending_qty, status, bridge, down,
    created === null, S.busy.has('cancel:' + a.pending_order_id)]);
  patch(p.pending, sig, () => {
    if (!a.pending_order_id) return [];
    // no bridge report yet: the operator may take it back; once the broker answered, only the broker can
    const cancellable = status === 'PENDING' || status === 'STALE';
    const waiting = status === 'PENDING' && !bridge ? 'waiting: the bridge is not connected' : '';
    return h('div', { class: 'pending-row ' + (status === 'STALE' ? 'stale' : '') },
      h('span', { class: 'pill pend' }, status + ' ' + (a.pending_kind || 'ORDER')),
      h('span', null, (a.pending_side || '') + ' ' + (a.pending_qty || '') + ' ' + instrument(key)),
      created !== null ? h('span', { class: 'age' }, fmtAge(now - created)) : null,
      h('code', { class: 'oid' }, a.pending_order_id),
      waiting ? h('span', { class: 'warn-text' }, waiting) : null,
      cancellable ? h('button', { type: 'button', class: 'btn tiny', dataset: { act: 'cancel-order', id: a.pending_order_id },
        disabled: down || S.busy.has('cancel:' + a.pending_order_id) }, 'Cancel') : null);
  });
  const age = p.pending.querySelector('.age');
  if (age && created !== null && age.textContent !== fmtAge(now - created)) age.textContent = fmtAge(now - created);
}

/** The open position in $ and points, with TP and protect price levels. */
export function positionMoney(key, a) {
  if (a.position === 0) return null;
  const dir = a.position > 0 ? 1 : -1;
  const avg = num(a.avg_price);
  const pv = pointValue(key);
  let pts = null;
  let usd = null;
  if (a.broker_position === a.position && num(a.pnl) !== null && a.pnl !== 0 && num(a.rithmic_open_points) !== null) {
    // the broker has reported this very position: its own figures, $ and points from one source
    usd = a.pnl;
    pts = a.rithmic_open_points;
  } else if (num(a.last_price) !== null && avg !== null) {
    pts = (a.last_price - avg) * dir;
    usd = pv ? pts * Math.abs(a.position) * pv : null;
  }
  const tp = a.points_tp_enabled && avg !== null && num(a.points_tp_target) !== null ? avg + dir * a.points_tp_target : null;
  const protect = a.protect_enabled && avg !== null && num(a.protect_threshold_points) !== null
    ? avg + dir * a.protect_threshold_points : null;
  return { dir, avg, pts, usd, tp, protect };
}

function renderPosition(key, a, p) {
  const inTrade = a.position !== 0;
  const pending = !!a.pending_order_id;
  const lock25 = a.two_half_tp_lock_enabled && !a.two_half_tp_lock_released;
  const down = offline();
  const busy = [...S.busy].filter((b) => b.endsWith(':' + key)).join(',');
  const sig = JSON.stringify([a.position, a.avg_price, a.trade_mode, a.tp_armed, a.next_bar_exit_allowed,
    a.high_next_bar_exit_enabled, a.high_next_bar_exit_allowed, a.main_flip_exit_enabled,
    a.four_pt_invalidation_enabled, a.four_pt_invalidation_allowed, a.points_tp_enabled, a.points_tp_target,
    a.protect_enabled, a.protect_threshold_points, pending, lock25, a.initial_exit_lock_active,
    a.scale_in_available, a.scale_in_used, busy, down]);
  patch(p.position, sig, () => {
    if (!inTrade) return h('div', { class: 'flat' }, 'FLAT');
    const side = a.position > 0 ? 'LONG' : 'SHORT';
    const reasons = new Map(); // why → the controls it disables: one line per reason
    /** A control: `why` (when set) disables it and is said under the controls. */
    const b = (act, label, opts) => {
      const o = opts || {};
      const why = down ? 'offline' : o.why || '';
      if (o.why && !down) reasons.set(o.why, [...(reasons.get(o.why) || []), o.name || label.replace('…', '')]);
      const btn = h('button', { type: 'button', class: 'btn ctl' + (o.cls ? ' ' + o.cls : ''),
        dataset: Object.assign({ act }, o.data), title: why || o.title,
        disabled: !!why || S.busy.has(act + ':' + key) }, label);
      if (o.toggle) setPressed(btn, o.on);
      return btn;
    };
    const tpTarget = num(a.points_tp_target);
    const prot = num(a.protect_threshold_points);
    const inFlight = pending ? 'an order is in flight' : '';
    const lockWhy = lock25 ? 'waits for the 2.5pt management lock' : '';
    const exitWhy = inFlight || (a.initial_exit_lock_active ? 'initial exit lock until a fresh 6pt bar — use FORCE EXIT' : '');
    return [
      h('div', { class: 'pos-line' },
        h('span', { class: 'pill side ' + side.toLowerCase() }, side + ' ' + Math.abs(a.position) + ' ' + instrument(key)),
        ' @ ' + fmtPx(a.avg_price),
        a.trade_mode ? h('span', { class: 'pill' }, a.trade_mode) : null,
        a.initial_exit_lock_active ? h('span', { class: 'pill warnp', title: 'Manual exit waits for a new 6pt bar; FORCE EXIT bypasses it' }, 'INITIAL EXIT LOCK') : null),
      h('div', { class: 'ctl-row' },
        b('tp-next', '6PT NEXT', { toggle: true, on: a.tp_armed, why: inFlight || (!a.next_bar_exit_allowed ? 'not allowed now (2.5pt management lock)' : ''), title: 'Exit on the next 6pt bar' }),
        b('high-next', '8PT NEXT', { toggle: true, on: a.high_next_bar_exit_enabled, why: inFlight || lockWhy || (a.high_next_bar_exit_allowed === false && !a.high_next_bar_exit_enabled ? 'not allowed now' : ''), title: 'Exit on the next 8pt bar' }),
        b('main-flip', '6PT FLIP', { toggle: true, on: a.main_flip_exit_enabled, why: inFlight, title: 'Exit when the 6pt flips against the position' }),
        b('four-pt', '4PT INVALIDATION', { toggle: true, on: a.four_pt_invalidation_enabled, why: inFlight || (!a.four_pt_invalidation_allowed ? 'not allowed now' : '') })),
      h('div', { class: 'ctl-row' },
        h('span', { class: 'k' }, 'TP pts'),
        [4, 8, 10, 15, 20].map((v) => b('tp-preset', String(v), { name: 'TP ' + v, toggle: true, on: a.points_tp_enabled && tpTarget === v, data: { v }, why: lockWhy || inFlight })),
        b('tp-toggle', 'TP ' + (a.points_tp_enabled ? 'ON' : 'OFF'), { toggle: true, on: a.points_tp_enabled, why: lockWhy })),
      h('div', { class: 'ctl-row' },
        b('protect', 'PROTECT −2', { toggle: true, on: a.protect_enabled && prot === -2, data: { v: -2 }, why: lockWhy || inFlight }),
        b('protect', 'RISK-FREE +0.5', { toggle: true, on: a.protect_enabled && prot === 0.5, data: { v: 0.5 }, why: lockWhy || inFlight }),
        a.scale_in_available && !a.scale_in_used ? b('scale-in', 'SCALE-IN…', { why: inFlight }) : null),
      h('div', { class: 'ctl-row exits' },
        b('exit', 'EXIT…', { cls: 'danger', why: exitWhy, title: 'Market exit of the whole position' }),
        b('force-exit', 'FORCE EXIT…', { cls: 'danger strong', why: inFlight, title: 'Exit now, bypassing the initial exit lock' })),
      reasons.size ? h('ul', { class: 'ctl-why' }, [...reasons].map(([why, labels]) => h('li', null, labels.join(' · ') + ': ' + why))) : null,
    ];
  });
  // the money changes every tick: kept apart so the buttons above are not rebuilt each second
  const mny = positionMoney(key, a);
  const snap = snapshotAge();
  const aged = mny && snap.silent ? ' · ' + (snap.age === null ? 'no snapshot' : fmtAge(snap.age) + ' old') + ' — bridge silent' : '';
  patch(p.live, JSON.stringify([mny, aged]), () => {
    if (!mny) return [];
    return h('div', { class: 'money' + (aged ? ' aged' : '') },
      h('span', { class: 'pill live ' + signClass(mny.pts) }, 'OPEN ' + fmtUsd(mny.usd, true) + ' · ' + fmtPts(mny.pts) + aged),
      h('span', { class: 'lvl' }, 'TP ' + (mny.tp === null ? 'off' : fmtPx(mny.tp))),
      h('span', { class: 'lvl' }, 'Protect ' + (mny.protect === null ? 'off' : fmtPx(mny.protect))));
  });
}

/** The protective stop (D21): its price and state — resting at the broker, not placed, rejected (unprotected) —
 * and, on LIVE, a bridge that rests no stop said in red. */
function renderStop(key, p) {
  const v = stopView(key);
  patch(p.stop, JSON.stringify(v && [v.state, v.text, v.cls, v.price]), () => (v ? h('div', { class: 'stop-line ' + v.cls, dataset: { state: v.state } },
    h('span', { class: 'k' }, 'Protective stop'), ' ',
    v.price === null || v.price === undefined ? null : h('strong', { class: 'stop-px' }, fmtPx(v.price)), v.price === null || v.price === undefined ? null : ' · ',
    h('span', { class: 'stop-state' }, v.text)) : []));
}

/** The price row of the gates board: its age against the server's limit, amber from 60 s, red from 120 s. */
function priceText(key, pass) {
  const age = priceAge(key);
  if (age === null) return 'no TradingView price yet';
  return 'price ' + fmtAge(age) + ' old' + (pass ? (age >= 60 ? ' — allowed up to ' + fmtAge(priceLimit()) : '')
    : ' — older than the ' + fmtAge(priceLimit()) + ' limit');
}

/** The dollar figures under the gates (D20): day P&L, room to each limit, the mark, the floor, the worst case. */
function renderDollars(key, p) {
  const g = S.state && S.state.global;
  const m = g && g.money;
  if (!m) return;
  const lim = dollarLimits();
  if (!lim.loss) return;
  const snap = snapshotAge();
  const worst = m.worst_case_next_entry_usd ? m.worst_case_next_entry_usd[key] : null;
  const cap = num(m.max_loss_per_trade_usd);
  const rows = [
    ['Day P&L', fmtUsd(m.day_pnl_usd, true), signClass(m.day_pnl_usd)],
    ['Room to daily loss limit', lim.loss[0], lim.loss[1]],
    ['Trailing floor', lim.floor[0], lim.floor[1]],
    ['Next entry worst case', fmtUsd(worst) + (cap === null ? '' : ' (cap ' + fmtUsd(cap) + ')'),
      cap !== null && num(worst) !== null && worst > cap ? 'neg' : ''],
  ];
  const aged = snap.silent ? 'bridge silent — ' + (snap.age === null ? 'no snapshot yet' : 'as of ' + fmtAge(snap.age) + ' ago') : '';
  patch(p.dollars, JSON.stringify([rows, aged]), () => h('dl', { class: 'dollar-list' + (aged ? ' aged' : '') },
    rows.map(([k, v, cls]) => [h('dt', null, k), h('dd', { class: cls }, v)]),
    aged ? [h('dt', null, 'Figures'), h('dd', { class: 'warn' }, aged)] : null));
}

function renderGates(key, p) {
  renderDollars(key, p);
  const gate = S.gates[key];
  const left = (r) => (r.pass ? null : lockLeft(r.gate) ?? (num(r.remaining_s) !== null ? r.remaining_s - since(gate.at) : null));
  const ageNow = priceAge(key);
  const sig = gate ? JSON.stringify([ageNow === null ? null : Math.floor(ageNow), priceLimit(), gate.body, gate.error, gate.error ? Math.floor(since(gate.at)) : 0, gate.body ? gate.body.gates.map((r) => {
    const l = left(r);
    return l === null ? 0 : Math.ceil(l);
  }) : 0]) : 'none';
  patch(p.gates, sig, () => {
    if (!gate) return h('div', { class: 'gates-head' }, 'GATES — loading…');
    if (!gate.body) return h('div', { class: 'gates-head bad' }, 'GATES — ' + gate.error);
    const rows = gate.body.gates;
    const failed = rows.filter((r) => !r.pass).length;
    p.gates.classList.toggle('all-pass', failed === 0);
    return [
      h('div', { class: 'gates-head ' + (gate.error ? '' : gate.body.can_enter ? 'good' : 'bad') },
        gate.error ? 'GATES — as checked ' + fmtAge(since(gate.at)) + ' ago (' + gate.error + ')'
          : gate.body.can_enter ? 'GATES — ALL PASS, entry allowed'
            : 'GATES — ENTRY BLOCKED (' + failed + ' of ' + rows.length + ')'),
      h('ul', { class: 'gate-list' }, rows.map((r) => {
        const l = left(r);
        const priceRow = r.gate === 'heartbeat';
        const stale = priceRow ? priceTooOld(key) : '';
        const pass = r.pass && !stale;
        const ageLevel = priceRow ? priceLevel(priceAge(key)) : 'ok';
        return h('li', { class: 'gate ' + (pass ? 'pass' : 'fail') + (priceRow && pass && ageLevel !== 'ok' ? ' aging' : ''),
          dataset: { gate: r.gate, code: r.code || (stale ? 'HEARTBEAT_STALE' : '') } },
          h('span', { class: 'mark' }, pass ? '✓' : '✗'),
          h('span', { class: 'name' }, GATE_LABELS[r.gate] || r.gate),
          // the server's text carries its own countdown: one remaining time per lock, the page's, is shown
          // the server's own text when the gate fails (verbatim; the page's clock may find it first), the price's
          // age beside it
          h('span', { class: 'reason' }, pass ? (priceRow ? priceText(key, true) : '')
            : String(stale && r.pass ? HEARTBEAT_TEXT : r.reason || r.code || 'blocked').replace(REMAINING, '')),
          priceRow && !pass ? h('span', { class: 'pxage' }, priceText(key, false)) : null,
          l !== null ? h('span', { class: 'left' }, mmss(l)) : null);
      })),
    ];
  });
}

