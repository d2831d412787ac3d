"""Channels that turn gateway requests into reports: one module per channel, one registry."""
