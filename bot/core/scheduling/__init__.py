"""The shared upstream limiter and fair queue, one job per module (no discord import):

- ``admission``: per-member cap on jobs queued or running, and refusing new jobs while stopping;
- ``fair_queue``: round-robin order between members, O(log n) per change;
- ``rate_window``: the account's images per rolling window, and pauses after a 429;
- ``member_share``: each member's share of that window, so one backlog can't take all of it;
- ``progress``: showing a waiting job its place at a bounded cost in Discord edits;
- ``scheduler``: the dispatcher that hands the head of the queue its turn when capacity allows;
- ``shared``: the same for one process of several, whose window, pauses and turns are shared.
"""

from .errors import JobCancelled, ShuttingDown, TooManyJobs
from .progress import PositionCallback
from .scheduler import Scheduler, Ticket
from .shared import SharedScheduler, TurnSource, member_key

__all__ = [
    "JobCancelled",
    "PositionCallback",
    "Scheduler",
    "SharedScheduler",
    "ShuttingDown",
    "Ticket",
    "TooManyJobs",
    "TurnSource",
    "member_key",
]
