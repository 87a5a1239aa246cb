/* TradingView alert templates: for every stream and asset, the webhook URL and the exact alert message, with copy
 * buttons. The secret is not sent to this page until the operator asks (GET /api/alert-templates?reveal=1, which
 * needs the session); until then it is masked. Copying a message fetches it the same way, without showing it. */
import { $, h } from './dom.js';
import { api } from './api.js';

const MASK = '••••••••';

let info = null;
let secret = null;     // only after an explicit request
let shown = false;

/** The exact message TradingView must send: JSON with its own placeholders left as they are. */
export function renkoMessage(secretText, color) {
  return '{"secret":' + JSON.stringify(secretText) + ',"asset":"{{ticker}}","color":"' + color + '","bar_id":"{{time}}"}';
}
export function heartbeatMessage(secretText) {
  return '{"secret":' + JSON.stringify(secretText) + ',"symbol":"{{ticker}}","price":{{close}}}';
}

async function fetchSecret() {
  if (secret === null) {
    const data = await api('GET', '/api/alert-templates?reveal=1');
    secret = data.secret;
  }
  return secret;
}

async function copy(text, what) {
  try {
    await navigator.clipboard.writeText(text);
  } catch (e) {
    // no clipboard permission (plain http, older browser): a selected textarea and the copy command
    const area = h('textarea', { class: 'sr', readonly: true });
    area.value = text;
    document.body.appendChild(area);
    area.select();
    document.execCommand('copy');
    area.remove();
  }
  $('tpl-msg').textContent = 'Copied: ' + what;
}

function line(label, text, what) {
  return h('div', { class: 'tpl-line' }, h('span', { class: 'k' }, label), h('code', null, text),
    h('button', { type: 'button', class: 'btn small copy', 'aria-label': 'Copy ' + what }, 'Copy'));
}

function render() {
  const asset = $('tpl-asset').value;
  const origin = window.location.origin;
  const show = shown ? secret : MASK;
  const blocks = [];
  for (const s of info.streams) {
    const url = origin + s.path;
    blocks.push({ title: asset + ' · ' + (s.label || s.stream) + ' bricks', id: s.stream, rows: [
      ['URL', url, () => url, asset + ' ' + s.stream + ' URL'],
      ['Green', renkoMessage(show, 'green'), async () => renkoMessage(await fetchSecret(), 'green'), asset + ' ' + s.stream + ' green message'],
      ['Red', renkoMessage(show, 'red'), async () => renkoMessage(await fetchSecret(), 'red'), asset + ' ' + s.stream + ' red message'],
    ] });
  }
  const hb = origin + info.heartbeat_path;
  blocks.push({ title: asset + ' · price heartbeat (every minute)', id: 'heartbeat', rows: [
    ['URL', hb, () => hb, asset + ' heartbeat URL'],
    ['Message', heartbeatMessage(show), async () => heartbeatMessage(await fetchSecret()), asset + ' heartbeat message'],
  ] });
  $('templates').replaceChildren(...blocks.map((b) => {
    const box = h('section', { class: 'tpl', dataset: { stream: b.id } }, h('h3', null, b.title));
    for (const [label, text, get, what] of b.rows) {
      const row = line(label, text, what);
      row.dataset.row = label.toLowerCase();
      row.querySelector('button').addEventListener('click', async () => {
        try { await copy(await get(), what); } catch (e) { $('tpl-msg').textContent = e.message; }
      });
      box.appendChild(row);
    }
    return box;
  }));
}

async function boot() {
  try {
    info = await api('GET', '/api/alert-templates');
  } catch (e) {
    $('tpl-msg').textContent = e.message;
    return;
  }
  for (const a of info.assets) $('tpl-asset').appendChild(h('option', { value: a }, a));
  $('tpl-asset').addEventListener('change', render);
  $('reveal').addEventListener('click', async () => {
    try {
      if (!shown) await fetchSecret();
      shown = !shown;
      $('secret-shown').textContent = shown ? secret : MASK;
      $('reveal').textContent = shown ? 'Hide' : 'Reveal';
      $('reveal').setAttribute('aria-pressed', shown ? 'true' : 'false');
      render();
    } catch (e) { $('tpl-msg').textContent = e.message; }
  });
  render();
}

boot();
