"""Governance (above monitors, below server and ui): API keys, sessions, later audit and retention.

May import `llmpulse.store`, `llmpulse.domain` and `llmpulse.clock`. Entry points:
`keys.KeyService` (create, list, revoke and verify API keys) and `sessions.SessionSigner`
(UI session cookies and CSRF tokens).
"""
