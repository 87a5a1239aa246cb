/* The server: fetch with a timeout, the server's own error text, a 401 sends the operator to the login page. */

export class ApiError extends Error {
  constructor(message, status, code, body) {
    super(message);
    this.status = status;
    this.code = code || null;
    this.body = body || null;
  }
}

const TIMEOUT_MS = 8000;
let leaving = false;

export function toLogin() {
  if (leaving) return;
  leaving = true;
  window.location.replace('/login.html');
}

/** `key`: an Idempotency-Key (D19): the server answers a repeat of the same route and key with the first outcome. */
export async function api(method, path, body, key) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
  const init = { method, cache: 'no-store', credentials: 'same-origin', headers: { Accept: 'application/json' },
    signal: ctl.signal };
  if (key) init.headers['Idempotency-Key'] = key;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError('Network error: the server did not answer', 0);
  } finally {
    clearTimeout(timer);
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

/** A new Idempotency-Key: one per click. */
export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

const RESEND_PAUSES_MS = [500, 1500, 3000];

/** A command (POST, or DELETE with `method`) that may be sent again: when no answer came back (the network, a 503: the server may or may
 * not have applied it, `OUTCOME_UNKNOWN`), it is re-sent with the same key, so it is applied at most once and the
 * answer is the first outcome. Other answers are final. */
export async function command(path, body, method) {
  const key = newKey();
  for (let i = 0; ; i += 1) {
    try {
      return await api(method || 'POST', path, body, key);
    } catch (e) {
      const unanswered = e.status === 0 || e.status === 503;
      if (!unanswered || i >= RESEND_PAUSES_MS.length) throw e;
      await new Promise((resolve) => setTimeout(resolve, RESEND_PAUSES_MS[i]));
    }
  }
}

/** Run `fn` now and then `ms` after each run ends; `.now()` runs it at once (never two runs at a time). */
export function every(ms, fn) {
  let timer = null;
  let running = false;
  let again = false;
  const run = async () => {
    if (running) { again = true; return; }
    clearTimeout(timer);
    running = true;
    try { await fn(); } catch (e) { /* each poller shows its own failure */ } finally {
      running = false;
      if (again) { again = false; run(); } else timer = setTimeout(run, ms);
    }
  };
  run();
  return { now: run };
}
