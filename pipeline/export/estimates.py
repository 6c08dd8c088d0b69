"""Good-faith estimates: one patient-facing document (HTML, print-ready, and Markdown) per
``patient_estimates`` row, written beside the table (``exports/good_faith_estimates/``).

Template ``mappings/templates/good_faith_estimate.html.j2`` (DOMAIN.md §9.5); the Markdown
copy is made from the HTML, as for the letters. Context:
``estimate`` (the table row), ``services`` (code, description, expected charge),
``patient`` (name, birth date) and ``provider`` (rendering clinician) when the practice model
is given, ``practice`` (letterhead facts), ``as_of`` (the date the estimate is issued),
``dispute_threshold`` (the $400 of patient-provider dispute resolution).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import TemplateError

from pipeline.errors import ConfigError
from pipeline.export.letters import html_to_markdown, write_file
from pipeline.export.templating import environment
from pipeline.reconcile.reference import FeeSchedule

__all__ = ["DISPUTE_THRESHOLD", "GFE_FOLDER", "render_estimates"]

GFE_FOLDER = "good_faith_estimates"
DISPUTE_THRESHOLD = Decimal("400")
TEMPLATE = "good_faith_estimate.html.j2"


def render_estimates(
    result: Any,
    out_dir: Path,
    *,
    fees: FeeSchedule,
    practice: Any = None,
    issued: date | None = None,
    templates: Path | None = None,
) -> list[Path]:
    """Write ``GFE-<appointment_id>.html`` and ``.md`` per estimate; returns the paths.

    ``issued``: the date on the estimate (the business date; default ``result.as_of``).
    """
    frame = result.tables.get("patient_estimates")
    if frame is None or not len(frame):
        return []
    env = environment(templates)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    # by id once: a scan of every appointment per estimate grows with the square of the night
    appointments: dict[Any, Any] = {}
    for appointment in practice.appointments if practice is not None else ():
        appointments.setdefault(appointment.appointment_id, appointment)  # the first, as before
    try:
        template = env.get_template(TEMPLATE)
    except TemplateError as exc:
        raise ConfigError(f"mappings/templates/{TEMPLATE}: {exc}") from exc
    for row in frame.to_dict("records"):
        context = _context(
            row, fees, practice, appointments, result.practice, issued or result.as_of
        )
        stem = "GFE-" + _safe(str(row["appointment_id"]))
        try:
            html = template.render(**context)
        except TemplateError as exc:
            raise ConfigError(f"mappings/templates/{TEMPLATE}: {exc}") from exc
        for ext, text in (("html", html), ("md", html_to_markdown(html))):
            path = out_dir / f"{stem}.{ext}"
            write_file(path, text)
            written.append(path)
    return written


def _context(
    row: Mapping[str, Any],
    fees: FeeSchedule,
    practice: Any,
    appointments: Mapping[Any, Any],
    letterhead: Mapping[str, str],
    as_of: date,
) -> dict[str, Any]:
    codes = str(row.get("procedure_codes") or "").split()
    services = [
        {"code": c, "description": fees.descriptions.get(c, ""), "charge": fees.charge(c)}
        for c in codes
    ]
    patient = provider = None
    if practice is not None:
        person = practice.patients.get(str(row.get("patient_id")))
        if person is not None:
            patient = {"name": f"{person.first_name} {person.last_name}", "dob": person.dob}
        appointment = appointments.get(row.get("appointment_id"))
        clinician = practice.providers.get(appointment.provider_id) if appointment else None
        if clinician is not None:
            provider = {"name": f"{clinician.first_name} {clinician.last_name}".strip()}
    return {
        "estimate": dict(row),
        "services": services,
        "patient": patient,
        "provider": provider,
        "practice": dict(letterhead),
        "as_of": as_of,
        "dispute_threshold": DISPUTE_THRESHOLD,
    }


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)
