"""A process-local hook the demo sets to show which stage the nightly flow is in (Rich)."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["set_hook", "stage"]

_hook: Callable[[str], None] | None = None


def set_hook(hook: Callable[[str], None] | None) -> None:
    global _hook
    _hook = hook


def stage(name: str) -> None:
    if _hook is not None:
        _hook(name)
