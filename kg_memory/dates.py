"""Dates written as ISO strings, as the formats store them (session ``date_time``).

>>> iso_date("2023-05-08T13:56:00"), iso_date("2023-05-08"), iso_date("May 8"), iso_date(None)
(datetime.date(2023, 5, 8), datetime.date(2023, 5, 8), None, None)
"""

from __future__ import annotations

from datetime import date, datetime


def iso_date(iso: str | None) -> date | None:
    """The date of an ISO date or date-time string (``None``: empty, or not ISO)."""
    if not iso:
        return None
    try:
        return datetime.fromisoformat(iso).date()
    except ValueError:
        return None
