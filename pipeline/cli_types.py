"""Typed command-line values and readable ``--help`` for every ``claimflow`` command.

Dates are parsed here (``YYYY-MM-DD`` only: ``20261201`` is not silently read as a timestamp),
so a bad date is a usage error before any command runs. :func:`readable_help` replaces
Typer's type labels (``<bool>``, ``<list[Path]>``, ``<str>``) with plain metavars: nothing for
a flag, ``YYYY-MM-DD`` for a date, ``PATH``, ``TEXT``, ``INTEGER`` or the choices.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Any, get_args

import typer

__all__ = ["DATE_METAVAR", "parse_date", "readable_help"]

DATE_METAVAR = "YYYY-MM-DD"


def parse_date(text: str | date) -> date:
    """An ISO calendar date, ``YYYY-MM-DD``; anything else is a usage error."""
    if isinstance(text, date):
        return text
    try:
        if len(text) != len("2026-01-31"):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date ({DATE_METAVAR})") from None


_LABELS: dict[Any, str] = {
    str: "TEXT",
    int: "INTEGER",
    float: "NUMBER",
    date: DATE_METAVAR,
    Path: "PATH",
}


def _label(param: Any) -> str:
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return ""  # a flag takes no value
    if getattr(param, "metavar", None):
        return str(param.metavar)
    desc = getattr(param, "type_descriptor", None)
    if desc is None:
        return ""
    if desc.is_choice:
        return "|".join(str(c.value if isinstance(c, Enum) else c) for c in desc.choices or ())
    annotation = desc.annotation
    many = desc.is_list
    if many:
        annotation = get_args(annotation)[0]
    if desc.is_path:
        label = "PATH"
    elif getattr(param.type_descriptor.parameter_info, "parser", None) is parse_date:
        label = DATE_METAVAR
    else:
        label = _LABELS.get(annotation, "VALUE")
    return f"{label}..." if many else label


def _commands(command: Any) -> Iterator[Any]:
    yield command
    for sub in getattr(command, "commands", {}).values():
        yield from _commands(sub)


def readable_help(command: Any) -> Any:
    """Give every parameter of ``command`` and its sub-commands a plain help label."""
    for cmd in _commands(command):
        ctx = cmd.context_class(cmd, info_name=cmd.name)
        for param in cmd.get_params(ctx):  # includes the (cached) --help option
            label = _label(param)
            # Typer shows type_descriptor labels for arguments even with a metavar: the
            # display hook is the one place both options and arguments read.
            setattr(param, "display_type_rich", lambda ctx, label=label: label or None)  # noqa: B010
    return command
