"""Webhooks and push notifications: what is sent, to whom, and the outbox that delivers it."""
