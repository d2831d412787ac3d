"""Reading the rows of a people file (responders, monitors) given as CSV or TOML, before each is checked."""

from __future__ import annotations

import csv
import io
import tomllib
from typing import Any


def read_rows(text: str, *, fmt: str, table: str, error: type[ValueError]) -> list[dict[str, Any]]:
    """The rows of a CSV file (header line first) or of a TOML file's `[[table]]` entries; `error` on a
    malformed file, an unknown format or no rows at all."""
    if fmt == "csv":
        rows: list[dict[str, Any]] = list(csv.DictReader(io.StringIO(text)))
    elif fmt == "toml":
        try:
            rows = list(tomllib.loads(text).get(table, []))
        except tomllib.TOMLDecodeError as exc:
            raise error(f"not valid TOML: {exc}") from exc
    else:
        raise error(f"unknown format {fmt!r}; use .csv or .toml")
    if not rows:
        raise error(f"no {table}s in the file")
    return rows
