"""Notifiers: deliver an `AlertBatch` to a webhook, Slack, PagerDuty or e-mail."""

from llmpulse.alerts.notifiers.base import Alert, AlertBatch, AlertStatus, Delivery, Notifier
from llmpulse.alerts.notifiers.email import EmailNotifier, SmtpConfig
from llmpulse.alerts.notifiers.http import RetryPolicy
from llmpulse.alerts.notifiers.pagerduty import PagerDutyNotifier
from llmpulse.alerts.notifiers.slack import SlackNotifier
from llmpulse.alerts.notifiers.webhook import WebhookNotifier

__all__ = [
    "Alert",
    "AlertBatch",
    "AlertStatus",
    "Delivery",
    "EmailNotifier",
    "Notifier",
    "PagerDutyNotifier",
    "RetryPolicy",
    "SlackNotifier",
    "SmtpConfig",
    "WebhookNotifier",
]
