"""The operations layer: every action of every resource, callable without HTTP.

REST endpoints, the client SDK's WebSocket and the console all call `ops.actions.perform`.
"""
