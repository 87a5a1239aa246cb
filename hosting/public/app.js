/* OperatorLock operator dashboard (behavior.md §14 adapted to this backend; decisions D2, D5, D8, D10, D12–D14).
 *
 * Vanilla JS, no build step, nothing loaded from elsewhere. Every string that comes from the server is inserted
 * as text (textContent / text nodes), never as markup: the page has no innerHTML with server data.
 * The server decides: the entry button follows GET /api/gates `can_enter`, and every refusal is shown verbatim.
 */
(function () {
  'use strict';

  // ---- tiny DOM helpers ----------------------------------------------------------------------------------------

  const $ = (id) => document.getElementById(id);

  /** h('div', {class: 'x', dataset: {a: 1}, disabled: true}, 'text', child, [more]) — strings become text nodes. */
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === 'class') el.className = v;
        else if (k === 'dataset') Object.entries(v).forEach(([dk, dv]) => { el.dataset[dk] = String(dv); });
        else if (k === 'text') el.textContent = String(v);
        else if (k === 'title') el.title = String(v);
        else if (v === true) el.setAttribute(k, '');
        else el.setAttribute(k, String(v));
      }
    }
    append(el, kids);
    return el;
  }

  function append(el, kids) {
    for (const kid of kids) {
      if (kid === null || kid === undefined || kid === false) continue;
      if (Array.isArray(kid)) append(el, kid);
      else if (kid instanceof Node) el.appendChild(kid);
      else el.appendChild(document.createTextNode(String(kid)));
    }
  }

  /** Rebuild `el`'s children only when `sig` changed (keeps buttons stable between polls). */
  function patch(el, sig, build) {
    if (el.dataset.sig === sig) return;
    el.dataset.sig = sig;
    el.replaceChildren(...[build()].flat(Infinity).filter(Boolean));
  }

  function setText(el, text, cls) {
    if (!el) return;
    el.textContent = text;
    if (cls !== undefined) el.className = 'v ' + cls;
  }

  // ---- formatting ------------------------------------------------------------------------------------------

  const NY_TIME = new Intl.DateTimeFormat('en-US', {
    timeZone: 'America/New_York', hour12: false, month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit',
  });

  function num(v) { return typeof v === 'number' && isFinite(v) ? v : null; }
  function fmtUsd(v) {
    const n = num(v);
    if (n === null) return '–';
    const sign = n < 0 ? '-' : '';
    return sign + '$' + Math.abs(n).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }
  function fmtPx(v) { const n = num(v); return n === null ? '–' : n.toFixed(2); }
  function fmtPts(v) { const n = num(v); return n === null ? '–' : (n > 0 ? '+' : '') + n.toFixed(2); }
  function mmss(s) {
    const t = Math.max(0, Math.ceil(s));
    const m = Math.floor(t / 60);
    const r = t % 60;
    return String(m).padStart(2, '0') + ':' + String(r).padStart(2, '0');
  }
  function fmtAge(s) {
    const n = num(s);
    if (n === null) return '–';
    const t = Math.max(0, Math.floor(n));
    if (t < 60) return t + 's';
    if (t < 3600) return Math.floor(t / 60) + 'm' + String(t % 60).padStart(2, '0') + 's';
    if (t < 86400) return Math.floor(t / 3600) + 'h' + String(Math.floor((t % 3600) / 60)).padStart(2, '0') + 'm';
    return Math.floor(t / 86400) + 'd';
  }
  function fmtDuration(s) {
    const t = Math.max(0, Math.floor(s));
    const d = Math.floor(t / 86400);
    const hh = Math.floor((t % 86400) / 3600);
    const m = Math.floor((t % 3600) / 60);
    if (d > 0) return d + 'd ' + hh + 'h';
    if (hh > 0) return hh + 'h ' + m + 'm';
    return mmss(t);
  }
  function fmtTs(ts) {
    const n = num(ts);
    return n === null ? '–' : NY_TIME.format(new Date(n * 1000));
  }
  function colorClass(c) { return c === 'green' || c === 'red' ? c : 'neutral'; }
  function dirOfColor(c) { return c === 'green' ? 'BUY' : c === 'red' ? 'SELL' : null; }

  // ---- state ---------------------------------------------------------------------------------------------

  const S = {
    state: null,          // last GET /api/state body
    stateAt: 0,           // Date.now() when it arrived
    offset: 0,            // server clock − local clock (s): the local stack's clock can be moved
    online: true,
    gates: {},            // asset → {body, at, direction}
    orders: [],
    ordersAt: 0,
    risk: null,
    riskShown: null,      // the values the risk form was filled with
    window: null,
    windowAt: 0,
    tab: 'console',
    busy: new Set(),
    modal: null,
    leaving: false,
  };

  const serverNow = () => Date.now() / 1000 + S.offset;
  const since = (at) => (Date.now() - at) / 1000;

  // ---- API -----------------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(message, status, code, body) {
      super(message);
      this.status = status;
      this.code = code || null;
      this.body = body || null;
    }
  }

  function toLogin() {
    if (S.leaving) return;
    S.leaving = true;
    window.location.replace('/login.html');
  }

  async function api(method, path, body) {
    const init = { method, cache: 'no-store', credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new ApiError('Network error: the server did not answer', 0);
    }
    if (res.status === 401) {
      toLogin();
      throw new ApiError('Authentication required', 401);
    }
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (!res.ok || (data && data.ok === false)) {
      const text = data && typeof data.error === 'string' && data.error ? data.error : 'HTTP ' + res.status;
      throw new ApiError(text, res.status, data && data.code, data);
    }
    return data || {};
  }

  // ---- polling -------------------------------------------------------------------------------------------

  /** Run `fn` now and then `ms` after each run ends; `.now()` runs it at once (never two runs at a time). */
  function every(ms, fn) {
    let timer = null;
    let running = false;
    let again = false;
    const run = async () => {
      if (running) { again = true; return; }
      clearTimeout(timer);
      running = true;
      try { await fn(); } catch (e) { /* shown by the callee */ } finally {
        running = false;
        if (again) { again = false; run(); } else timer = setTimeout(run, ms);
      }
    };
    run();
    return { now: run };
  }

  async function loadState() {
    try {
      const data = await api('GET', '/api/state');
      const first = !S.state;
      applyState(data);
      S.online = true;
      if (first && pollers.gates) pollers.gates.now();
    } catch (e) {
      if (e.status !== 401) S.online = false;
      renderBanners();
      throw e;
    }
  }

  function applyState(data) {
    if (!data || !data.global || !data.assets) return;
    S.state = data;
    S.stateAt = Date.now();
    if (num(data.global.server_time) !== null) S.offset = data.global.server_time - Date.now() / 1000;
    renderAll();
  }

  function gatesDirection(a) {
    // In a FREE zone the structure gate needs a side; only the side matching the 2.5pt colour can pass (§5.6),
    // so ask the server about that one. Elsewhere the server picks the side itself.
    if (a && a.zone_type === 'FREE') return dirOfColor(a.two_half_renko_color);
    return null;
  }

  async function loadGates() {
    if (!S.state) return;
    const keys = Object.keys(S.state.assets);
    await Promise.all(keys.map(async (key) => {
      const direction = gatesDirection(S.state.assets[key]);
      const q = '/api/gates?asset=' + encodeURIComponent(key) + (direction ? '&direction=' + direction : '');
      try {
        const body = await api('GET', q);
        S.gates[key] = { body, at: Date.now(), direction, error: null };
      } catch (e) {
        S.gates[key] = { body: null, at: Date.now(), direction, error: e.message };
      }
    }));
    renderAssets();
    renderModal();
  }

  async function loadOrders() {
    const data = await api('GET', '/api/orders?limit=20');
    S.orders = Array.isArray(data.orders) ? data.orders : [];
    S.ordersAt = Date.now();
    renderOrders();
    renderBanners();
  }

  async function loadRisk() {
    const data = await api('GET', '/api/risk');
    S.risk = data;
    renderRisk();
    renderHeader();
  }

  async function loadWindow() {
    const data = await api('GET', '/api/session-window');
    S.window = data;
    S.windowAt = Date.now();
    renderHeader();
  }

  async function loadHistory() {
    const data = await api('GET', '/api/history?limit=100');
    renderHistory(Array.isArray(data.history) ? data.history : []);
  }

  async function loadLogs() {
    const asset = $('log-asset').value;
    const data = await api('GET', '/api/logs?limit=100' + (asset ? '&asset=' + encodeURIComponent(asset) : ''));
    renderLogs(Array.isArray(data.events) ? data.events : []);
  }

  // ---- actions -------------------------------------------------------------------------------------------

  /** POST, show the server's answer, then refresh what it may have changed. */
  async function act(busyKey, path, body, asset, okText) {
    if (S.busy.has(busyKey)) return null;
    S.busy.add(busyKey);
    renderAll();
    try {
      const data = await api('POST', path, body);
      if (data.state) applyState(data.state);
      if (asset) cardMessage(asset, okText ? okText(data) : 'Done', 'ok');
      else toast(okText ? okText(data) : 'Done', 'ok');
      return data;
    } catch (e) {
      if (e.status !== 401) {
        if (asset) cardMessage(asset, e.message, 'err');
        else toast(e.message, 'err');
      }
      throw e;
    } finally {
      S.busy.delete(busyKey);
      refreshSoon();
    }
  }

  let pollers = {};
  function refreshSoon() {
    if (pollers.state) pollers.state.now();
    if (pollers.gates) pollers.gates.now();
    if (pollers.orders) pollers.orders.now();
  }

  const messages = {};
  function cardMessage(asset, text, kind) {
    messages[asset] = { text, kind, at: Date.now() };
    renderAssets();
  }

  let toastTimer = null;
  function toast(text, kind) {
    const el = $('toast');
    el.textContent = text;
    el.className = 'toast ' + (kind || '');
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { el.hidden = true; }, kind === 'err' ? 9000 : 4000);
  }

  // ---- header and banners --------------------------------------------------------------------------------

  function renderHeader() {
    const st = S.state;
    if (st) {
      const g = st.global;
      setText($('h-equity'), fmtUsd(g.equity));
      const pnl = num(g.open_pnl) || 0;
      setText($('h-openpnl'), fmtUsd(pnl), pnl > 0 ? 'pos' : pnl < 0 ? 'neg' : '');
      const dateEl = $('h-date');
      setText(dateEl, g.today_date || '–');
      dateEl.title = g.trading_day ? 'Trading day ' + g.trading_day + ' (starts 18:00 New York)' : '';
      const cc = $('h-connected');
      setText(cc, (g.connected_count ?? 0) + '/' + (g.connected_expected ?? 2), g.connected ? 'ok' : 'warn');
      cc.title = 'TradingView ' + (g.tradingview_connected ? 'connected' : 'not connected') +
        ' · Rithmic bridge ' + (g.rithmic_connected ? 'connected' : 'not connected');
      setText($('h-tradelock'), g.trade_lock ? 'ON' : 'OFF', g.trade_lock ? 'neg' : 'ok');
      const left = g.trades_remaining_today;
      if (left === 0) setText($('h-trades'), '0', 'neg');
      else if (left === 1) setText($('h-trades'), '1 · LAST TRADE', 'warn');
      else setText($('h-trades'), String(left ?? '–'), '');
      setText($('h-orders'), String(g.total_orders ?? 0));
      for (const btn of document.querySelectorAll('#env-switch button')) {
        btn.classList.toggle('on', btn.dataset.env === g.env);
        btn.classList.toggle('live', btn.dataset.env === 'LIVE' && g.env === 'LIVE');
        btn.disabled = S.busy.has('env');
      }
      document.body.classList.toggle('env-live', g.env === 'LIVE');
    }
    const win = S.window;
    if (win) {
      const el = $('h-window');
      if (win.open) setText(el, 'OPEN · closes in ' + fmtDuration(win.seconds_until_close - since(S.windowAt)), 'ok');
      else setText(el, 'CLOSED · opens in ' + fmtDuration(win.seconds_until_open - since(S.windowAt)), 'warn');
      el.title = 'CME Globex: Sunday 18:00 to Friday 17:00 New York, daily break 17:00–18:00';
    }
    const risk = S.risk;
    if (risk) {
      const el = $('h-dailystop');
      const stopKeys = Object.keys(risk.pending || {}).filter((k) => k.startsWith('daily_stop'));
      const pending = stopKeys.length ? ' · change pending' : '';
      if (risk.daily_stop_enabled) setText(el, num(risk.daily_stop_limit_pct) + '%' + pending, '');
      else setText(el, 'OFF' + pending, 'warn');
      el.title = 'Daily stop on equity drawdown (GET /api/risk); change it in the Risk tab';
    }
    const candle = 300 - (serverNow() % 300);
    setText($('h-candle'), mmss(candle), candle <= 5 ? 'warn' : candle >= 285 ? 'ok' : '');
  }

  function banner(kind, text, id) {
    return h('div', { class: 'banner ' + kind, id }, text);
  }

  function renderBanners() {
    const out = [];
    if (!S.online) out.push(banner('grey', 'Connection to the server lost — retrying…', 'b-offline'));
    const st = S.state;
    if (st) {
      const g = st.global;
      const el = since(S.stateAt);
      if (g.daily_stop_triggered) {
        const dd = num(g.daily_stop_triggered_dd_pct);
        out.push(banner('red', 'DAILY STOP TRIGGERED — TRADING LOCKED' +
          (g.daily_stop_triggered_reason ? ' · ' + g.daily_stop_triggered_reason : '') +
          (dd !== null ? ' · drawdown ' + dd.toFixed(2) + '%' : ''), 'b-dailystop'));
      } else if (g.trade_lock) {
        out.push(banner('red', 'GLOBAL TRADE LOCK' + (g.trade_lock_reason ? ' — ' + g.trade_lock_reason : ''), 'b-tradelock'));
      }
      if (g.five_min_trade_lock_active) {
        out.push(banner('amber', '5-MIN CANDLE LOCK — one trade already used this candle · ' +
          mmss((g.five_min_trade_lock_remaining_s || 0) - el) + ' remaining', 'b-candle'));
      }
      if (g.post_exit_lock_active) {
        out.push(banner('amber', 'POST-EXIT COOLDOWN · ' + mmss((g.post_exit_lock_remaining_s || 0) - el) +
          ' remaining', 'b-cooldown'));
      }
      for (const [key, a] of Object.entries(st.assets)) {
        if (a.position_mismatch) {
          out.push(banner('red', 'POSITION MISMATCH ' + key + ': broker ' + (a.broker_position ?? '?') +
            ' vs local ' + a.position + ' — entries blocked until they agree', 'b-mismatch-' + key));
        }
      }
    }
    const stale = S.orders.filter((o) => o.status === 'STALE');
    if (stale.length) {
      out.push(banner('red', stale.length + ' STALE order' + (stale.length > 1 ? 's' : '') +
        ' — claimed by the bridge with no report; check the broker, then cancel (Orders below)', 'b-stale'));
    }
    const box = $('banners');
    patch(box, JSON.stringify(out.map((b) => [b.className, b.textContent])), () => out);
  }

  // ---- asset cards ---------------------------------------------------------------------------------------

  const STREAMS = [
    ['1pt', 'one_renko_color', 'one_renko_ts'],
    ['2.5pt', 'two_half_renko_color', 'two_half_renko_ts'],
    ['4pt', 'renko_color', 'last_renko_ts'],
    ['6pt', 'main_renko_color', 'main_renko_ts'],
    ['8pt', 'high_renko_color', 'high_renko_ts'],
    ['12pt', 'macro_renko_color', 'macro_renko_ts'],
  ];

  const GATE_LABELS = {
    daily_stop: 'Daily stop',
    post_exit_cooldown: 'Post-exit cooldown',
    candle_lock: '5-min candle lock',
    trade_lock: 'Global trade lock',
    daily_trade_limit: 'Daily trade limit',
    open_position: 'Flat (no open position)',
    pending_order: 'No pending order',
    position_mismatch: 'Broker position agrees',
    heartbeat: 'Heartbeat fresh',
    tempo: 'Tempo token',
    structure: 'Zone / 2.5pt structure',
  };

  const cards = {};

  function ensureCard(key) {
    if (cards[key]) return cards[key];
    const parts = {
      title: h('h3', null, key),
      contract: h('span', { class: 'contract' }),
      hb: h('span', { class: 'hb' }),
      colors: h('div', { class: 'colors' }),
      pills: h('div', { class: 'pills' }),
      pending: h('div', { class: 'pending' }),
      position: h('div', { class: 'position' }),
      live: h('div', { class: 'live' }),
      gates: h('div', { class: 'gates' }),
      enter: h('button', { type: 'button', class: 'btn primary enter', id: 'enter-' + key,
        dataset: { act: 'enter' } }, 'MARKET…'),
      intent: h('button', { type: 'button', class: 'btn', id: 'intent-' + key, dataset: { act: 'intent' } }, 'INTENT…'),
      msg: h('div', { class: 'msg', id: 'msg-' + key, role: 'status' }),
    };
    const card = h('article', { class: 'card', id: 'card-' + key, dataset: { asset: key } },
      h('div', { class: 'card-head' }, parts.title, parts.contract, parts.hb),
      parts.colors, parts.pills, parts.pending, parts.position, parts.live, parts.gates,
      h('div', { class: 'entry-actions' }, parts.enter, parts.intent),
      parts.msg);
    card.addEventListener('click', (ev) => onCardClick(key, ev));
    parts.card = card;
    cards[key] = parts;
    $('assets').appendChild(card);
    const opt = h('option', { value: key }, key);
    $('log-asset').appendChild(opt);
    return parts;
  }

  function renderAssets() {
    const st = S.state;
    if (!st) return;
    const now = serverNow();
    for (const [key, a] of Object.entries(st.assets)) {
      const p = ensureCard(key);
      renderCard(key, a, p, now);
    }
  }

  function renderCard(key, a, p, now) {
    const age = (ts) => (num(ts) === null ? null : now - ts);
    p.contract.textContent = a.rithmic_symbol ? a.rithmic_symbol : '';
    // heartbeat age + price
    const hbAge = age(a.last_heartbeat_ts);
    p.hb.textContent = 'HB ' + (hbAge === null ? 'none' : fmtAge(hbAge)) + ' · ' + fmtPx(a.last_price);
    p.hb.className = 'hb ' + (a.heartbeat_fresh ? 'ok' : 'stale');

    patch(p.colors, STREAMS.map(([, c, t]) => a[c] + ':' + Math.floor(age(a[t]) ?? -1)).join('|'), () =>
      STREAMS.map(([label, c, t]) => h('div', { class: 'cell ' + colorClass(a[c]), dataset: { stream: label } },
        h('span', { class: 'lbl' }, label),
        h('span', { class: 'col' }, (a[c] || 'neutral').toUpperCase()),
        h('span', { class: 'age' }, fmtAge(age(a[t]))))));

    renderPills(a, p, now);
    renderPending(key, a, p);
    renderPosition(key, a, p);
    renderGates(key, p);

    const gate = S.gates[key];
    const canEnter = !!(gate && gate.body && gate.body.can_enter && since(gate.at) < 8);
    p.enter.disabled = !canEnter || S.busy.has('order:' + key);
    const blocked = gate && gate.body ? gate.body.gates.find((r) => !r.pass) : null;
    p.enter.title = canEnter ? 'Every gate passes' : blocked ? blocked.reason || blocked.code : 'Waiting for the gates';
    const g = S.state.global;
    p.intent.disabled = a.position !== 0 || !!a.pending_order_id || a.intent_active || a.preorder_active ||
      g.daily_stop_triggered || g.trade_lock || S.busy.has('order:' + key);

    const m = messages[key];
    if (m && since(m.at) > (m.kind === 'err' ? 20 : 8)) delete messages[key];
    const cur = messages[key];
    p.msg.textContent = cur ? cur.text : '';
    p.msg.className = 'msg ' + (cur ? cur.kind : '');
  }

  function pill(cls, text, title) { return h('span', { class: 'pill ' + cls, title }, text); }

  function renderPills(a, p) {
    const zone = a.zone_type;
    const tempoAge = num(a.tempo_age_s);
    const sig = JSON.stringify([zone, a.high_renko_color, a.tempo_ready, tempoAge === null ? null : Math.floor(tempoAge),
      a.intent_active, a.intent_status, a.intent_direction, a.preorder_active, a.preorder_status, a.preorder_direction,
      a.position, a.two_half_tp_lock_enabled, a.two_half_tp_lock_released, a.position_mismatch, a.broker_position]);
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
        h('button', { type: 'button', class: 'btn tiny', dataset: { act: 'cancel-intent' } }, 'Cancel intent'));
      }
      if (a.preorder_active) {
        out.push(pill('intent', 'PRE-ORDER ' + (a.preorder_direction || '?') + ' · ' + (a.preorder_status || '')),
          h('button', { type: 'button', class: 'btn tiny', dataset: { act: 'cancel-preorder' } }, 'Cancel pre-order'));
      }
      if (a.position !== 0) {
        const lock = a.two_half_tp_lock_enabled ? (a.two_half_tp_lock_released ? 'RELEASED' : 'ON') : 'OFF';
        out.push(pill('lock25 ' + lock.toLowerCase(), '2.5 LOCK: ' + lock,
          'Automatic 2.5pt management lock: TP and protect changes wait while it is ON'));
      }
      if (a.position_mismatch) {
        out.push(pill('mismatch', '⚠ POSITION MISMATCH: broker ' + (a.broker_position ?? '?') + ' vs local ' + a.position,
          'Two consecutive broker snapshots disagree with the local position (D10): entries blocked'));
      }
      return out;
    });
  }

  function renderPending(key, a, p) {
    const order = a.pending_order_id ? S.orders.find((o) => o.id === a.pending_order_id) : null;
    const status = order ? order.status : 'PENDING';
    const sig = JSON.stringify([a.pending_order_id, a.pending_kind, a.pending_side, a.pending_qty, status,
      S.busy.has('cancel:' + a.pending_order_id)]);
    patch(p.pending, sig, () => {
      if (!a.pending_order_id) return [];
      const cancellable = status === 'PENDING' || status === 'STALE';
      return h('div', { class: 'pending-row ' + (status === 'STALE' ? 'stale' : '') },
        h('span', { class: 'pill pend' }, status + ' ' + (a.pending_kind || 'ORDER')),
        h('span', null, ' ' + (a.pending_side || '') + ' ' + (a.pending_qty || '') + ' '),
        h('code', { class: 'oid' }, a.pending_order_id),
        cancellable ? h('button', { type: 'button', class: 'btn tiny', dataset: { act: 'cancel-order', id: a.pending_order_id },
          disabled: S.busy.has('cancel:' + a.pending_order_id) }, 'Cancel') : null);
    });
  }

  function renderPosition(key, a, p) {
    const inTrade = a.position !== 0;
    const pending = !!a.pending_order_id;
    const lock25 = a.two_half_tp_lock_enabled && !a.two_half_tp_lock_released;
    const busy = [...S.busy].filter((b) => b.endsWith(':' + key)).join(',');
    const sig = JSON.stringify([a.position, a.avg_price, a.trade_mode, a.tp_armed, a.next_bar_exit_allowed,
      a.high_next_bar_exit_enabled, a.high_next_bar_exit_allowed, a.main_flip_exit_enabled,
      a.four_pt_invalidation_enabled, a.four_pt_invalidation_allowed, a.points_tp_enabled, a.points_tp_target,
      a.protect_enabled, a.protect_threshold_points, pending, lock25, a.initial_exit_lock_active,
      a.scale_in_available, a.scale_in_used, busy]);
    patch(p.position, sig, () => {
      if (!inTrade) return h('div', { class: 'flat' }, 'FLAT');
      const side = a.position > 0 ? 'LONG' : 'SHORT';
      const b = (act, label, opts) => h('button', Object.assign({ type: 'button',
        class: 'btn ctl' + (opts && opts.on ? ' on' : '') + (opts && opts.cls ? ' ' + opts.cls : ''),
        dataset: Object.assign({ act }, opts && opts.data), title: opts && opts.title,
        disabled: (opts && opts.disabled) || S.busy.has(act + ':' + key) }), label);
      const tpTarget = num(a.points_tp_target);
      const prot = num(a.protect_threshold_points);
      return [
        h('div', { class: 'pos-line' },
          h('span', { class: 'pill side ' + side.toLowerCase() }, side + ' ' + Math.abs(a.position)),
          ' @ ' + fmtPx(a.avg_price),
          a.trade_mode ? h('span', { class: 'pill' }, a.trade_mode) : null,
          a.initial_exit_lock_active ? h('span', { class: 'pill warnp', title: 'Manual exit waits for a new 6pt bar; FORCE EXIT bypasses it' }, 'INITIAL EXIT LOCK') : null),
        h('div', { class: 'ctl-row' },
          b('tp-next', '6PT NEXT', { on: a.tp_armed, disabled: !a.next_bar_exit_allowed || pending, title: 'Exit on the next 6pt bar' }),
          b('high-next', '8PT NEXT', { on: a.high_next_bar_exit_enabled, disabled: pending, title: 'Exit on the next 8pt bar' }),
          b('main-flip', '6PT FLIP', { on: a.main_flip_exit_enabled, disabled: pending, title: 'Exit when the 6pt flips against the position' }),
          b('four-pt', '4PT INVALIDATION', { on: a.four_pt_invalidation_enabled, disabled: !a.four_pt_invalidation_allowed || pending })),
        h('div', { class: 'ctl-row' },
          h('span', { class: 'k' }, 'TP pts'),
          [4, 8, 10, 15, 20].map((v) => b('tp-preset', String(v), { on: tpTarget === v, data: { v }, disabled: lock25 || pending })),
          b('tp-toggle', 'TP: ' + (a.points_tp_enabled ? 'ON' : 'OFF'), { on: a.points_tp_enabled, disabled: lock25 })),
        h('div', { class: 'ctl-row' },
          b('protect', 'PROTECT -2', { on: a.protect_enabled && prot === -2, data: { v: -2 }, disabled: lock25 || pending }),
          b('protect', 'RISK-FREE +0.5', { on: a.protect_enabled && prot === 0.5, data: { v: 0.5 }, disabled: lock25 || pending }),
          a.scale_in_available && !a.scale_in_used ? b('scale-in', 'SCALE-IN', { disabled: pending }) : null),
        h('div', { class: 'ctl-row exits' },
          b('exit', 'EXIT', { cls: 'danger', disabled: pending, title: 'Market exit of the whole position' }),
          b('force-exit', 'FORCE EXIT', { cls: 'danger strong', title: 'Exit now, bypassing the initial exit lock' })),
      ];
    });
    // the live pill changes every tick: kept apart so the buttons above are not rebuilt each second
    patch(p.live, JSON.stringify([inTrade, a.rithmic_open_points, a.last_price, a.avg_price, a.points_tp_target]), () => {
      if (!inTrade) return [];
      let pts = num(a.rithmic_open_points);
      if ((pts === null || pts === 0) && num(a.last_price) !== null && num(a.avg_price) !== null) {
        pts = (a.last_price - a.avg_price) * (a.position > 0 ? 1 : -1);
      }
      return h('span', { class: 'pill live ' + (pts > 0 ? 'pos' : pts < 0 ? 'neg' : '') },
        'LIVE: ' + fmtPts(pts) + ' / TP ' + (num(a.points_tp_target) ?? '–') + ' pts');
    });
  }

  function renderGates(key, p) {
    const gate = S.gates[key];
    const el = since(gate ? gate.at : 0);
    const sig = gate ? JSON.stringify([gate.body, gate.error, gate.body ? gate.body.gates.map((r) =>
      (r.remaining_s ? Math.ceil(r.remaining_s - el) : 0)) : 0]) : 'none';
    patch(p.gates, sig, () => {
      if (!gate) return h('div', { class: 'gates-head' }, 'GATES — loading…');
      if (!gate.body) return h('div', { class: 'gates-head bad' }, 'GATES — ' + gate.error);
      const rows = gate.body.gates;
      const failed = rows.filter((r) => !r.pass).length;
      return [
        h('div', { class: 'gates-head ' + (gate.body.can_enter ? 'good' : 'bad') },
          gate.body.can_enter ? 'GATES — ALL PASS, entry allowed' : 'GATES — ENTRY BLOCKED (' + failed + ')'),
        h('ul', { class: 'gate-list' }, rows.map((r) => h('li', {
          class: 'gate ' + (r.pass ? 'pass' : 'fail'), dataset: { gate: r.gate, code: r.code || '' } },
        h('span', { class: 'mark' }, r.pass ? '✓' : '✗'),
        h('span', { class: 'name' }, GATE_LABELS[r.gate] || r.gate),
        h('span', { class: 'reason' }, r.pass ? '' : (r.reason || r.code || 'blocked')),
        num(r.remaining_s) !== null && !r.pass ? h('span', { class: 'left' }, mmss(r.remaining_s - el)) : null))),
      ];
    });
  }

  function onCardClick(key, ev) {
    const btn = ev.target.closest('button[data-act]');
    if (!btn || btn.disabled) return;
    const a = S.state && S.state.assets[key];
    if (!a) return;
    const action = btn.dataset.act;
    const body = { asset: key };
    const swallow = (p) => p && p.catch(() => {});
    switch (action) {
      case 'enter': openOrderModal(key, 'market'); break;
      case 'intent': openOrderModal(key, 'intent'); break;
      case 'cancel-intent': swallow(act('cancel-intent:' + key, '/api/intent/cancel', body, key, () => 'Intent cancelled')); break;
      case 'cancel-preorder': swallow(act('cancel-preorder:' + key, '/api/preorder/cancel', body, key, () => 'Pre-order cancelled')); break;
      case 'cancel-order': cancelOrder(btn.dataset.id, key); break;
      case 'tp-next': swallow(act('tp-next:' + key, '/api/take-profit', { asset: key, tp_arm: 'toggle' }, key, () => '6PT NEXT toggled')); break;
      case 'high-next': swallow(act('high-next:' + key, '/api/high-next-bar-exit', body, key, () => '8PT NEXT toggled')); break;
      case 'main-flip': swallow(act('main-flip:' + key, '/api/main-flip-exit', body, key, () => '6PT FLIP toggled')); break;
      case 'four-pt': swallow(act('four-pt:' + key, '/api/four-pt-invalidation', body, key, () => '4PT INVALIDATION toggled')); break;
      case 'tp-preset':
        swallow(act('tp-preset:' + key, '/api/points-take-profit',
          { asset: key, target: Number(btn.dataset.v), enabled: !!a.points_tp_enabled }, key, () => 'TP target ' + btn.dataset.v + ' pts'));
        break;
      case 'tp-toggle':
        swallow(act('tp-toggle:' + key, '/api/points-take-profit', { asset: key, enabled: !a.points_tp_enabled }, key,
          () => 'TP ' + (a.points_tp_enabled ? 'OFF' : 'ON')));
        break;
      case 'protect': {
        const v = Number(btn.dataset.v);
        const turnOff = a.protect_enabled && num(a.protect_threshold_points) === v;
        swallow(act('protect:' + key, '/api/protect', { asset: key, threshold: v, enabled: !turnOff }, key,
          () => (turnOff ? 'Protect off' : 'Protect ' + (v > 0 ? '+' : '') + v + ' on')));
        break;
      }
      case 'scale-in': swallow(act('scale-in:' + key, '/api/scale-in', body, key, (d) => 'Scale-in order ' + orderId(d))); break;
      case 'exit':
        confirmBox('Exit ' + key, 'Send a market exit for the whole ' + key + ' position (' + a.position + ')?', 'EXIT',
          () => act('exit:' + key, '/api/exit', { asset: key }, key, (d) => 'Exit order ' + orderId(d)));
        break;
      case 'force-exit':
        confirmBox('FORCE EXIT ' + key, 'Exit the ' + key + ' position (' + a.position +
          ') now, bypassing the initial exit lock?', 'FORCE EXIT',
        () => act('force-exit:' + key, '/api/exit', { asset: key, force: true }, key, (d) => 'Exit order ' + orderId(d)));
        break;
      default: break;
    }
  }

  function orderId(data) {
    return data && data.order && data.order.id ? data.order.id : data && data.order_id ? data.order_id : 'sent';
  }

  function cancelOrder(id, asset) {
    if (!id) return;
    const key = asset || String(id).split('-')[0];
    act('cancel:' + id, '/api/orders/' + encodeURIComponent(id) + '/cancel', {}, S.state && S.state.assets[key] ? key : null,
      () => 'Order ' + id + ' cancelled').catch(() => {});
  }

  // ---- orders --------------------------------------------------------------------------------------------

  function renderOrders() {
    const orders = S.orders;
    const stale = orders.filter((o) => o.status === 'STALE');
    const busyIds = [...S.busy].filter((b) => b.startsWith('cancel:')).join(',');
    patch($('stale-orders'), JSON.stringify([stale, busyIds]), () => stale.map((o) =>
      h('div', { class: 'stale-row', dataset: { id: o.id } },
        h('span', { class: 'pill stale' }, 'STALE'),
        h('span', null, ' ' + o.asset + ' ' + o.kind + ' ' + o.side + ' ' + o.qty + ' ' + (o.symbol || '') + ' · claimed by ' +
          (o.leaseOwner || '?') + ', no report before ' + fmtTs(o.leaseUntil) + ' '),
        h('code', { class: 'oid' }, o.id),
        h('button', { type: 'button', class: 'btn tiny danger', dataset: { cancel: o.id }, disabled: S.busy.has('cancel:' + o.id) }, 'Cancel'))));
    patch($('orders-body'), JSON.stringify([orders, busyIds]), () => {
      if (!orders.length) return h('tr', null, h('td', { colspan: 10, class: 'empty' }, 'No orders yet'));
      return orders.map((o) => h('tr', { class: 'st-' + String(o.status).toLowerCase() },
        h('td', null, fmtTs(o.createdAt)), h('td', null, o.asset), h('td', null, o.kind), h('td', null, o.side),
        h('td', null, o.filled_qty ? o.filled_qty + '/' + o.qty : o.qty), h('td', null, o.symbol), h('td', null, o.env),
        h('td', null, h('span', { class: 'pill st' }, o.status)), h('td', null, h('code', { class: 'oid' }, o.id)),
        h('td', null, o.status === 'PENDING' || o.status === 'STALE'
          ? h('button', { type: 'button', class: 'btn tiny', dataset: { cancel: o.id }, disabled: S.busy.has('cancel:' + o.id) }, 'Cancel')
          : null)));
    });
  }

  // ---- order modal ---------------------------------------------------------------------------------------

  function openOrderModal(asset, type) {
    const a = S.state.assets[asset];
    S.modal = { asset, type, mode: 'SCALP', size: '6pt', dir: null, error: '' };
    if (type === 'intent' && a.zone_type === 'NORMAL') S.modal.dir = dirOfColor(a.high_renko_color);
    $('order-modal').hidden = false;
    renderModal();
    $('om-confirm').focus();
  }

  function closeOrderModal() {
    S.modal = null;
    $('order-modal').hidden = true;
  }

  function sizeRestriction() {
    const bal = num(S.state.global.rithmic_account_balance);
    if (bal === null) return '5 MES unavailable: account balance unknown (no broker snapshot yet) — 3 MES';
    if (bal >= 1000 && bal <= 2000) return '5 MES unavailable: account balance ' + fmtUsd(bal) + ' — 3 MES';
    return '';
  }

  /** The direction the market entry will use, whether the operator must choose, and why. */
  function marketDirection(a) {
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

  function renderModal() {
    const m = S.modal;
    if (!m || !S.state) return;
    const a = S.state.assets[m.asset];
    const gate = S.gates[m.asset];
    const canEnter = !!(gate && gate.body && gate.body.can_enter);
    $('om-title').textContent = (m.type === 'market' ? 'Market entry — ' : 'Intent (next 6pt bar) — ') + m.asset;
    $('om-market').disabled = !canEnter;
    $('om-market').title = canEnter ? '' : 'Market entry blocked by the gates';
    $('om-market').classList.toggle('on', m.type === 'market');
    $('om-intent').classList.toggle('on', m.type === 'intent');

    const restricted = sizeRestriction();
    if (restricted) m.size = '9pt';
    for (const btn of $('om-mode').querySelectorAll('button')) btn.classList.toggle('on', btn.dataset.mode === m.mode);
    $('om-size-5').disabled = !!restricted;
    for (const btn of $('om-size').querySelectorAll('button')) btn.classList.toggle('on', btn.dataset.size === m.size);
    $('om-size-note').textContent = restricted;
    $('om-mode-row').hidden = m.type !== 'market';
    $('om-size-row').hidden = m.type !== 'market';
    $('om-size-note').hidden = m.type !== 'market';

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
    $('om-error').textContent = m.error || (m.type === 'market' && !canEnter ? blockedText(gate) : '');
    $('om-confirm').disabled = !ready || S.busy.has('order:' + m.asset);
    $('om-confirm').textContent = m.type === 'market' ? 'Confirm' : 'Confirm intent';
  }

  function blockedText(gate) {
    if (!gate || !gate.body) return gate && gate.error ? gate.error : '';
    const r = gate.body.gates.find((x) => !x.pass);
    return r ? r.reason || r.code : '';
  }

  async function confirmOrder() {
    const m = S.modal;
    if (!m) return;
    const asset = m.asset;
    const a = S.state.assets[asset];
    m.error = '';
    let path;
    let body;
    if (m.type === 'market') {
      body = { asset, mode: 'A', trade_mode: m.mode, entry_size_mode: m.size, order_type: 'market' };
      const d = marketDirection(a);
      if (d.choose) body.direction = m.dir;
      path = '/api/orders';
    } else {
      body = { asset, direction: m.dir };
      path = '/api/intent';
    }
    try {
      await act('order:' + asset, path, body, asset, (d) => (m.type === 'market'
        ? 'Order ' + orderId(d) + ' created — ' + ((d.order && d.order.status) || 'PENDING')
        : 'Intent ' + m.dir + ' set — READY on the next 6pt bar'));
      if (S.modal === m) closeOrderModal();
    } catch (e) {
      if (S.modal === m) {
        m.error = e.message;
        renderModal();
      }
    }
  }

  // ---- confirm modal -------------------------------------------------------------------------------------

  let confirmAction = null;
  function confirmBox(title, text, okLabel, action) {
    $('cm-title').textContent = title;
    $('cm-text').textContent = text;
    $('cm-ok').textContent = okLabel;
    $('cm-error').textContent = '';
    $('cm-ok').disabled = false;
    confirmAction = action;
    $('confirm-modal').hidden = false;
    $('cm-cancel').focus();
  }
  function closeConfirm() {
    confirmAction = null;
    $('confirm-modal').hidden = true;
  }
  async function runConfirm() {
    if (!confirmAction) return;
    const action = confirmAction;
    $('cm-ok').disabled = true;
    try {
      await action();
      closeConfirm();
    } catch (e) {
      $('cm-error').textContent = e.message;
      $('cm-ok').disabled = false;
    }
  }

  // ---- trades, log, risk ---------------------------------------------------------------------------------

  function renderOpenSummary() {
    const st = S.state;
    if (!st) return;
    const rows = [];
    for (const [key, a] of Object.entries(st.assets)) {
      if (a.position !== 0) rows.push(['Position', key, (a.position > 0 ? 'LONG ' : 'SHORT ') + Math.abs(a.position) + ' @ ' + fmtPx(a.avg_price) + (a.trade_mode ? ' · ' + a.trade_mode : '')]);
      if (a.pending_order_id) rows.push(['Pending order', key, (a.pending_kind || '') + ' ' + (a.pending_side || '') + ' ' + (a.pending_qty || '') + ' · ' + a.pending_order_id]);
      if (a.intent_active) rows.push(['Intent', key, (a.intent_direction || '?') + ' · ' + (a.intent_status || '') + ' · since ' + fmtTs(a.intent_created_ts)]);
      if (a.preorder_active) rows.push(['Pre-order', key, (a.preorder_direction || '?') + ' · ' + (a.preorder_status || '') + ' · since ' + fmtTs(a.preorder_created_ts)]);
    }
    patch($('open-summary'), JSON.stringify(rows), () => (rows.length
      ? h('table', { class: 'grid' }, h('tbody', null, rows.map((r) => h('tr', null, r.map((c) => h('td', null, c))))))
      : h('p', { class: 'empty' }, 'Nothing open: no position, pending order, intent or pre-order.')));
  }

  function renderHistory(rows) {
    patch($('history-body'), JSON.stringify(rows), () => {
      if (!rows.length) return h('tr', null, h('td', { colspan: 10, class: 'empty' }, 'No closed trades yet'));
      return rows.map((t) => {
        const tr = h('tr', { class: 'clickable' },
          h('td', null, fmtTs(t.exit_ts)), h('td', null, t.asset), h('td', null, (t.side || '') + ' × ' + (t.size ?? '')),
          h('td', null, t.symbol || ''), h('td', null, fmtTs(t.entry_ts) + ' ' + fmtPx(t.entry_price) + ' → ' + fmtPx(t.exit_price)),
          h('td', { class: num(t.pnl_points) > 0 ? 'pos' : num(t.pnl_points) < 0 ? 'neg' : '' }, fmtPts(t.pnl_points)),
          h('td', { class: num(t.pnl_usd) > 0 ? 'pos' : num(t.pnl_usd) < 0 ? 'neg' : '' }, fmtUsd(t.pnl_usd)),
          h('td', null, t.reason || ''), h('td', null, t.trade_mode || t.mode || ''), h('td', null, t.env || ''));
        tr.addEventListener('click', () => showDetail('history-detail', t));
        return tr;
      });
    });
  }

  function summariseInput(ev) {
    const i = ev.input || {};
    const bits = [ev.type || ''];
    for (const k of ['stream', 'color', 'order_type', 'direction', 'trade_mode', 'status', 'order_id', 'toggle', 'env', 'price']) {
      if (i[k] !== undefined && i[k] !== null && i[k] !== '') bits.push(String(i[k]));
    }
    return bits.join(' ');
  }

  function renderLogs(events) {
    patch($('log-body'), JSON.stringify(events), () => {
      if (!events.length) return h('tr', null, h('td', { colspan: 6, class: 'empty' }, 'No events'));
      return events.map((ev) => {
        const decisions = (ev.decisions || []).map((d) => d.kind + (d.code ? ' ' + d.code : '')).join(', ');
        const st = Number(ev.status) || 0;
        const tr = h('tr', { class: 'clickable ' + (st >= 400 ? 'refused' : '') },
          h('td', null, fmtTs(ev.ts)), h('td', null, ev.asset || '—'), h('td', null, summariseInput(ev)),
          h('td', null, String(ev.status ?? '') + (ev.duplicate ? ' dup' : '')), h('td', null, ev.code || ''),
          h('td', null, decisions));
        tr.addEventListener('click', () => showDetail('log-detail', ev));
        return tr;
      });
    });
  }

  function showDetail(id, obj) {
    const el = $(id);
    el.textContent = JSON.stringify(obj, null, 2);
    el.hidden = false;
  }

  const RISK_LABELS = {
    max_trades_per_day: 'Max trades per day',
    daily_stop_enabled: 'Daily stop enabled',
    daily_stop_limit_pct: 'Daily stop limit %',
  };

  function riskTarget(name) {
    const r = S.risk;
    return r.pending && Object.prototype.hasOwnProperty.call(r.pending, name) ? r.pending[name] : r[name];
  }

  function renderRisk(force) {
    const r = S.risk;
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
      const data = await api('POST', '/api/risk', body);
      S.risk = data;
      const deferred = Object.keys(body).filter((k) => data.pending && k in data.pending);
      msg.textContent = 'Saved.' + (deferred.length ? ' Loosened (applies from next trading day): ' +
        deferred.map((k) => RISK_LABELS[k] || k).join(', ') + '.' : ' Applied now.');
      msg.className = 'msg ok';
      renderRisk(true);
      renderHeader();
    } catch (e) {
      msg.textContent = e.message;
      msg.className = 'msg err';
    } finally {
      $('risk-save').disabled = false;
    }
  }

  // ---- tabs ----------------------------------------------------------------------------------------------

  function showTab(name) {
    S.tab = name;
    for (const t of document.querySelectorAll('.tab')) t.classList.toggle('active', t.dataset.tab === name);
    for (const p of document.querySelectorAll('.panel')) p.classList.toggle('active', p.id === 'panel-' + name);
    if (name === 'trades') { renderOpenSummary(); loadHistory().catch(() => {}); }
    if (name === 'log') loadLogs().catch(() => {});
    if (name === 'risk') loadRisk().catch(() => {});
  }

  // ---- render all ----------------------------------------------------------------------------------------

  function renderAll() {
    renderHeader();
    renderBanners();
    renderAssets();
    renderOrders();
    renderModal();
    if (S.tab === 'trades') renderOpenSummary();
  }

  // ---- boot ----------------------------------------------------------------------------------------------

  function wire() {
    for (const t of document.querySelectorAll('.tab')) t.addEventListener('click', () => showTab(t.dataset.tab));
    $('om-cancel').addEventListener('click', closeOrderModal);
    $('om-confirm').addEventListener('click', confirmOrder);
    $('om-type').addEventListener('click', (ev) => {
      const b = ev.target.closest('button[data-type]');
      if (!b || b.disabled || !S.modal) return;
      S.modal.type = b.dataset.type;
      S.modal.error = '';
      S.modal.dir = null;
      const a = S.state.assets[S.modal.asset];
      if (S.modal.type === 'intent' && a.zone_type === 'NORMAL') S.modal.dir = dirOfColor(a.high_renko_color);
      renderModal();
    });
    $('om-mode').addEventListener('click', (ev) => {
      const b = ev.target.closest('button[data-mode]');
      if (b && S.modal) { S.modal.mode = b.dataset.mode; renderModal(); }
    });
    $('om-size').addEventListener('click', (ev) => {
      const b = ev.target.closest('button[data-size]');
      if (b && !b.disabled && S.modal) { S.modal.size = b.dataset.size; renderModal(); }
    });
    $('om-dir').addEventListener('click', (ev) => {
      const b = ev.target.closest('button[data-dir]');
      if (b && !b.disabled && S.modal) { S.modal.dir = b.dataset.dir; S.modal.error = ''; renderModal(); }
    });
    $('cm-cancel').addEventListener('click', closeConfirm);
    $('cm-ok').addEventListener('click', runConfirm);
    document.addEventListener('keydown', (ev) => {
      if (ev.key !== 'Escape') return;
      if (!$('confirm-modal').hidden) closeConfirm();
      else if (S.modal) closeOrderModal();
    });
    $('env-switch').addEventListener('click', (ev) => {
      const b = ev.target.closest('button[data-env]');
      if (!b || !S.state || b.dataset.env === S.state.global.env) return;
      const env = b.dataset.env;
      const send = () => act('env', '/api/env', { env }, null, () => 'Environment: ' + env);
      if (env === 'LIVE') {
        confirmBox('Switch to LIVE', 'New orders will carry env LIVE and the bridge will route them to the live account.',
          'Switch to LIVE', send);
      } else send().catch(() => {});
    });
    $('exit-all').addEventListener('click', () => {
      confirmBox('Flatten all', 'Send a market exit for every open position on every asset (bypasses the initial exit lock)?',
        'FLATTEN ALL', () => act('exit-all', '/api/exit-all', { force: true }, null, (d) => {
          const n = Array.isArray(d.orders) ? d.orders.length : 0;
          const skipped = Array.isArray(d.skipped) ? d.skipped.length : 0;
          return 'Exit orders: ' + n + (skipped ? ' · skipped: ' + skipped : '');
        }));
    });
    const cancelDelegate = (ev) => {
      const b = ev.target.closest('button[data-cancel]');
      if (b && !b.disabled) cancelOrder(b.dataset.cancel);
    };
    $('stale-orders').addEventListener('click', cancelDelegate);
    $('orders-body').addEventListener('click', cancelDelegate);
    $('history-refresh').addEventListener('click', () => loadHistory().catch(() => {}));
    $('log-refresh').addEventListener('click', () => loadLogs().catch(() => {}));
    $('log-asset').addEventListener('change', () => loadLogs().catch(() => {}));
    $('risk-form').addEventListener('submit', saveRisk);
  }

  async function boot() {
    try {
      const status = await api('GET', '/api/auth/status');
      if (!status.authenticated) { toLogin(); return; }
    } catch (e) {
      if (e.status === 401) return;
    }
    document.body.classList.remove('booting');
    wire();
    pollers.state = every(1000, loadState);
    pollers.gates = every(2000, loadGates);
    pollers.orders = every(3000, loadOrders);
    every(10000, loadRisk);
    every(30000, loadWindow);
    every(10000, async () => {
      if (S.tab === 'trades') await loadHistory();
      if (S.tab === 'log') await loadLogs();
    });
    setInterval(() => { renderHeader(); renderBanners(); renderGatesOnly(); }, 1000);
  }

  function renderGatesOnly() {
    for (const key of Object.keys(cards)) renderGates(key, cards[key]);
  }

  boot();
}());
