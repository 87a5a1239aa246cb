/* The dashboard's service worker (issue 20 item 3, D23): it shows the Web Push messages the timers function sends
 * (shared/service/push.py: {title, body, tag, level, url}) with the tab closed, and a click opens the dashboard at
 * the card the message is about. It caches nothing and answers no fetch: a trading dashboard served from a cache
 * would show a stale position as if it were live.
 */
'use strict';

const ICON = '/icons/icon-192.png';

/** Only a path of this origin may be opened: a message cannot send the operator elsewhere. Judged on the parsed
 * URL: the parser reads '/\\host' and '/<tab>/host' as '//host', another origin. */
function samePath(url) {
  if (typeof url !== 'string' || !url.startsWith('/')) return '/';
  try {
    const parsed = new URL(url, self.location.origin);
    return parsed.origin === self.location.origin ? parsed.pathname + parsed.search + parsed.hash : '/';
  } catch (e) {
    return '/';
  }
}

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (e) {
    data = { body: event.data ? event.data.text() : '' };
  }
  const critical = data.level === 'critical';
  const title = typeof data.title === 'string' && data.title ? data.title : 'OperatorLock';
  event.waitUntil(self.registration.showNotification(title, {
    body: typeof data.body === 'string' ? data.body : '',
    tag: typeof data.tag === 'string' && data.tag ? data.tag : 'ol-message',
    icon: ICON,
    badge: ICON,
    renotify: critical,
    requireInteraction: critical,   // a critical one stays until the operator sees it
    timestamp: Date.now(),
    data: { url: samePath(data.url), level: data.level || 'info' },
  }));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = new URL(samePath(event.notification.data && event.notification.data.url), self.location.origin).href;
  event.waitUntil((async () => {
    const open = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const dashboard = open.find((c) => ['/', '/index.html'].includes(new URL(c.url).pathname));
    if (dashboard) {
      await dashboard.focus();
      dashboard.postMessage({ type: 'open', url });   // js/push.js shows the card without a reload
      return;
    }
    await self.clients.openWindow(url);
  })());
});

/* The browser replaced the subscription (it expired, or the push service rotated it): carry the destination over
 * at the level it had, then drop the old one. Only while the operator is signed in (the session cookie goes with
 * these same-origin requests); otherwise the old subscription is removed at its push service's first 404/410 and
 * the dashboard's toggle shows "Notify this device" again. (Not exercised by the browser tests: Chromium offers no
 * way to fire this event.) */
self.addEventListener('pushsubscriptionchange', (event) => {
  const post = (path, body) => fetch(path, {
    method: 'POST', credentials: 'same-origin', cache: 'no-store',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify(body),
  }).then((r) => (r.ok ? r.json() : null), () => null);
  event.waitUntil((async () => {
    const old = event.oldSubscription;
    const key = old && old.options && old.options.applicationServerKey;
    if (!old || !key) return;
    const status = await post('/api/push/status', { endpoint: old.endpoint });
    if (!status || !status.subscribed || !status.destination) return;
    const fresh = event.newSubscription ||
      await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    const added = await post('/api/push/subscribe', { subscription: fresh.toJSON(), level: status.destination.level,
      label: status.destination.label });
    if (added && fresh.endpoint !== old.endpoint) await post('/api/push/unsubscribe', { endpoint: old.endpoint });
  })());
});
