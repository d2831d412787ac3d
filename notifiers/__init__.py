"""Integrations that deliver alerts: one module per integration, pure renderers, one registry."""
