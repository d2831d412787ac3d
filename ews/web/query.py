"""One validator for every query parameter of every route: a small declarative spec per route.

A route's spec is a frozen dataclass whose fields are its parameters, each made with `param(parser)`.
`read_query` refuses unknown and repeated parameters and runs each parser, so a handler only ever sees
typed, in-range values and every bad request gets a 400 that says what is wrong.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Awaitable, Callable, Collection
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web
from multidict import MultiMapping

from ews.db.repo.views import UNPLACED, CountyFilter
from rules.gazetteer import COUNTIES, county_by_name

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Q = TypeVar("Q", bound="DataclassInstance")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
QueryHandler = Callable[[web.Request, Any], Awaitable[web.StreamResponse]]

_MAX_NAME_SHOWN = 40  # an unknown parameter's name is echoed back, cut to this length


class QueryError(ValueError):
    """A query string the route does not accept; the message is the client's answer."""


def param(parse: Callable[[str], Any], default: Any = None) -> Any:
    """A spec field read by `parse` (which raises ValueError saying what the value must be)."""
    return dataclasses.field(default=default, metadata={"parse": parse})


def integer(low: int, high: int) -> Callable[[str], int]:
    """A parser for a decimal integer from `low` to `high`, in ASCII digits only."""
    message = f"must be an integer from {low} to {high}"
    longest = len(str(high))

    def parse(raw: str) -> int:
        # ASCII digits only: str.isdigit() and int() also take '²', '٤' or ' 4', and differ among themselves.
        if not re.fullmatch(rf"[0-9]{{1,{longest}}}", raw) or not low <= int(raw) <= high:
            raise ValueError(message)
        return int(raw)

    return parse


def choice(*allowed: str) -> Callable[[str], str]:
    """A parser for one of a few words."""
    message = "must be " + ", ".join(allowed[:-1]) + " or " + allowed[-1]

    def parse(raw: str) -> str:
        if raw not in allowed:
            raise ValueError(message)
        return raw

    return parse


def county_filter(raw: str) -> CountyFilter:
    """A county by code (1-47) or by name in any case, or "none" for reports placed in no county."""
    if raw.casefold() == UNPLACED:
        return UNPLACED
    if re.fullmatch("[0-9]{1,3}", raw):  # codes are also written with leading zeros: 042
        if 1 <= int(raw) <= len(COUNTIES):
            return int(raw)
    elif (county := county_by_name(raw)) is not None:
        return county.code
    raise ValueError("must be a county code from 1 to 47, a county name (e.g. Kisumu, Homa Bay) or none")


def read_query(query: MultiMapping[str], spec: type[Q]) -> Q:
    """The spec filled from `query`; QueryError for unknown, repeated or bad parameters."""
    fields = {f.name: f for f in dataclasses.fields(spec)}
    unknown = sorted({name for name in query if name not in fields})
    if unknown:
        shown = ", ".join(json.dumps(name[:_MAX_NAME_SHOWN], ensure_ascii=False) for name in unknown[:5])
        takes = ", ".join(fields) or "no parameters"
        raise QueryError(f"unknown query parameter(s): {shown}; this route takes {takes}")
    values: dict[str, Any] = {}
    for name, field in fields.items():
        given = query.getall(name, [])
        if len(given) > 1:
            raise QueryError(f"{name} is given {len(given)} times; give it once")
        if given and given[0] != "":  # an empty value is the same as leaving the parameter out
            try:
                values[name] = field.metadata["parse"](given[0])
            except ValueError as exc:
                raise QueryError(f"{name} {exc}") from None
    return spec(**values)


_SPECS: dict[Callable[..., Any], type[Any]] = {}


def with_query(spec: type[Q]) -> Callable[[Callable[[web.Request, Q], Awaitable[web.StreamResponse]]], Handler]:
    """Decorate a handler taking (request, query) so it gets its spec filled, or the client a 400."""

    def decorate(handler: Callable[[web.Request, Q], Awaitable[web.StreamResponse]]) -> Handler:
        @functools.wraps(handler)
        async def read(request: web.Request) -> web.StreamResponse:
            try:
                query = read_query(request.query, spec)
            except QueryError as exc:
                return web.json_response({"error": str(exc)}, status=400)
            return await handler(request, query)

        _SPECS[read] = spec
        return read

    return decorate


def query_spec_of(handler: Callable[..., Any]) -> type[Any] | None:
    """The spec a route's handler reads its query with, looking through decorators; None if it has none."""
    seen: Any = handler
    while seen is not None:
        if seen in _SPECS:
            return _SPECS[seen]
        seen = getattr(seen, "__wrapped__", None)
    return None


def parameter_names(spec: type[Any]) -> Collection[str]:
    """The parameters a spec takes."""
    return [f.name for f in dataclasses.fields(spec)]
