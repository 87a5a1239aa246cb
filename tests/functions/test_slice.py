"""The first vertical slice through the real entry points: heartbeat, 6pt bar, login/logout/status, state."""

from __future__ import annotations

SECRETS_TV = "tv-test-secret"


def test_heartbeat_then_state(app):
    r = app.tv("/tv_heartbeat", symbol="ES", price=5000.25, timestamp=1)
    assert r.status_code == 200 and r.get_json() == {"ok": True}
    assert app.login().status_code == 200
    state = app.client("orders").get("/api/state").get_json()
    es = state["assets"]["ES"]
    assert es["last_heartbeat_ts"] == app.clock.now  # server receive time, not the client's timestamp 1
    assert es["heartbeat_client_ts"] == 1
    assert es["last_price"] == 5000.25
    assert state["global"]["tradingview_connected"] is True


def test_renko_main_sets_colour_and_tempo(app):
    r = app.tv("/tv_renko_main", asset="CME_MINI:MES1!", color="GREEN", bar_id="b1")
    assert r.status_code == 200
    assert r.get_json() == {"ok": True, "asset": "ES", "main_renko_color": "green", "main_renko_ts": app.clock.now}
    again = app.tv("/tv_renko_main", asset="ES", color="red", bar_id="b1")
    assert again.get_json() == {"ok": True, "duplicate": True}
    app.login()
    es = app.client("orders").get("/api/state").get_json()["assets"]["ES"]
    assert es["main_renko_color"] == "green" and es["tempo_ready"] is True


def test_wrong_secret_unknown_asset_bad_json(app):
    client = app.client("webhooks")
    assert client.post("/tv_renko_main", json={"secret": "nope", "asset": "ES", "color": "green"}).status_code == 401
    garbage = client.post("/tv_renko_main", data="not json", content_type="text/plain")
    assert garbage.status_code == 400 and garbage.get_json()["ok"] is False
    text_plain = client.post("/tv_renko_main", data='{"secret": "tv-test-secret", "asset": "ES", "color": "red"}',
                             content_type="text/plain")
    assert text_plain.status_code == 200 and text_plain.get_json()["main_renko_color"] == "red"
    app.store.remove("assets/ES")
    app.store.remove("console/global")
    for path in [p for p in app.store.dump() if p.startswith("events/")]:
        app.store.remove(path)
    r = app.tv("/tv_renko_main", asset="GC1!", color="green")
    assert r.status_code == 400 and r.get_json() == {"ok": False, "error": "Unknown asset 'GC1!'"}
    assert app.store.dump() == {}


def test_login_required_and_logout(app):
    orders = app.client("orders")
    assert orders.get("/api/state").status_code == 401
    assert orders.post("/api/login", json={"password": "wrong"}).status_code == 401
    assert app.login().status_code == 200
    assert orders.get("/api/auth/status").get_json() == {"authenticated": True, "password_required": True}
    assert orders.post("/api/logout").get_json() == {"ok": True}
    assert orders.get("/api/state").status_code == 401
    assert SECRETS_TV not in orders.get("/api/auth/status").get_data(as_text=True)


DEV_ROUTES = (("GET", "/_dev/clock"), ("POST", "/_dev/clock"), ("DELETE", "/_dev/clock"), ("POST", "/_dev/reset"))


def test_dev_routes_exist_only_on_the_local_stack(app, tmp_path, monkeypatch):
    """The deployed orders function has no dev route, even with LOCAL_DEV=1; the local stack adds them to the app
    it creates for it (devstack/dev_routes.py), and that leaves the function's own router as it was."""
    from devstack.router import create_function_app
    from tests.functions.conftest import SECRETS, SOURCE

    orders = app.client("orders")
    for method, path in DEV_ROUTES:
        assert orders.open(path, method=method, json={"now": 1}).status_code == 404, (method, path)
    monkeypatch.setenv("LOCAL_DEV", "1")
    monkeypatch.setenv("DEV_CLOCK_FILE", str(tmp_path / "clock.json"))
    assert app.login().status_code == 200
    for method, path in DEV_ROUTES:
        assert orders.open(path, method=method, json={"now": 1}).status_code == 404, (method, path)
    local = create_function_app("orders", SOURCE).test_client()
    assert local.post("/_dev/clock", json={"now": 1_900_000_000}).status_code == 401  # a password is set
    assert local.post("/api/login", json={"password": SECRETS["DASHBOARD_PASSWORD"]}).status_code == 200
    moved = local.post("/_dev/clock", json={"now": 1_900_000_000}).get_json()
    assert moved["ok"] is True and 1_900_000_000 <= moved["now"] < 1_900_000_005
    assert local.delete("/_dev/clock").status_code == 200
    assert orders.get("/_dev/clock").status_code == 404  # the deployed shape is untouched by the local one
