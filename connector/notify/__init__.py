"""Notifications outside the helpdesk (escalation `notify:` actions)."""
