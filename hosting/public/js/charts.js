/* The Charts tab, drawn with TradingView's lightweight-charts (hosting/public/vendor, installed by `make install`):
 * per asset, the recent bricks of a chosen stream (GET /api/bars) with entry and exit markers from the closed
 * trades and the open position; and the trading day's P&L curve (closed trades, then the open P&L now).
 *
 * A webhook bar carries its colour, not a price: each brick moves one brick size up (green) or down (red), and the
 * whole run is placed so that the last brick closes at the asset's last TradingView price: the vertical axis reads
 * prices (issue 21). Before any price has come, the axis is in points from the first brick, and the caption says so.
 */
import { $, h } from './dom.js';
import { fmtPts, fmtPx, fmtTime, fmtUsd, num, tradingDayOf } from './format.js';
import { S, serverNow, stopView } from './store.js';
import { api } from './api.js';

const LWC = () => window.LightweightCharts;
let streams = null;   // [{stream, label, box}]: the server's one list of streams (GET /api/alert-templates)
export const UP = '#22c55e';
export const DOWN = '#ef4444';
const LIMIT = 200;

const charts = {};   // asset → {chart, series, markers, stream, box}
let pnl = null;

function baseOptions() {
  return {
    autoSize: true,
    layout: { background: { color: '#161b22' }, textColor: '#8a96a6', fontSize: 11 },
    grid: { vertLines: { color: '#222a35' }, horzLines: { color: '#222a35' } },
    timeScale: { timeVisible: true, secondsVisible: false, borderColor: '#2a3340', tickMarkFormatter: (t) => fmtTime(t).slice(0, 5) },
    rightPriceScale: { borderColor: '#2a3340' },
    localization: { timeFormatter: (t) => fmtTime(t) },
  };
}

function missingLibrary(box) {
  box.replaceChildren(h('p', { class: 'msg err' }, 'Chart library missing: run `make install` (copies lightweight-charts to hosting/public/vendor).'));
}

async function loadStreams() {
  if (!streams) streams = (await api('GET', '/api/alert-templates')).streams;
  return streams;
}

function ensureAssetChart(key) {
  if (charts[key]) return charts[key];
  const select = h('select', { id: 'chart-stream-' + key, 'aria-label': key + ' stream' },
    streams.map((s) => h('option', { value: s.stream, selected: s.stream === '6pt' }, s.label)));
  const cap = h('p', { class: 'chart-cap', id: 'chart-cap-' + key, role: 'status' }, 'Loading…');
  const plot = h('div', { class: 'chart-plot', id: 'chart-plot-' + key });
  const box = h('section', { class: 'chart-box', id: 'chart-' + key, 'aria-label': key + ' bricks' },
    h('div', { class: 'box-head' }, h('h2', null, key + ' bricks'), h('label', { class: 'inline' }, 'Stream ', select)),
    plot, cap);
  $('charts-assets').appendChild(box);
  const entry = { select, cap, plot, chart: null, series: null, markers: null, stopLine: null, stopPrice: null, key };
  select.addEventListener('change', () => loadBars(entry).catch((e) => { cap.textContent = e.message; }));
  charts[key] = entry;
  if (LWC()) {
    entry.chart = LWC().createChart(plot, baseOptions());
    entry.series = entry.chart.addSeries(LWC().CandlestickSeries, {
      upColor: UP, downColor: DOWN, borderUpColor: UP, borderDownColor: DOWN, wickUpColor: UP, wickDownColor: DOWN,
      priceFormat: { type: 'price', precision: 2, minMove: tickOf(key) },
      // the protective stop's line stays in view: the price axis covers it as well as the bricks
      autoscaleInfoProvider: (original) => {
        const r = original();
        if (!r || !r.priceRange || entry.stopPrice === null || entry.stopPrice === undefined) return r;
        r.priceRange.minValue = Math.min(r.priceRange.minValue, entry.stopPrice - 1);
        r.priceRange.maxValue = Math.max(r.priceRange.maxValue, entry.stopPrice + 1);
        return r;
      },
    });
    entry.markers = LWC().createSeriesMarkers(entry.series, []);
  } else missingLibrary(plot);
  return entry;
}

/** The price increment of the asset's contract, from the server (`contract.tick` in GET /api/state). */
function tickOf(key) {
  const a = S.state && S.state.assets[key];
  return a && a.contract && num(a.contract.tick) ? a.contract.tick : 0.01;
}

/** Bars → bricks: strictly increasing whole-second times (two bars in one second are one second apart); with an
 * `anchor` price the last brick closes there. */
export function toBricks(bars, size, anchor) {
  let level = 0;
  let prev = -Infinity;
  const out = [];
  for (const b of bars) {
    if (b.color !== 'green' && b.color !== 'red') continue;
    const t = Math.max(Math.floor(b.ts), prev + 1);
    prev = t;
    const open = level;
    level += b.color === 'green' ? size : -size;
    out.push({ time: t, open, close: level, high: Math.max(open, level), low: Math.min(open, level), ts: b.ts });
  }
  if (typeof anchor === 'number' && isFinite(anchor) && out.length) {
    const shift = anchor - level;
    for (const b of out) { b.open += shift; b.close += shift; b.high += shift; b.low += shift; }
  }
  return out;
}

function markersFor(key, bricks) {
  if (!bricks.length) return [];
  const snap = (ts) => {
    // a marker sits on the brick that was the latest when it happened
    let found = null;
    for (const b of bricks) { if (b.ts <= ts) found = b.time; else break; }
    return found;
  };
  const out = [];
  const trades = S.history.filter((t) => t.asset === key);
  for (const t of trades) {
    const long = String(t.side || '').toUpperCase() === 'LONG' || String(t.side || '').toUpperCase() === 'BUY';
    const et = snap(t.entry_ts);
    if (et !== null) out.push({ time: et, position: long ? 'belowBar' : 'aboveBar', shape: long ? 'arrowUp' : 'arrowDown', color: '#63b3ed', text: 'IN ' + (t.side || '') });
    const xt = snap(t.exit_ts);
    if (xt !== null) out.push({ time: xt, position: long ? 'aboveBar' : 'belowBar', shape: 'circle', color: num(t.pnl_usd) >= 0 ? UP : DOWN, text: 'OUT ' + fmtPts(t.pnl_points) });
  }
  const a = S.state && S.state.assets[key];
  if (a && a.position !== 0 && num(a.last_entry_ts) !== null) {
    const et = snap(a.last_entry_ts);
    if (et !== null) out.push({ time: et, position: a.position > 0 ? 'belowBar' : 'aboveBar', shape: a.position > 0 ? 'arrowUp' : 'arrowDown', color: '#fbbf24', text: 'OPEN' });
  }
  return out.sort((x, y) => x.time - y.time);
}

async function loadBars(entry) {
  const stream = entry.select.value;
  const data = await api('GET', '/api/bars?asset=' + encodeURIComponent(entry.key) + '&stream=' + encodeURIComponent(stream) + '&limit=' + LIMIT);
  const bars = Array.isArray(data.bars) ? data.bars : [];
  const a = S.state && S.state.assets[entry.key];
  const anchor = a ? num(a.last_price) : null;
  const chosen = streams.find((s) => s.stream === stream);
  const bricks = toBricks(bars, chosen ? chosen.box : 1, anchor);
  const up = bricks.filter((b) => b.close > b.open).length;
  const marks = markersFor(entry.key, bricks);
  entry.plot.dataset.bricks = String(bricks.length);
  entry.plot.dataset.up = String(up);
  entry.plot.dataset.markers = String(marks.length);
  entry.plot.dataset.axis = anchor === null ? 'points' : 'price';
  entry.plot.dataset.lastClose = bricks.length ? String(bricks[bricks.length - 1].close) : '';
  if (entry.series) {
    entry.series.setData(bricks.map(({ time, open, high, low, close }) => ({ time, open, high, low, close })));
    entry.markers.setMarkers(marks);
    entry.chart.timeScale().fitContent();
  }
  const stop = drawStop(entry, anchor);
  if (entry.chart) entry.chart.priceScale('right').applyOptions({ autoScale: true });
  const last = bars[bars.length - 1];
  entry.cap.textContent = entry.key + ' · ' + stream + ' · ' + bricks.length + ' brick' + (bricks.length === 1 ? '' : 's') +
    ' (' + up + ' up, ' + (bricks.length - up) + ' down)' + (last ? ' · last ' + String(last.color).toUpperCase() + ' at ' + fmtTime(last.ts) : ' · no bars yet') +
    ' · ' + marks.length + ' marker' + (marks.length === 1 ? '' : 's') + (anchor === null
    ? ' · axis: points from the first brick (no TradingView price yet)'
    : ' · axis: price, the last brick closing at the last TradingView price ' + fmtPx(anchor)) +
    (stop ? ' · protective stop ' + fmtPx(stop.price) + ' (' + stop.text + ')' : '');
}

/** The protective stop's line (D21) across the bricks, red while unprotected; only on a price axis. */
function drawStop(entry, anchor) {
  const v = stopView(entry.key);
  const price = v && anchor !== null && num(v.price) !== null ? v.price : null;
  entry.plot.dataset.stop = price === null ? '' : String(price);
  entry.plot.dataset.stopState = price === null ? '' : v.state;
  entry.stopPrice = price;
  if (entry.stopLine && entry.series) { entry.series.removePriceLine(entry.stopLine); entry.stopLine = null; }
  if (price === null) return null;
  if (entry.series) {
    entry.stopLine = entry.series.createPriceLine({ price, color: v.state === 'resting' ? '#f59e0b' : DOWN, lineWidth: 2,
      lineStyle: LWC().LineStyle.Dashed, axisLabelVisible: true, title: v.state === 'resting' ? 'STOP' : 'STOP ' + v.state.replace('_', ' ') });
  }
  return { price, text: v.text };
}

function ensurePnl() {
  if (pnl) return pnl;
  const plot = $('pnl-plot');
  pnl = { plot, chart: null, series: null };
  if (LWC()) {
    pnl.chart = LWC().createChart(plot, baseOptions());
    pnl.series = pnl.chart.addSeries(LWC().BaselineSeries, {
      baseValue: { type: 'price', price: 0 }, topLineColor: UP, bottomLineColor: DOWN,
      topFillColor1: 'rgba(34,197,94,.25)', topFillColor2: 'rgba(34,197,94,.02)',
      bottomFillColor1: 'rgba(239,68,68,.02)', bottomFillColor2: 'rgba(239,68,68,.25)',
      priceFormat: { type: 'price', precision: 2, minMove: 0.01 },
    });
  } else missingLibrary(plot);
  return pnl;
}

/** The day's P&L: 0 at the first entry, each closed trade added at its exit, then the open P&L now. */
export function pnlPoints() {
  const today = S.state ? S.state.global.trading_day : null;
  const trades = S.history.filter((t) => tradingDayOf(t.exit_ts) === today && num(t.exit_ts) !== null)
    .sort((a, b) => a.exit_ts - b.exit_ts);
  const pts = [];
  let total = 0;
  let prev = -Infinity;
  const push = (ts, v) => { const t = Math.max(Math.floor(ts), prev + 1); prev = t; pts.push({ time: t, value: v }); };
  if (trades.length) push(Math.min(trades[0].entry_ts || trades[0].exit_ts, trades[0].exit_ts), 0);
  for (const t of trades) { total += num(t.pnl_usd) || 0; push(t.exit_ts, Math.round(total * 100) / 100); }
  const open = S.state ? num(S.state.global.open_pnl) : null;
  if (pts.length && open !== null && S.state.global.rithmic_account_balance !== null) push(serverNow(), Math.round((total + open) * 100) / 100);
  return { pts, total, count: trades.length };
}

function renderPnl() {
  const p = ensurePnl();
  const { pts, total, count } = pnlPoints();
  p.plot.dataset.points = String(pts.length);
  if (p.series) {
    p.series.setData(pts);
    p.chart.timeScale().fitContent();
  }
  $('pnl-cap').textContent = count ? 'Trading day ' + S.state.global.trading_day + ': ' + count + ' closed trade' + (count === 1 ? '' : 's') + ', ' + fmtUsd(total, true) + ' closed'
    : 'No closed trade this trading day yet.';
}

/** Draw (or redraw) every chart: called when the Charts tab opens and every few seconds while it is shown. */
export async function refreshCharts() {
  if (!S.state) return;
  try {
    const data = await api('GET', '/api/history?limit=200');
    S.history = Array.isArray(data.history) ? data.history : S.history;
  } catch (e) { /* the bricks still draw; markers use what was loaded */ }
  await loadStreams();
  await Promise.all(Object.keys(S.state.assets).map((key) => loadBars(ensureAssetChart(key)).catch((e) => {
    charts[key].cap.textContent = e.message;
  })));
  renderPnl();
}
