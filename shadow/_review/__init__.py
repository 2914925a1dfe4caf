"""Divergence review: stream shadow logs, group events into problems, write reports.

Generic on purpose (never imports ``runners``): it reads only the event schema of
``docs/events.md``.  The reports (:mod:`shadow._review.report`) need no plotting library.
"""

from shadow._review.groups import Group, OpStats, Reproducer, Review, ReviewBuilder, review_logs
from shadow._review.reader import LogEvent, ReadStats, ReadSummary, iter_events

__all__ = [
    "Group",
    "LogEvent",
    "OpStats",
    "ReadStats",
    "ReadSummary",
    "Reproducer",
    "Review",
    "ReviewBuilder",
    "iter_events",
    "review_logs",
]
