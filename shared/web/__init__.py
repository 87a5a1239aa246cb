"""Request/response plumbing shared by every Cloud Function: errors -> HTTP, body parsing, auth, JSON answers, the
router and its one log line per request.

Import the modules directly (`shared.web.errors`, `.request`, `.auth`, `.respond`, `.routing`); nothing here
imports google.cloud, so the webhook function's cold start stays small. The layer sits on top: the service layer
never imports it (what both need, the logs and secret masking and the error hierarchy, is `shared.logs` and
`shared.errors`, below both).
"""
