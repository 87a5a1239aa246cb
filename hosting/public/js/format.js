/* Formatting: money, prices, points, ages, New York times. "—" always means "not known yet". */

export const DASH = '—';

const NY_TIME = new Intl.DateTimeFormat('en-US', {
  timeZone: 'America/New_York', hourCycle: 'h23', hour: '2-digit', minute: '2-digit', second: '2-digit',
});
const NY_DAY_TIME = new Intl.DateTimeFormat('en-US', {
  timeZone: 'America/New_York', hourCycle: 'h23', weekday: 'short', month: 'short', day: 'numeric',
  hour: '2-digit', minute: '2-digit', second: '2-digit',
});
const NY_DATE = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York', year: 'numeric', month: '2-digit',
  day: '2-digit' });

export function num(v) { return typeof v === 'number' && isFinite(v) ? v : null; }

export function fmtUsd(v, signed) {
  const n = num(v);
  if (n === null) return DASH;
  const sign = n < 0 ? '−' : signed && n > 0 ? '+' : '';
  return sign + '$' + Math.abs(n).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}
/** A fraction (−0.2) as a signed percentage (−20.00%). */
export function fmtPct(fraction, signed) {
  const n = num(fraction);
  if (n === null) return DASH;
  const v = n * 100;
  return (v < 0 ? '−' : signed && v > 0 ? '+' : '') + Math.abs(v).toFixed(2) + '%';
}
export function fmtPx(v) { const n = num(v); return n === null ? DASH : n.toFixed(2); }
export function fmtPts(v) {
  const n = num(v);
  return n === null ? DASH : (n > 0 ? '+' : n < 0 ? '−' : '') + Math.abs(n).toFixed(2) + ' pts';
}
export function signClass(v) { const n = num(v); return n === null || n === 0 ? '' : n > 0 ? 'pos' : 'neg'; }

export function mmss(s) {
  const t = Math.max(0, Math.ceil(s));
  return String(Math.floor(t / 60)).padStart(2, '0') + ':' + String(t % 60).padStart(2, '0');
}
export function fmtAge(s) {
  const n = num(s);
  if (n === null) return DASH;
  const t = Math.max(0, Math.floor(n));
  if (t < 60) return t + 's';
  if (t < 3600) return Math.floor(t / 60) + 'm' + String(t % 60).padStart(2, '0') + 's';
  if (t < 86400) return Math.floor(t / 3600) + 'h' + String(Math.floor((t % 3600) / 60)).padStart(2, '0') + 'm';
  return Math.floor(t / 86400) + 'd';
}
export function fmtDuration(s) {
  const t = Math.max(0, Math.floor(s));
  const d = Math.floor(t / 86400);
  const hh = Math.floor((t % 86400) / 3600);
  const m = Math.floor((t % 3600) / 60);
  if (d > 0) return d + 'd ' + hh + 'h';
  if (hh > 0) return hh + 'h ' + m + 'm';
  return mmss(t);
}
/** 10:05:12 (New York). */
export function fmtTime(ts) { const n = num(ts); return n === null ? DASH : NY_TIME.format(new Date(n * 1000)); }
/** Mon, Nov 30, 10:05:12 (New York). */
export function fmtTs(ts) { const n = num(ts); return n === null ? DASH : NY_DAY_TIME.format(new Date(n * 1000)); }
/** 2026-11-30, the New York calendar date of a timestamp. */
export function nyDate(ts) { const n = num(ts); return n === null ? null : NY_DATE.format(new Date(n * 1000)); }

/** The trading day a timestamp belongs to (D4: it starts 18:00 New York): the NY date of ts + 6 h. */
export function tradingDayOf(ts) { const n = num(ts); return n === null ? null : nyDate(n + 6 * 3600); }

export function colorClass(c) { return c === 'green' || c === 'red' ? c : 'neutral'; }
export function dirOfColor(c) { return c === 'green' ? 'BUY' : c === 'red' ? 'SELL' : null; }

/** Names for an order's `source` (the rule that created it). */
const SOURCES = {
  UI: 'operator entry',
  PREORDER_TRIGGER: 'pre-order trigger',
  SCALE_IN: 'scale-in',
  MANUAL_EXIT: 'manual EXIT',
  MANUAL_EXIT_FORCE: 'FORCE EXIT',
  MANUAL_EXIT_ALL: 'FLATTEN ALL',
  MANUAL_EXIT_ALL_FORCE: 'FLATTEN ALL',
  DAILY_STOP: 'daily stop',
  TAKE_PROFIT_POINTS: 'points take-profit',
  PROTECT: 'protect',
  TAKE_PROFIT: '6PT NEXT take-profit',
  EXIT_ENGINE: '6PT FLIP',
  HIGH_NEXT_BAR_EXIT: '8PT NEXT',
  EXIT_ENGINE_HIGH: '8pt flip',
  EXIT_ENGINE_4PT: '4PT INVALIDATION',
  TV_LEVEL_EXIT: 'TradingView level exit',
  PROTECTIVE_STOP: 'protective stop',
  UNPROTECTED: 'unprotected: flatten',
  BLACKOUT_FLATTEN: 'blackout flatten',
};
export function sourceLabel(source) { return SOURCES[source] || String(source || '?'); }
export function isManual(source) { return source === 'UI' || String(source || '').startsWith('MANUAL_EXIT'); }
