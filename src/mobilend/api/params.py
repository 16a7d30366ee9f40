"""Dates and times in paths and query strings, read strictly.

pydantic's lax parsing reads ``0`` as 1970-01-01 and a bare number as a Unix time; the
schema promises ISO 8601 only, so anything else is a 422 naming the parameter."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import BeforeValidator

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?")


def iso_day(value: object) -> object:
    if isinstance(value, str) and not _DAY.fullmatch(value):
        raise ValueError("a date is written YYYY-MM-DD")
    return value


def iso_moment(value: object) -> object:
    if isinstance(value, str) and not _MOMENT.fullmatch(value):
        raise ValueError("a time is written YYYY-MM-DDTHH:MM:SS with an optional offset")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(iso_day)]
IsoDateTime = Annotated[dt.datetime, BeforeValidator(iso_moment)]
