"""The secret `token` query parameter that authenticates Africa's Talking callbacks (AT signs nothing)."""

from __future__ import annotations

import hmac

from aiohttp import web


class CallbackToken:
    """A callback URL's secret, compared in constant time."""

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("an Africa's Talking channel needs EWS_AT_CALLBACK_TOKEN")
        self._token = token.encode()

    def checks(self, request: web.Request) -> bool:
        """Whether the request carries exactly one `token` and it is ours."""
        given = request.query.getall("token", [])
        return len(given) == 1 and hmac.compare_digest(given[0].encode(), self._token)
