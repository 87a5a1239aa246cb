"""Helpers of the browser tests: the stack's dev routes, TradingView and the bridge played by `requests`, waits on
the page, screen-size checks and screenshots (saved under BROWSER_SCREENSHOT_DIR, default .local/screenshots)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import requests

from devstack.run import LocalStack

T = TypeVar("T")

PASSWORD = "correct horse battery staple"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROME_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1440,1100",
)
WAIT_S = 10.0
HEARTBEAT_STALE = "Heartbeat stale or missing – cannot trade"
ROOT = Path(__file__).resolve().parents[2]


def dev(stack: LocalStack) -> requests.Session:
    """A session signed in as the operator: the dev routes need it when a password is set."""
    session = requests.Session()
    session.post(f"{stack.url}/api/login", json={"password": PASSWORD}, timeout=10).raise_for_status()
    return session


def reset(stack: LocalStack) -> None:
    answer = dev(stack).post(f"{stack.url}/_dev/reset", json={}, timeout=10)
    assert answer.status_code == 200, answer.text


def tv(stack: LocalStack, path: str, **body: Any) -> dict[str, Any]:
    answer = requests.post(f"{stack.url}{path}", json={"secret": stack.secrets["TV_WEBHOOK_SECRET"], **body},
                           timeout=10)
    assert answer.status_code == 200, (path, answer.status_code, answer.text)
    result: dict[str, Any] = answer.json()
    return result


def structure(stack: LocalStack, asset: str = "ES", color: str = "green") -> None:
    """8pt and 12pt agree (NORMAL zone), a fresh 6pt bar (tempo READY), the 2.5pt on the same side, a 1pt and 4pt."""
    for path in ("/tv_renko_high", "/tv_renko_macro", "/tv_renko_main", "/tv_renko_two_half", "/tv_renko",
                 "/tv_renko_one"):
        tv(stack, path, asset=asset, color=color)


def wait_until(driver: Any, condition: Callable[[Any], Any], what: str, timeout: float = WAIT_S) -> Any:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    def safe(d: Any) -> Any:
        try:
            return condition(d)
        except StaleElementReferenceException:  # the dashboard re-renders between polls
            return False

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.1).until(safe)
    except Exception as exc:  # pragma: no cover - the message is what matters when it fails
        raise AssertionError(f"timed out waiting for {what}; page text:\n{body_text(driver)[:3000]}") from exc


def wait_for(driver: Any, css: str) -> Any:
    return wait_until(driver, lambda d: first(d, css), f"element {css}")


def first(driver: Any, css: str) -> Any:
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, css)
    return found[0] if found else None


def _fresh(read: Callable[[], T]) -> T:
    """`read()`, again if the dashboard re-rendered the element between finding and reading it (it redraws
    cards every second); a few tries, then the error stands."""
    from selenium.common.exceptions import StaleElementReferenceException

    for _ in range(4):
        try:
            return read()
        except StaleElementReferenceException:
            time.sleep(0.05)
    return read()


def text(driver: Any, css: str) -> str:
    def read() -> str:
        element = first(driver, css)
        return "" if element is None else str(element.text)

    return _fresh(read)


def body_text(driver: Any) -> str:
    try:
        return str(driver.execute_script("return document.body ? document.body.innerText : ''"))
    except Exception:  # pragma: no cover
        return ""


def has_text(driver: Any, css: str, wanted: str) -> bool:
    return wanted in text(driver, css)


def sign_in(driver: Any, stack: LocalStack, password: str) -> None:
    driver.get(f"{stack.url}/login.html")
    field = wait_for(driver, "#password")
    field.clear()
    field.send_keys(password)
    first(driver, "#login-submit").click()


def gate(driver: Any, asset: str, name: str) -> tuple[str, str]:
    """(pass|fail, reason text) of one row of the asset's gates board."""
    def classes() -> list[str] | None:
        row = first(driver, f'#card-{asset} li.gate[data-gate="{name}"]')
        return None if row is None else str(row.get_attribute("class")).split()

    found = _fresh(classes)
    if found is None:
        return "", ""
    status = "pass" if "pass" in found else "fail"
    return status, text(driver, f'#card-{asset} li.gate[data-gate="{name}"] .reason')




# ---- the bridge, played by requests ----------------------------------------------------------------------------


def bridge_secret(stack: LocalStack) -> str:
    return stack.secrets["BRIDGE_HEARTBEAT_SECRET"]


def claim(stack: LocalStack) -> list[dict[str, Any]]:
    """The bridge's poll: every PENDING order, now claimed."""
    answer = requests.get(f"{stack.url}/api/orders/pending", params={"secret": bridge_secret(stack)}, timeout=10)
    assert answer.status_code == 200, answer.text
    orders: list[dict[str, Any]] = answer.json()["orders"]
    return orders


def report(stack: LocalStack, order_id: str, status: str, **extra: Any) -> None:
    body = {"secret": bridge_secret(stack), "status": status, "extra": extra}
    answer = requests.post(f"{stack.url}/api/orders/{order_id}/execution-report", json=body, timeout=10)
    assert answer.status_code == 200, answer.text


def snapshot(stack: LocalStack, balance: float, symbols: list[dict[str, Any]], unrealized: float = 0.0) -> None:
    body = {"secret": bridge_secret(stack), "realized": 0.0, "unrealized": unrealized, "accountBalance": balance,
            "symbols": symbols}
    answer = requests.post(f"{stack.url}/api/rithmic/pnl-snapshot", json=body, timeout=10)
    assert answer.status_code == 200, answer.text


def place_entry(stack: LocalStack, asset: str = "ES") -> dict[str, Any]:
    entry = {"asset": asset, "order_type": "market", "mode": "A", "trade_mode": "SCALP", "entry_size_mode": "6pt"}
    answer = dev(stack).post(f"{stack.url}/api/orders", json=entry, timeout=10)
    assert answer.status_code == 201, answer.text
    order: dict[str, Any] = answer.json()["order"]
    return order


# ---- screen sizes and screenshots ------------------------------------------------------------------------------

SIZES = {"desktop": (1440, 900), "phone": (390, 844), "narrow": (360, 740)}


def viewport(driver: Any, size: str) -> None:
    """An exact CSS viewport (the window size would include the browser's own chrome)."""
    width, height = SIZES[size]
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": size != "desktop"})


def resize(driver: Any, size: str) -> None:
    """`viewport`, then wait until the page has laid itself out at that width."""
    viewport(driver, size)
    width = SIZES[size][0]
    wait_until(driver, lambda d: d.execute_script("return innerWidth") == width, f"a {width} px viewport")


def overflow(driver: Any) -> int:
    """How many CSS pixels the page is wider than the viewport (0: no horizontal scrolling)."""
    return int(driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"))


def outside_viewport(driver: Any, css: str) -> list[str]:
    """The visible elements matching `css` that are not wholly inside the viewport."""
    found: list[str] = driver.execute_script("""
        const out = [];
        for (const el of document.querySelectorAll(arguments[0])) {
          const r = el.getBoundingClientRect();
          if (!r.width || !r.height) continue;
          const w = document.documentElement.clientWidth, h = document.documentElement.clientHeight;
          if (r.left < 0 || r.top < 0 || r.right > w + 0.5 || r.bottom > h + 0.5)
            out.push((el.id || el.textContent.trim()) + ' ' + [r.left, r.top, r.right, r.bottom].map(Math.round));
        }
        return out;""", css)
    return found


def unreadable(driver: Any, css: str, containing: str = "") -> list[str]:
    """Why the first rendered element matching `css` (and containing that text) cannot be read: [] when it can.

    It is first scrolled to the middle of the viewport (and inside any scrolling box), as a person would scroll to
    it; then it must lie wholly inside the viewport, not be cut by an ancestor that clips its overflow, not be cut
    short itself, and be on top at the middle of each of its lines (no sticky header, banner or dialog over it).
    """
    problems: list[str] = driver.execute_script("""
        const [css, want] = arguments;
        const el = [...document.querySelectorAll(css)]
          .find((e) => e.getClientRects().length && e.textContent.includes(want));
        if (!el) return ['nothing rendered matches ' + css + ' with ' + JSON.stringify(want)];
        el.scrollIntoView({ block: 'center', inline: 'nearest' });
        // only a box a person can scroll may stay scrolled: one that hides its overflow (the page's sideways
        // overflow, a clipped cell) is put back, or what it hides would pass for readable
        for (let p = el.parentElement; p; p = p.parentElement) {
          const s = getComputedStyle(p);
          if (/hidden|clip/.test(s.overflowX)) p.scrollLeft = 0;
          if (/hidden|clip/.test(s.overflowY)) p.scrollTop = 0;
        }
        window.scrollTo(0, window.scrollY);  // the page itself is never meant to scroll sideways
        // the viewport as laid out, not innerWidth: on a phone, content that overflows widens innerWidth with it
        const W = document.documentElement.clientWidth, H = document.documentElement.clientHeight;
        const name = (e) => e.id || e.className || e.tagName;
        const out = [];
        const r = el.getBoundingClientRect();
        const style = getComputedStyle(el);
        if (style.visibility !== 'visible' || Number(style.opacity) === 0) out.push('invisible');
        if (r.left < -0.5 || r.right > W + 0.5) out.push('wider than the viewport ' + [r.left, r.right]);
        if (r.height <= H && (r.top < -0.5 || r.bottom > H + 0.5))
          out.push('not inside the viewport ' + [r.top, r.bottom]);
        for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
          const s = getComputedStyle(p);
          if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
          const q = p.getBoundingClientRect();
          if (r.left < q.left - 0.5 || r.right > q.right + 0.5 || r.top < q.top - 0.5 || r.bottom > q.bottom + 0.5)
            out.push('cut by ' + name(p));
        }
        if (style.overflowX !== 'visible' && el.scrollWidth > el.clientWidth + 1) out.push('cut short');
        for (const box of el.getClientRects()) {
          const x = Math.min(Math.max(box.left + box.width / 2, 0), W - 1);
          const y = Math.min(Math.max(box.top + box.height / 2, 0), H - 1);
          const top = document.elementFromPoint(x, y);
          if (top && !el.contains(top) && !top.contains(el)) out.push('under ' + name(top));
        }
        return out;""", css, containing)
    return problems


def click(driver: Any, css: str) -> None:
    """Click as a person would: scrolled to the middle first, so no sticky header lies over the target."""
    element = first(driver, css)
    assert element is not None, css
    driver.execute_script("arguments[0].scrollIntoView({block: 'center', inline: 'nearest'})", element)
    element.click()


def server_state(stack: LocalStack) -> dict[str, Any]:
    """GET /api/state: the figures the page is drawn from."""
    answer = dev(stack).get(f"{stack.url}/api/state", timeout=10)
    assert answer.status_code == 200, answer.text
    state: dict[str, Any] = answer.json()
    return state


def shot(driver: Any, name: str) -> Path:
    """Save a screenshot as a test artifact (not committed): BROWSER_SCREENSHOT_DIR or .local/screenshots."""
    folder = Path(os.environ.get("BROWSER_SCREENSHOT_DIR") or ROOT / ".local" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    assert driver.save_screenshot(str(path))
    assert path.stat().st_size > 5_000
    return path


def csp_violations(driver: Any) -> list[str]:
    """Console messages of the page about the Content-Security-Policy (read once: the log is drained)."""
    return [str(e["message"]) for e in driver.get_log("browser") if "Content Security Policy" in str(e["message"])]
