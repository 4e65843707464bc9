"""Alerts: what is sent when a monitor fires or resolves, and the notifiers that send it."""
