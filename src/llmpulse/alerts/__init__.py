"""Alerts: the pure Alertmanager-style pipeline between the alert state machine and notifiers.

Stage ⑥ of the flow (… → monitors → **alerts**). May import `llmpulse.monitors`,
`llmpulse.domain` and `llmpulse.clock`; nothing here does I/O (contract "Alert decisions are
pure") except `notifiers`, which send what was decided over HTTP and SMTP. Modelled on
Prometheus Alertmanager (METHODS.md §1.12, STYLE.md Part 2 shape 9):

- `matchers.Matcher`: label matchers `=`, `!=`, `=~`, `!~` (RE2, anchored, like Alertmanager);
  a missing label matches as the empty string.
- `model.Alert`: a label set with start/end; `fingerprint` is the dedup key.
- `routing.Route`: the routing tree (matchers, `continue`, inherited group_by / group_wait /
  group_interval / repeat_interval, default receiver); `Route.match(labels)`.
- `grouping.group_alerts`: alerts per (route, group labels) with a stable `group_key`, alerts
  deduplicated by fingerprint.
- `silences.Silence`: matchers + start/end; pending / active / expired; `silenced_by`.
- `inhibition.InhibitRule` / `inhibited`: a firing source alert mutes targets whose `equal`
  labels match.
- `muting.muted`: the fingerprints of a group muted by an active silence or by inhibition.
- `notify.should_notify(group, log, now)`: the notification decision on flush ticks
  (group_wait, group_interval, repeat_interval, resolved notifications).
- `notifiers`: webhook, Slack, PagerDuty Events v2 and e-mail senders of an `AlertBatch`.
"""
