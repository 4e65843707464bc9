"""Faithful local receivers for third-party services, on loopback, speaking their wire format."""
