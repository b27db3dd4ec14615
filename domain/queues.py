"""Work queues: open incidents in the order their SLAs need attention. Pure: which clock is
nearest to breaching, and how long is left, in seconds and in words."""

from __future__ import annotations

from datetime import datetime

from domain.models import IncidentFields, SlaClock


def nearest_breach(incident: IncidentFields) -> SlaClock | None:
    """The running clock (response or resolution) due first; None when every clock is paused
    or stopped. A breached clock keeps its past due time, so it sorts before the others."""
    running = [
        clock
        for clock in (incident.response_sla, incident.resolution_sla)
        if clock.due_at is not None and clock.stopped_at is None and clock.paused_since is None
    ]
    return min(running, key=lambda clock: clock.due_at or datetime.max, default=None)


def remaining_text(seconds: float) -> str:
    """`2h 05m`, `3d 4h`, `45s`; past the due time: `overdue 12m`."""
    left = abs(int(seconds))
    days, rest = divmod(left, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        text = f"{days}d {hours}h"
    elif hours:
        text = f"{hours}h {minutes:02d}m"
    elif minutes:
        text = f"{minutes}m"
    else:
        text = f"{secs}s"
    return f"overdue {text}" if seconds < 0 else text
