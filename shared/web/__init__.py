"""Request/response plumbing shared by every Cloud Function: errors -> HTTP, body parsing, auth, JSON, logs.

Import the modules directly (`shared.web.errors`, `.request`, `.auth`, `.respond`, `.routing`); nothing here
imports google.cloud, so the webhook function's cold start stays small.
"""
