"""chinwag: a self-hosted server for the Twilio Programmable Chat REST API."""

__version__ = "0.1.0"
