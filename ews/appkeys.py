"""Typed keys for the resources the application holds."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from ews.dispatch import Dispatcher
from ews.evaluation import Evaluator
from ews.intake import IntakeWriter
from ews.leadership import EngineLeadership
from ews.settings import Settings
from notifiers.base import Notifier
from rules.window_count import WindowCountRule

SETTINGS = web.AppKey("settings", Settings)
POOL = web.AppKey("pool", asyncpg.Pool)
RULES = web.AppKey("rules", list[WindowCountRule])
NOTIFIER = web.AppKey("notifier", Notifier)
INTAKE = web.AppKey("intake", IntakeWriter)
EVALUATOR = web.AppKey("evaluator", Evaluator)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
LEADERSHIP = web.AppKey("leadership", EngineLeadership)
