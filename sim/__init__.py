"""The market and the broker the control plane never had locally (D16), not part of the functions bundle.

- `renko`: TradingView "traditional" bricks from a price path, for the six box sizes.
- `sources`: the bundled sample session and the user's own price files.
- `venue`: one interface to the control plane, in process (the pure domain) or over HTTP (the local or deployed stack).
- `paper`: the paper bridge, the reference client of the bridge contract.
- `session`: drives a day through a venue: market events, the auto-operator, the bridge.
- `replay`, `backtest`, `soak`: the commands.
"""
