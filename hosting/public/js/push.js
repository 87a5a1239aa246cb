/* "Notify this device" (issue 20 item 3, D23), in the Risk tab's Notifications section (#push-device): Web Push with
 * the dashboard closed. The page registers /sw.js, asks the
 * browser for a push subscription signed for our VAPID key (GET /api/push/key) and hands it to the server
 * (POST /api/push/subscribe) as a notification destination at the chosen level. The toggle shows what holds on
 * both sides (the browser's subscription and the server's destination); every refusal is shown as the browser or
 * the server worded it. Also: the dashboard's card anchors (/#card-ES), which a notification's click opens.
 */
import { $ } from './dom.js';
import { api } from './api.js';
import { loadNotifications } from './notifications.js';

const P = { reg: null, sub: null, on: false, busy: false };
// Chromium offline waits for its push service forever: the operator gets an answer instead
const SUBSCRIBE_TIMEOUT_MS = 20000;

function say(text, kind) {
  const msg = $('push-msg');
  msg.textContent = text || '';
  msg.className = 'msg' + (kind ? ' ' + kind : '');
}

function render() {
  const btn = $('push-toggle');
  btn.setAttribute('aria-pressed', P.on ? 'true' : 'false');
  btn.textContent = P.on ? 'This device: notified' : 'Notify this device';
  btn.disabled = P.busy || !P.reg;
  $('push-level').disabled = P.busy || !P.reg;
}

function keyBytes(b64url) {
  const b64 = b64url.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (b64url.length % 4)) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

function sameKey(sub, key) {
  const have = sub.options && sub.options.applicationServerKey;
  if (!have) return false;
  const a = new Uint8Array(have);
  return a.length === key.length && a.every((v, i) => v === key[i]);
}

function label() {
  const ua = navigator.userAgent;
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrom/.test(ua) ? 'Chrome'
    : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  const os = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Mac OS/.test(ua) ? 'macOS'
    : /Windows/.test(ua) ? 'Windows' : /Linux/.test(ua) ? 'Linux' : '';
  return (browser + (os ? ' on ' + os : '')).slice(0, 60);
}

async function refresh() {
  P.sub = await P.reg.pushManager.getSubscription();
  P.on = false;
  if (P.sub) {
    const status = await api('POST', '/api/push/status', { endpoint: P.sub.endpoint });
    P.on = !!status.subscribed;
    if (status.destination && status.destination.level) $('push-level').value = status.destination.level;
  }
}

async function subscribe() {
  if (Notification.permission !== 'granted' && await Notification.requestPermission() !== 'granted') {
    throw new Error('Notifications are blocked for this site: allow them in the browser\'s site settings, then retry');
  }
  const key = keyBytes((await api('GET', '/api/push/key')).public_key);
  const reg = await navigator.serviceWorker.ready;
  let sub = await reg.pushManager.getSubscription();
  if (sub && !sameKey(sub, key)) { await sub.unsubscribe(); sub = null; }   // made for another server key
  if (!sub) {
    try {
      sub = await Promise.race([reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key }),
        new Promise((resolve, reject) => setTimeout(() => reject(Object.assign(
          new Error('its push service did not answer in ' + SUBSCRIBE_TIMEOUT_MS / 1000 + ' s'), { name: 'TimeoutError' })),
        SUBSCRIBE_TIMEOUT_MS))]);
    } catch (e) {
      throw new Error('The browser could not create a push subscription (' + (e.name || 'Error') + ': ' +
        (e.message || 'no reason given') + '). Its push service (Chrome: Google\'s; Firefox: Mozilla\'s) must be reachable from this device.');
    }
  }
  await api('POST', '/api/push/subscribe', { subscription: sub.toJSON(), level: $('push-level').value, label: label() });
  P.sub = sub;
  P.on = true;
}

async function unsubscribe() {
  if (P.sub) {
    await api('POST', '/api/push/unsubscribe', { endpoint: P.sub.endpoint });
    try { await P.sub.unsubscribe(); } catch (e) { /* the server side is what stops the messages */ }
  }
  P.sub = null;
  P.on = false;
}

async function run(work, done) {
  if (P.busy) return;
  P.busy = true;
  render();
  say('Working…', 'info');
  try {
    await work();
    say(done(), 'ok');
    loadNotifications().catch(() => {});   // the destinations list shows this device's entry (or not) at once
  } catch (e) {
    say(e.message || String(e), 'err');
  } finally {
    P.busy = false;
    render();
  }
}

/** Show the element a link names (a card, a box), switching to its tab first; cards appear after the first poll. */
export function openAnchor(hash) {
  const id = String(hash || '').replace(/^#/, '');
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,60}$/.test(id)) return;
  let tries = 0;
  const go = () => {
    const el = document.getElementById(id);
    if (!el) { if (tries++ < 40) setTimeout(go, 250); return; }
    const panel = el.closest('[role="tabpanel"]');
    if (panel && panel.hidden) {
      const tab = document.querySelector('[role="tab"][aria-controls="' + panel.id + '"]');
      if (tab) tab.click();
    }
    if (!el.hasAttribute('tabindex')) el.setAttribute('tabindex', '-1');
    el.scrollIntoView({ block: 'center' });
    el.focus({ preventScroll: true });
    el.classList.add('flash');
    setTimeout(() => el.classList.remove('flash'), 2500);
  };
  go();
}

export async function initPush() {
  window.addEventListener('hashchange', () => openAnchor(window.location.hash));
  if (window.location.hash) openAnchor(window.location.hash);
  $('push-toggle').addEventListener('click', () => run(P.on ? unsubscribe : subscribe,
    () => (P.on ? 'This device gets notifications (level: ' + $('push-level').value + '), with the tab closed too'
      : 'This device no longer gets notifications')));
  $('push-level').addEventListener('change', () => {
    if (P.on) run(subscribe, () => 'Level changed: ' + $('push-level').value);
  });
  if (!('serviceWorker' in navigator) || !('PushManager' in window) || !('Notification' in window)) {
    render();
    say('This browser cannot receive Web Push here (no service worker or Push API; an http:// address other than localhost has none)', 'err');
    return;
  }
  navigator.serviceWorker.addEventListener('message', (ev) => {
    if (ev.data && ev.data.type === 'open' && typeof ev.data.url === 'string') {
      const url = new URL(ev.data.url, window.location.origin);
      if (url.origin !== window.location.origin) return;
      if (url.hash === window.location.hash) openAnchor(url.hash);
      else window.location.hash = url.hash;
    }
  });
  try {
    P.reg = await navigator.serviceWorker.register('/sw.js');
  } catch (e) {
    render();
    say('The service worker could not be registered: ' + (e.message || e), 'err');
    return;
  }
  render();
  try {
    await refresh();
  } catch (e) {
    say(e.message || String(e), 'err');
  }
  render();
}
