"""The real-time front door: the client SDK's twilsock WebSocket and what it tunnels."""
