/* Tiny DOM helpers. Every string from the server goes in as text (text nodes / textContent), never as markup. */

export const $ = (id) => document.getElementById(id);

/** h('div', {class: 'x', dataset: {a: 1}, disabled: true}, 'text', child, [more]): strings become text nodes. */
export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'dataset') Object.entries(v).forEach(([dk, dv]) => { el.dataset[dk] = String(dv); });
      else if (k === 'text') el.textContent = String(v);
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, String(v));
    }
  }
  append(el, kids);
  return el;
}

export function append(el, kids) {
  for (const kid of kids) {
    if (kid === null || kid === undefined || kid === false) continue;
    if (Array.isArray(kid)) append(el, kid);
    else if (kid instanceof Node) el.appendChild(kid);
    else el.appendChild(document.createTextNode(String(kid)));
  }
}

/** Rebuild `el`'s children only when `sig` changed: buttons stay the same elements (and keep focus) between polls. */
export function patch(el, sig, build) {
  if (el.dataset.sig === sig) return;
  el.dataset.sig = sig;
  const focused = document.activeElement && el.contains(document.activeElement) ? focusKey(document.activeElement) : null;
  el.replaceChildren(...[build()].flat(Infinity).filter(Boolean));
  if (focused) {
    // a re-render must not throw the keyboard user back to the top of the page
    const again = [...el.querySelectorAll('button, a, input, select')].find((x) => focusKey(x) === focused);
    if (again) again.focus();
  }
}

function focusKey(el) {
  return [el.tagName, el.id, el.dataset.act || '', el.dataset.v || '', el.dataset.cancel || ''].join('|');
}

export function setText(el, text, cls) {
  if (!el) return;
  if (el.textContent !== text) el.textContent = text;
  if (cls !== undefined) el.className = 'v ' + cls;
}

/** A pressed/not-pressed toggle button: the state is in aria-pressed (for assistive tech) and in the `on` class. */
export function setPressed(btn, on) {
  btn.classList.toggle('on', !!on);
  btn.setAttribute('aria-pressed', on ? 'true' : 'false');
}
