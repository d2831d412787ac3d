"""Strict reading of application/x-www-form-urlencoded bodies sent by gateways."""

from __future__ import annotations

from urllib.parse import parse_qsl

from aiohttp import web
from multidict import MultiDict

from ingest.base import Rejected

MAX_FORM_BYTES = 64 * 1024


async def read_form(request: web.Request, *, max_bytes: int = MAX_FORM_BYTES) -> tuple[MultiDict[str], bytes]:
    """The form fields and raw body; 413 if too large, 415 if not a form, 400 if not UTF-8."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise Rejected(413, f"request body over {max_bytes} bytes")
    content_type = request.content_type
    if content_type not in ("application/x-www-form-urlencoded", "application/octet-stream", ""):
        raise Rejected(415, f"expected application/x-www-form-urlencoded, got {content_type}")
    raw = bytearray()
    async for chunk in request.content.iter_chunked(16 * 1024):
        raw.extend(chunk)
        if len(raw) > max_bytes:  # chunked uploads have no Content-Length to check up front
            raise Rejected(413, f"request body over {max_bytes} bytes")
    charset = (request.charset or "utf-8").lower()
    try:
        text = bytes(raw).decode("ascii")  # a form body is percent-encoded ASCII by definition
        pairs = parse_qsl(text, keep_blank_values=True, encoding=charset, errors="strict")
    except (UnicodeDecodeError, LookupError):
        raise Rejected(400, f"form body is not valid percent-encoded {charset}") from None
    for key, value in pairs:
        if "\x00" in key or "\x00" in value:
            raise Rejected(400, f"field {key!r} contains a NUL character")
    return MultiDict(pairs), bytes(raw)
