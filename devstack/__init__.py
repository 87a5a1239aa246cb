"""Local development stack: emulators, the Hosting-like router and the runner (never deployed)."""
