"""How old something the console read is, in words. Pure functions."""

from __future__ import annotations

from datetime import datetime


def listing_age(listed_at: datetime, now: datetime) -> str:
    """e.g. "listed just now", "listed 12 s ago", "listed 3 min ago" (with the UTC time)."""
    seconds = max(0, int((now - listed_at).total_seconds()))
    at = f"{listed_at:%H:%M:%S} UTC"
    if seconds < 2:
        return f"listed just now ({at})"
    if seconds < 120:
        return f"listed {seconds} s ago ({at})"
    return f"listed {seconds // 60} min ago ({at})"
