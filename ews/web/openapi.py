"""The OpenAPI 3.1 description of the whole HTTP API, served at /api/v1/openapi.json.

Written by hand in one place, so the answers and the document change together; a schemathesis test runs
property-based requests from it against the running app (no 500, no answer that breaks the schema).
"""

from __future__ import annotations

from typing import Any

from ews import __version__
from ews.alerting.acknowledgements import NAME_PATTERN, NOTE_PATTERN
from ingest import twilio_message
from ingest.partner_api import MAX_BATCH, MAX_KEY_CHARS
from rules.gazetteer import COUNTIES
from rules.vocabulary import INCIDENT_TYPES

_TYPES = [t.code for t in INCIDENT_TYPES]
_NULL_STR = {"type": ["string", "null"]}
_NULL_INT = {"type": ["integer", "null"]}
_NULL_TIME = {"type": ["string", "null"], "format": "date-time"}
_LEVEL = {"type": "string", "enum": ["NORMAL", "WATCH", "WARNING", "ALERT"]}


def _json(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": schema}}}}


_ERROR = "#/components/schemas/Error"
_ERR = {code: _json(_ERROR, text) for code, text in {
    "400": "Bad request: the error says what is wrong", "401": "Missing or wrong bearer token",
    "403": "Refused (bad signature)", "404": "Not found", "409": "Idempotency-Key reused with another body",
    "413": "Request too large", "415": "Wrong content type", "503": "Storage unavailable; try again",
}.items()}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    # An empty value (?county=) is the same as leaving the parameter out.
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"anyOf": [schema, {"type": "string", "maxLength": 0}]}}


_COUNTY = _query("county", {"anyOf": [
    {"type": "string", "pattern": "^(00[1-9]|0?[1-9]|0?[1-3][0-9]|0?4[0-7])$"},
    {"type": "string", "enum": [c.name for c in COUNTIES] + ["none"]}]},
    "A county code 1-47 (042 too), a county name in any case and spacing, or 'none' (placed in no county)")
# Where a report was placed: how sure, from which words, and by what (channel, text, answer, correction).
_PLACE = {"place_confidence": {"type": ["number", "null"]}, "place_span": _NULL_STR,
          "place_source": {"type": ["string", "null"], "enum": ["channel", "text", "answer", "correction", None]}}
# What the classifier made of a report (issue 11) and where an analyst's review left it.
_LANGUAGE = {"type": "string", "enum": ["en", "sw", "sheng", "mixed"],
             "description": "As written (detected); replies go in English or Swahili"}
_CLASSIFIED = {
    "incident_type": {"type": ["string", "null"], "enum": [*_TYPES, None]},
    "type_confidence": {"type": ["number", "null"], "minimum": 0, "maximum": 1,
                        "description": "The model's; null when the channel or an analyst gave the type"},
    "severity": {"type": ["string", "null"], "enum": ["low", "medium", "high", "critical", None]},
    "needs_review": {"type": "boolean"},
    "review_status": {"type": "string", "enum": ["new", "verified", "rejected", "duplicate"]},
    "incident_id": _NULL_INT,
    "sensitive": {"type": "boolean", "description": "Possible sexual or gender-based violence: shown only to "
                  "callers with EWS_SENSITIVE_API_TOKEN"},
    "model_version": _NULL_STR,
}
# A report id is a bigint: a larger one is refused with 400 (GET and PATCH alike).
_REPORT_ID = {"name": "id", "in": "path", "required": True,
              "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}}
_LIMIT = _query("limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 100}, "Page size")
_API: list[dict[str, list[str]]] = [{"apiToken": []}, {}]  # EWS_API_TOKEN when set; open otherwise

_REPORT_ITEM: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["body"],
    "properties": {
        "id": {"type": "string", "minLength": 1, "maxLength": 128,
               "description": "The partner's own id: a repeat with the same id is stored once"},
        "body": {"type": "string", "minLength": 1, "maxLength": 4000, "description": "What happened"},
        "county_code": {"type": "integer", "minimum": 1, "maximum": 47},
        "constituency_code": {"type": "integer", "minimum": 1, "maximum": 290},
        "ward_code": {"type": "string", "pattern": "^[0-9]{4}$", "description": "IEBC ward code 0001-1450"},
        "incident_type": {"type": "string", "enum": _TYPES},
        "occurred_at": {"type": "string", "format": "date-time", "description": "With a time zone; not in the future"},
        "latitude": {"type": "number", "minimum": -4.9, "maximum": 5.2},
        "longitude": {"type": "number", "minimum": 33.8, "maximum": 42.0},
        "casualties": {"type": "integer", "minimum": 0, "maximum": 100000},
        "language": {"type": "string", "enum": ["en", "sw"]},
        "reporter_id": {"type": "string", "minLength": 1, "maxLength": 128,
                        "description": "The partner's monitor, so the rules count distinct reporters"},
    },
}

_ALERT_PROPERTIES: dict[str, Any] = {
    "id": {"type": "integer"}, "reference": {"type": "string"}, "rule": {"type": "string"},
    "group": {"type": "string"}, "rules_version": _NULL_STR,
    "why": {"type": ["object", "null"], "description": "The last change's line on why, {en, sw}"},
    "county_code": {"type": "integer"}, "county_name": {"type": "string"}, "level": _LEVEL, "peak_level": _LEVEL,
    "trigger_count": {"type": "integer"}, "opened_at": _NULL_TIME, "updated_at": _NULL_TIME,
    "closed_at": _NULL_TIME, "acknowledged_at": _NULL_TIME, "resolved_at": _NULL_TIME,
    "messages_sent": {"type": "integer"}}
_SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
    "Health": {"type": "object", "required": ["status", "database", "engine", "version"], "properties": {
        "status": {"type": "string", "enum": ["ok", "degraded"]},
        "database": {"type": "string", "enum": ["ok", "unavailable"]},
        "engine": {"type": "string", "enum": ["leader", "follower"]},
        "dead_letters": _NULL_INT, "version": {"type": "string"}}},
    "Counties": {"type": "object", "required": ["counties", "unplaced_reports", "unplaced_reports_24h"],
                 "properties": {
                     "counties": {"type": "array", "items": {
                         "type": "object", "required": ["code", "name", "level", "since", "reports_24h"],
                         "properties": {"code": {"type": "integer"}, "name": {"type": "string"}, "level": _LEVEL,
                                        "since": _NULL_TIME, "reports_24h": {"type": "integer"}}}},
                     "unplaced_reports": {"type": "integer"}, "unplaced_reports_24h": {"type": "integer"}}},
    "Alerts": {"type": "object", "required": ["alerts"], "properties": {"alerts": {"type": "array", "items": {
        "type": "object", "required": ["id", "reference", "rule", "county_code", "level", "peak_level"],
        "properties": _ALERT_PROPERTIES}}}},
    "Alert": {"type": "object", "description": "One alert and every level change it went through, with why",
              "required": ["id", "reference", "rule", "group", "county_code", "level", "changes"],
              "properties": {**_ALERT_PROPERTIES, "changes": {"type": "array", "items": {
                  "type": "object", "required": ["from", "to", "at", "explanation"],
                  "properties": {"from": _LEVEL, "to": _LEVEL, "count": {"type": "integer"}, "at": _NULL_TIME,
                                 "rules_version": _NULL_STR,
                                 "explanation": {"type": ["object", "null"], "description":
                                                 "rule, version, detector, statistic, threshold, observed, "
                                                 "baseline {periods, mean, sd}, why {en, sw}, contributing "
                                                 "[{unit, report, reports, weight}]"}}}},
                             "labels": {"type": "object", "description": "What routing, silences and "
                                        "inhibition match: county, level, rule, group, sensitive",
                                        "additionalProperties": {"type": "string"}},
                             "fingerprint": {"type": "string", "description": "A hash of the labels"},
                             "escalation": {"type": ["object", "null"], "description":
                                            "Its escalation policy as frozen when it opened (null: none)",
                                            "properties": {
                                                "policy": {"type": "string"}, "tier": {"type": "integer"},
                                                "tiers": {"type": "integer"}, "loop": {"type": "integer"},
                                                "receivers": {"type": "array", "items": {"type": "string"}},
                                                "told_at": _NULL_TIME, "next_at": _NULL_TIME,
                                                "stopped_at": _NULL_TIME, "stop_reason": _NULL_STR}}}},
    "AlertAction": {
        "type": "object", "additionalProperties": False, "required": ["by"],
        "description": "Who acknowledges or resolves (audited under this name), and why",
        "properties": {"by": {"type": "string", "minLength": 1, "maxLength": 200,
                              "pattern": f"^{NAME_PATTERN}$"},
                       "note": {"type": "string", "maxLength": 1000, "pattern": f"^{NOTE_PATTERN}$"}}},
    "AlertActionResult": {
        "type": "object", "required": ["id", "reference", "outcome", "first", "notified"],
        "properties": {"id": {"type": "integer"}, "reference": {"type": "string"},
                       "outcome": {"type": "string", "enum": ["acknowledged", "resolved"]},
                       "first": {"type": "boolean", "description": "false: it was acknowledged already"},
                       "notified": {"type": "integer", "description": "Messages queued to the alert's recipients"},
                       "acknowledged_at": _NULL_TIME, "resolved_at": _NULL_TIME}},
    "ReportList": {"type": "object", "required": ["reports"], "properties": {"reports": {"type": "array", "items": {
        "type": "object", "required": ["id", "reference", "body", "received_at"],
        "properties": {"id": {"type": "integer"}, "reference": {"type": "string"}, "source": {"type": "string"},
                       "body": {"type": "string"}, "county_code": _NULL_INT, "county_name": _NULL_STR,
                       "language": _LANGUAGE, "received_at": {"type": "string", "format": "date-time"},
                       "constituency_code": _NULL_INT, "ward_code": _NULL_STR, **_PLACE, **_CLASSIFIED}}}}},
    "Report": {"type": "object", "description": "One report; also one line of `ews export --format ews`",
               "required": ["id", "reference", "source", "channel", "body", "received_at", "sensitive"],
               "properties": {
                   "id": {"type": "integer"}, "reference": {"type": "string"}, "source": {"type": "string"},
                   "channel": {"type": "string"}, "body": {"type": "string"}, "county_code": _NULL_INT,
                   "county_name": _NULL_STR, "constituency_code": _NULL_INT, "ward_code": _NULL_STR,
                   "casualties": _NULL_INT, "language": _LANGUAGE,
                   "occurred_at": _NULL_TIME, "received_at": {"type": "string", "format": "date-time"},
                   "latitude": {"type": ["number", "null"]}, "longitude": {"type": ["number", "null"]},
                   "partner": _NULL_STR, **_PLACE, **_CLASSIFIED,
                   "media": {"type": "object", "required": ["count", "content_types"],
                             "description": "Media the message carried (WhatsApp): how many and of which "
                                            "types; the media themselves and their URLs are never kept",
                             "properties": {"count": {"type": "integer", "minimum": 0, "maximum": 10},
                                            "content_types": {"type": "array", "items": {"type": "string"}}}},
                   "forwarded": {"type": ["string", "null"], "enum": ["forwarded", "frequently_forwarded", None],
                                 "description": "WhatsApp marked the message forwarded: someone else's words"},
                   "flooding": {"type": "boolean", "description": "from a sender over the flood rate: not counted"},
                   "repeat_of": {"type": ["string", "null"], "description": "the earlier report it repeats (EWS-N)"},
                   "trust": {"type": ["number", "null"]}, "from_monitor": {"type": "boolean"},
                   "duplicate_of_report": {"type": ["string", "null"],
                                           "description": "the report an analyst marked it a duplicate of"}}},
    "HiddenReport": {"type": "object", "description": "A report the caller just marked sensitive and may no "
                     "longer see", "required": ["id", "sensitive"], "properties": {
                         "id": {"type": "integer"}, "reference": {"type": "string"}, "sensitive": {"const": True}}},
    "ReportCorrection": {
        "type": "object", "additionalProperties": False, "minProperties": 1,
        "description": "A place correction (county_code, constituency_code, ward_code, with `by`), a review "
                       "(review_status, incident_type, sensitive, duplicate_of or duplicate_of_incident), or both",
        "properties": {
            "county_code": {"type": ["integer", "null"], "minimum": 1, "maximum": 47},
            "constituency_code": {"type": ["integer", "null"], "minimum": 1, "maximum": 290},
            "ward_code": {"type": ["string", "null"], "pattern": "^[0-9]{4}$"},
            "by": {"type": "string", "minLength": 1, "maxLength": 200,
                   "description": "Who corrects; required with a place"},
            "note": {"type": "string", "maxLength": 2000},
            "review_status": {"type": "string", "enum": ["new", "verified", "rejected", "duplicate"]},
            "incident_type": {"anyOf": [{"type": "string", "enum": _TYPES},
                                        {"type": "integer", "minimum": 1, "maximum": len(_TYPES)}]},
            "sensitive": {"type": "boolean"},
            "duplicate_of": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1,
                             "description": "Another report's id (review_status duplicate)"},
            "duplicate_of_incident": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
            "reviewer": {"type": "string", "minLength": 1, "maxLength": 100}}},
    "Deliveries": {"type": "object", "required": ["deliveries"], "properties": {"deliveries": {
        "type": "array", "items": {"type": "object", "required": ["id", "kind", "status"], "properties": {
            "id": {"type": "integer"}, "kind": {"type": "string"}, "status": {"type": "string"},
            "channel": _NULL_STR, "notifier": _NULL_STR, "attempts": {"type": "integer"}, "last_error": _NULL_STR,
            "created_at": {"type": "string"}, "next_attempt_at": {"type": "string"}, "sent_at": _NULL_STR,
            "alert": _NULL_STR, "event": _NULL_STR, "report": _NULL_STR, "recipient": _NULL_STR}}}}},
    "ReportBatch": {"type": "object", "additionalProperties": False, "required": ["reports"], "properties": {
        "reports": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH, "description":
                    "ReportItem objects. An item that is not a valid ReportItem is rejected on its own, with its "
                    "errors in the results; the others are stored",
                    "items": {"anyOf": [{"$ref": "#/components/schemas/ReportItem"}, {}]}}}},
    "ReportItem": _REPORT_ITEM,
    "BatchResult": {"type": "object", "required": ["partner", "accepted", "rejected", "results"], "properties": {
        "partner": {"type": "string"}, "accepted": {"type": "integer"}, "rejected": {"type": "integer"},
        "results": {"type": "array", "items": {"oneOf": [
            {"type": "object", "required": ["index", "status", "id", "reference", "created"], "properties": {
                "index": {"type": "integer"}, "status": {"const": "accepted"}, "id": {"type": "string"},
                "reference": {"type": "string"}, "county_code": _NULL_INT, "created": {"type": "boolean"}}},
            {"type": "object", "required": ["index", "status", "errors"], "properties": {
                "index": {"type": "integer"}, "status": {"const": "rejected"},
                "errors": {"type": "array", "items": {"type": "object", "required": ["field", "error"],
                                                      "properties": {"field": {"type": "string"},
                                                                     "error": {"type": "string"}}}}}}]}}}},
}

_HTML = {"text/html": {"schema": {"type": "string"}}}
_NO_NUL = {"type": "string", "pattern": "^[^\\x00]*$"}  # form fields: a NUL anywhere is refused with 400
_FORM_FIELDS = {"additionalProperties": _NO_NUL, "propertyNames": _NO_NUL}
_NON_BLANK = "^[^\\x00]*[^\\s\\x00][^\\x00]*$"
# Twilio's inbound message, SMS or WhatsApp: the parser's own patterns (ingest.twilio_message). Something to
# report is required: a non-blank Body, media, or a shared location (whose Label/Address then word it).
_TWILIO_FORM: dict[str, Any] = {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
    "type": "object", "required": ["MessageSid", "From"], **_FORM_FIELDS,
    "dependentRequired": {"Latitude": ["Longitude"], "Longitude": ["Latitude"]},
    "anyOf": [{"required": ["Body"], "properties": {"Body": {"type": "string", "pattern": _NON_BLANK}}},
              {"required": ["NumMedia"], "properties": {"NumMedia": {"type": "string", "pattern": "^([1-9]|10)$"}}},
              {"required": ["Latitude", "Longitude"]}],
    "properties": {
        "MessageSid": {"type": "string", "pattern": "^[!-~]{1,64}$"},
        "From": {"type": "string", "pattern": _NON_BLANK,
                 "description": "+254... for SMS, whatsapp:+254... for WhatsApp (the channel is read from it)"},
        "Body": {**_NO_NUL, "maxLength": twilio_message.MAX_BODY_CHARS},
        "NumMedia": {"type": "string", "pattern": f"^{twilio_message.NUM_MEDIA_PATTERN}$"},
        **{f"MediaContentType{i}": {"type": "string", "maxLength": twilio_message.MAX_CONTENT_TYPE_CHARS,
                                    "pattern": f"^{twilio_message.CONTENT_TYPE_PATTERN}$"}
           for i in range(twilio_message.MAX_MEDIA)},
        "Latitude": {"type": "string", "pattern": f"^{twilio_message.LATITUDE_PATTERN}$"},
        "Longitude": {"type": "string", "pattern": f"^{twilio_message.LONGITUDE_PATTERN}$"},
        "Label": {**_NO_NUL, "maxLength": twilio_message.MAX_PLACE_CHARS},
        "Address": {**_NO_NUL, "maxLength": twilio_message.MAX_PLACE_CHARS}}}}}}
_TWILIO_ANSWERS: dict[str, Any] = {
    "200": {"description": "TwiML receipt (sent back over SMS or WhatsApp, as the message came)", "content": {
        "application/xml": {"schema": {"type": "string"}}}},
    **{c: _ERR[c] for c in ("400", "403", "413", "415", "503")}}

_SILENCE: dict[str, Any] = {
    "type": "object", "required": ["id", "state", "matchers", "starts_at", "ends_at", "author", "reason",
                                   "created_at", "expired_by", "expired_at"],
    "properties": {"id": {"type": "integer"}, "state": {"type": "string", "enum": ["pending", "active", "expired"]},
                   "matchers": {"type": "array", "items": {"type": "string"}},
                   "starts_at": {"type": "string", "format": "date-time"},
                   "ends_at": {"type": "string", "format": "date-time"}, "author": {"type": "string"},
                   "reason": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"},
                   "expired_by": _NULL_STR, "expired_at": _NULL_TIME}}
_SCHEMAS["Silence"] = _SILENCE
_SCHEMAS["Silences"] = {"type": "object", "required": ["silences"], "properties": {
    "silences": {"type": "array", "items": {"$ref": "#/components/schemas/Silence"}}}}
_SCHEMAS["NewSilence"] = {
    "type": "object", "additionalProperties": False, "required": ["matchers", "by", "reason"],
    "description": "Give duration or ends_at (one of them); starts_at defaults to now",
    "properties": {"matchers": {"type": "array", "minItems": 1, "maxItems": 20,
                                "items": {"type": "string", "maxLength": 500},
                                "description": "label op value, e.g. \"county = Kisumu\", \"level =~ WATCH|WARNING\""},
                   "duration": {"type": "string", "description": "e.g. 2h, 30m, 1d"},
                   "starts_at": {"type": "string", "format": "date-time"},
                   "ends_at": {"type": "string", "format": "date-time"},
                   "by": {"type": "string", "minLength": 1, "maxLength": 100},
                   "reason": {"type": "string", "minLength": 1, "maxLength": 1000}}}
_SCHEMAS["ExpireSilence"] = {"type": "object", "additionalProperties": False, "required": ["by"],
                             "properties": {"by": {"type": "string", "minLength": 1, "maxLength": 100}}}
_SILENCE_ID = {"name": "id", "in": "path", "required": True,
               "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "EWS: early warning for election violence in Kenya", "version": __version__,
             "description": "Reports in (SMS webhooks, the web form, partners' systems), county levels, alerts "
                            "and deliveries out. Never any reporter's phone number."},
    "components": {
        "securitySchemes": {
            "apiToken": {"type": "http", "scheme": "bearer", "description": "EWS_API_TOKEN, when it is set"},
            "partnerToken": {"type": "http", "scheme": "bearer", "description": "`ews tokens create --partner NAME`"},
        },
        "schemas": _SCHEMAS,
    },
    "paths": {
        "/healthz": {"get": {"summary": "Health", "operationId": "health", "responses": {
            "200": _json("#/components/schemas/Health", "Healthy"),
            "503": _json("#/components/schemas/Health", "Database unavailable"), "400": _ERR["400"]}}},
        "/api/v1/openapi.json": {"get": {"summary": "This document", "operationId": "openapi", "responses": {
            "200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}},
            "400": _ERR["400"]}}},
        "/api/v1/counties": {"get": {"summary": "County levels", "operationId": "counties", "security": _API,
                                     "responses": {"200": _json("#/components/schemas/Counties", "All 47 counties"),
                                                   "400": _ERR["400"], "401": _ERR["401"]}}},
        "/api/v1/alerts": {"get": {
            "summary": "Alerts, newest first", "operationId": "alerts", "security": _API,
            "parameters": [_query("status", {"type": "string", "enum": ["open", "closed", "all"]}, "Which"),
                           _COUNTY, _LIMIT],
            "responses": {"200": _json("#/components/schemas/Alerts", "Alerts"), "400": _ERR["400"],
                          "401": _ERR["401"]}}},
        **{f"/api/v1/alerts/{{id}}/{verb}": {"post": {
            "summary": summary, "operationId": operation, "security": _API,
            "parameters": [{**_REPORT_ID, "description": "The alert's number (12 for A-12)"}],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/AlertAction"}}}},
            "responses": {"200": _json("#/components/schemas/AlertActionResult", "Done; the recipients are told"),
                          "409": _json(_ERROR, "The alert is resolved already"),
                          **{c: _ERR[c] for c in ("400", "401", "404", "413", "415")}}}}
          for verb, operation, summary in (
              ("ack", "acknowledgeAlert", "Acknowledge an alert (audited; its recipients are told)"),
              ("resolve", "resolveAlert", "Mark an alert handled (audited; its recipients are told; "
                                          "escalation and repeats stop)"))},
        "/api/v1/reports": {
            "get": {"summary": "Reports, newest first", "operationId": "listReports", "security": _API,
                    "parameters": [_COUNTY, _query("before", {"type": "integer", "minimum": 1,
                                                              "maximum": 2**63 - 1}, "Keyset page"), _LIMIT],
                    "responses": {"200": _json("#/components/schemas/ReportList", "Reports"), "400": _ERR["400"],
                                  "401": _ERR["401"]}},
            "post": {"summary": "Partner batch of up to 500 reports", "operationId": "submitReports",
                     "security": [{"partnerToken": []}],
                     "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                                     "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_CHARS,
                                                "pattern": "^[ -~]*[!-~][ -~]*$"},
                                     "description": "Same key and body: the first answer again. Same key, "
                                                    "other body: 409"}],
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": {"$ref": "#/components/schemas/ReportBatch"}}}},
                     "responses": {"202": _json("#/components/schemas/BatchResult", "One result per item"),
                                   **{c: _ERR[c] for c in ("400", "401", "409", "413", "415", "503")}}}},
        "/api/v1/alerts/{id}": {"get": {
            "summary": "One alert with its explanation", "operationId": "getAlert", "security": _API,
            "parameters": [{"name": "id", "in": "path", "required": True, "description": "The alert (12 or A-12)",
                            "schema": {"type": "string", "pattern": "^(A-)?[1-9][0-9]{0,17}$"}}],
            "responses": {"200": _json("#/components/schemas/Alert", "The alert"), "400": _ERR["400"],
                          "401": _ERR["401"], "404": _ERR["404"]}}},
        "/api/v1/reports/{id}": {"get": {
            "summary": "One report", "operationId": "getReport", "security": _API,
            "parameters": [_REPORT_ID],
            "responses": {"200": _json("#/components/schemas/Report", "The report"), "400": _ERR["400"],
                          "401": _ERR["401"], "404": _ERR["404"]}},
            "patch": {
                "summary": "Correct a report's place and/or review it (type, status, sensitivity; audited)",
                "operationId": "correctReport", "security": _API,
                "parameters": [_REPORT_ID],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/ReportCorrection"}}}},
                "responses": {"200": {"description": "The corrected report", "content": {"application/json": {
                    "schema": {"anyOf": [{"$ref": "#/components/schemas/Report"},
                                         {"$ref": "#/components/schemas/HiddenReport"}]}}}},
                              "409": _json(_ERROR, "duplicate_of names no other report, or no such incident"),
                              **{c: _ERR[c] for c in ("400", "401", "404", "413", "415")}}}},
        "/api/v1/deliveries": {"get": {
            "summary": "Outbound messages", "operationId": "deliveries", "security": _API,
            "parameters": [_query("status", {"type": "string", "enum": ["dead", "pending", "sent", "all"]}, "Which"),
                           _LIMIT],
            "responses": {"200": _json("#/components/schemas/Deliveries", "Deliveries"), "400": _ERR["400"],
                          "401": _ERR["401"]}}},
        "/api/v1/silences": {
            "get": {"summary": "Silences in force (state=all: ended ones too)", "operationId": "listSilences",
                    "security": _API,
                    "parameters": [_query("state", {"type": "string", "enum": ["in_force", "all"]}, "Which")],
                    "responses": {"200": _json("#/components/schemas/Silences", "Silences"), "400": _ERR["400"],
                                  "401": _ERR["401"]}},
            "post": {"summary": "Add a silence (audited)", "operationId": "addSilence", "security": _API,
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": {"$ref": "#/components/schemas/NewSilence"}}}},
                     "responses": {"201": _json("#/components/schemas/Silence", "The silence"),
                                   **{c: _ERR[c] for c in ("400", "401", "413", "415")}}}},
        "/api/v1/silences/{id}/expire": {"post": {
            "summary": "End a silence now (audited; it is never deleted)", "operationId": "expireSilence",
            "security": _API, "parameters": [_SILENCE_ID],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/ExpireSilence"}}}},
            "responses": {"200": _json("#/components/schemas/Silence", "The silence, expired"),
                          "409": _json(_ERROR, "The silence has already ended"),
                          **{c: _ERR[c] for c in ("400", "401", "404", "413", "415")}}}},
        "/ingest/twilio/sms": {"post": {
            "summary": "Twilio inbound SMS webhook (signed with X-Twilio-Signature); takes WhatsApp messages "
                       "too (a Messaging Service posts both to one URL)", "operationId": "twilioSms",
            "requestBody": _TWILIO_FORM, "responses": _TWILIO_ANSWERS}},
        "/ingest/twilio/whatsapp": {"post": {
            "summary": "Twilio inbound WhatsApp webhook (signed with X-Twilio-Signature); the same form and parser "
                       "as the SMS path, for a WhatsApp sender's webhook setting", "operationId": "twilioWhatsApp",
            "requestBody": _TWILIO_FORM, "responses": _TWILIO_ANSWERS}},
        "/ingest/twilio/status": {"post": {
            "summary": "Twilio status callback (signed with X-Twilio-Signature): moves a delivery forward only",
            "operationId": "twilioStatus",
            "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
                "type": "object", "required": ["MessageSid", "MessageStatus"], **_FORM_FIELDS,
                "properties": {"MessageSid": {"type": "string", "pattern": "^[!-~]{1,64}$"},
                               "MessageStatus": {"type": "string", "enum": [
                                   "accepted", "scheduled", "queued", "sending", "sent", "partially_delivered",
                                   "delivered", "undelivered", "failed", "canceled", "read"]},
                               "ErrorCode": {"type": "string", "pattern": "^[0-9]{0,10}$"}}}}}},
            "responses": {"200": {"description": "Applied (or nothing to do)"},
                          **{c: _ERR[c] for c in ("400", "403", "413", "415", "503")}}}},
        "/report": {
            "get": {"summary": "The web form (HTML, English or Swahili)", "operationId": "reportForm",
                    "parameters": [_query("lang", {"type": "string"}, "'sw' for Swahili; anything else is English")],
                    "responses": {"200": {"description": "The form", "content": _HTML}}},
            "post": {"summary": "Send the web form", "operationId": "submitForm",
                     "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
                         "type": "object", "required": ["csrf", "county", "body"], **_FORM_FIELDS,
                         "properties": {name: _NO_NUL for name in (
                             "csrf", "lang", "county", "place", "incident_type", "date", "time", "body")}}}}},
                     "responses": {
                         "200": {"description": "Thank-you page with the reference", "content": _HTML},
                         "400": {"description": "The form again, errors beside the fields (HTML); or a body that "
                                 "is no form at all (JSON error)", "content": {
                                     **_HTML, "application/json": {"schema": {"$ref": _ERROR}}}},
                         "403": {"description": "CSRF token missing or wrong", "content": _HTML},
                         "429": {"description": "Rate limit", "content": _HTML},
                         "503": {"description": "Not stored; send again", "content": _HTML},
                         "413": _ERR["413"], "415": _ERR["415"]}}},
    },
}
