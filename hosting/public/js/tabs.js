/* Real tabs (WAI-ARIA tabs pattern): role=tab buttons with aria-selected, arrow keys, Home/End; one tabpanel shown. */

export function initTabs(onShow) {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  const show = (tab, focus) => {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute('aria-selected', on ? 'true' : 'false');
      t.tabIndex = on ? 0 : -1;
      t.classList.toggle('active', on);
      document.getElementById(t.getAttribute('aria-controls')).hidden = !on;
    }
    if (focus) tab.focus();
    onShow(tab.dataset.tab);
  };
  for (const t of tabs) {
    t.addEventListener('click', () => show(t, false));
    t.addEventListener('keydown', (ev) => {
      const i = tabs.indexOf(t);
      const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[ev.key];
      if (to === undefined) return;
      ev.preventDefault();
      show(tabs[(to + tabs.length) % tabs.length], true);
    });
  }
  show(tabs.find((t) => t.getAttribute('aria-selected') === 'true') || tabs[0], false);
}
