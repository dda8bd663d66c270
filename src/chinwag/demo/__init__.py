"""`chinwag serve --demo`: a chat page at /demo that talks to chinwag through the client SDK.

A front door like `api/` and `realtime/`, mounted only under `--demo`: its token endpoint hands
an access token to anyone who asks, so it never exists otherwise.
"""
