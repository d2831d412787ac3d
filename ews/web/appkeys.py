"""Typed keys for the resources the application holds."""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncpg
from aiohttp import web

from ews.alerting.dispatch import Dispatcher
from ews.alerting.planner import Planner
from ews.core.settings import Settings
from ews.engine.evaluator import Evaluator
from ews.engine.leadership import EngineLeadership
from ews.intake.commands import CommandHandler
from ews.intake.gateway_events import GatewayEvents
from ews.intake.places import PlaceFollowUp
from ews.intake.writer import IntakeWriter
from ews.understand.placing import PlacingStage
from notifiers.base import Notifier
from rules.rulebook import Rulebook

if TYPE_CHECKING:
    from ews.understand.stage import ClassificationStage

SETTINGS = web.AppKey("settings", Settings)
POOL = web.AppKey("pool", asyncpg.Pool)
RULES = web.AppKey("rules", Rulebook)  # the rules file; the engine may run a newer activated version
# the routing file's text, checked at start-up; used until a version is activated in the database
ROUTES_TEXT = web.AppKey("routes_text", str)
NOTIFIERS = web.AppKey("notifiers", list[Notifier])
INTAKE = web.AppKey("intake", IntakeWriter)
COMMANDS = web.AppKey("commands", CommandHandler)
EVALUATOR = web.AppKey("evaluator", Evaluator)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
PLANNER = web.AppKey("planner", Planner)
LEADERSHIP = web.AppKey("leadership", EngineLeadership)
PLACES = web.AppKey("places", PlaceFollowUp)
PLACING = web.AppKey("placing", PlacingStage)
GATEWAY_EVENTS = web.AppKey("gateway_events", GatewayEvents)
# absent when no model file is usable; typed by name, so importing the keys does not import scikit-learn
CLASSIFICATION: web.AppKey[ClassificationStage] = web.AppKey("classification")
