"""Retry with exponential backoff — only errors marked transient, never terminal ones."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from pipeline.errors import is_transient

__all__ = ["RetryPolicy", "retry"]

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``attempts`` calls in all; waits ``initial_delay * multiplier**n`` capped at ``max_delay``.

    ``jitter`` is the fraction of each wait drawn at random so that several workers that lost
    the same link do not reconnect in lockstep.
    """

    attempts: int = 5
    initial_delay: float = 1.0
    max_delay: float = 60.0
    multiplier: float = 2.0
    jitter: float = 0.1

    def delay(self, attempt: int) -> float:
        """Wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        base = min(self.max_delay, self.initial_delay * self.multiplier ** (attempt - 1))
        return base * (1 - self.jitter * random.random())


def retry(
    action: Callable[[], T],
    policy: RetryPolicy,
    what: str,
    *,
    on_retry: Callable[[BaseException], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``action`` until it succeeds, a terminal error escapes, or attempts run out.

    ``on_retry`` runs after each transient failure (e.g. drop the broken connection).
    ``what`` names the operation in the log; it must not carry secrets or PHI.
    """
    attempt = 1
    while True:
        try:
            return action()
        except Exception as exc:
            if not is_transient(exc) or attempt >= policy.attempts:
                raise
            if on_retry is not None:
                on_retry(exc)
            wait = policy.delay(attempt)
            log.warning(
                "%s: attempt %d/%d failed (%s); retrying in %.2fs",
                what,
                attempt,
                policy.attempts,
                exc,
                wait,
            )
            sleep(wait)
            attempt += 1
