"""Firestore adapter: documents in and out, and the optimistic unit of work (see store/api.py)."""
