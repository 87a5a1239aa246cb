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

export async function api(method, path, body) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
  const init = { method, cache: 'no-store', credentials: 'same-origin', headers: { Accept: 'application/json' },
    signal: ctl.signal };
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
