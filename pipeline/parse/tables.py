"""Records -> the DESIGN.md tables (pandas DataFrames, CSV, Parquet).

Every table starts with the columns DESIGN.md fixes, in that order, then extra columns
(source file, segment numbers, code texts...). Amounts stay ``Decimal`` objects in the
DataFrames and are written as decimal strings in CSV and as ``decimal128(38, 10)`` in
Parquet; empty values are ``None`` (an empty CSV cell). List-valued cells (modifiers,
remark codes, service types, additional statuses) are comma-separated strings.

pandas and pyarrow are imported inside the functions that need them, so the typed
records stay usable without them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pipeline.parse.t271 import EligibilityBenefit, EligibilitySummary
from pipeline.parse.t277 import ClaimStatus
from pipeline.parse.t277ca import ClaimAcknowledgment
from pipeline.parse.t835 import (
    ROW_COLUMNS,
    RemitClaim,
    RemitPayment,
    RemitProviderAdjustment,
)
from pipeline.parse.t999 import AckTransaction
from pipeline.parse.ta1 import AckInterchange
from pipeline.x12.problems import PROBLEM_COLUMNS, Problem

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "COLUMNS",
    "DECIMAL_COLUMNS",
    "KIND_TABLES",
    "RowSink",
    "TableBuilder",
    "TableWriter",
    "arrow_table",
    "empty_frame",
]

_D, _I, _B = "decimal", "int", "bool"

# table -> [(column, type)]; type "" is a string.
_SPEC: dict[str, list[tuple[str, str]]] = {
    "remit_payments": [
        ("source_file", ""), ("interchange_control_number", ""),
        ("transaction_control_number", ""), ("payer_name", ""), ("payer_id", ""),
        ("payee_name", ""), ("payee_npi", ""), ("payment_method", ""), ("credit_debit", ""),
        ("payment_amount", _D), ("payment_date", ""), ("trace_number", ""),
        ("group_control_number", ""), ("payee_tax_id", ""), ("handling_code", ""),
        ("originator_id", ""), ("production_date", ""), ("claim_count", _I),
        ("total_paid", _D), ("provider_adjustment_total", _D),
    ],
    "remit_claims": [
        ("claim_key", ""), ("trace_number", ""), ("patient_control_number", ""),
        ("claim_status_code", ""), ("charge_amount", _D), ("paid_amount", _D),
        ("patient_responsibility", _D), ("claim_filing_indicator", ""),
        ("payer_claim_control_number", ""), ("place_of_service", ""), ("frequency_code", ""),
        ("patient_last_name", ""), ("patient_first_name", ""), ("patient_member_id", ""),
        ("service_date_start", ""), ("service_date_end", ""), ("reversal_of_claim_key", ""),
        ("corrected_by_claim_key", ""), ("source_file", ""),
        ("transaction_control_number", ""), ("insured_last_name", ""),
        ("insured_first_name", ""), ("insured_member_id", ""), ("corrected_last_name", ""),
        ("corrected_first_name", ""), ("corrected_member_id", ""),
        ("rendering_provider_id", ""), ("received_date", ""), ("remark_codes", ""),
        ("interest_amount", _D), ("segment_number", _I),
    ],
    "remit_service_lines": [
        ("claim_key", ""), ("line_number", _I), ("line_control_number", ""),
        ("procedure_code", ""), ("modifiers", ""), ("charge_amount", _D), ("paid_amount", _D),
        ("allowed_amount", _D), ("units", _D), ("service_date", ""),
        ("original_procedure_code", ""), ("remark_codes", ""), ("procedure_qualifier", ""),
        ("revenue_code", ""), ("original_modifiers", ""), ("original_units", _D),
        ("service_date_end", ""), ("segment_number", _I),
    ],
    "remit_adjustments": [
        ("claim_key", ""), ("line_control_number", ""), ("level", ""), ("group_code", ""),
        ("reason_code", ""), ("amount", _D), ("quantity", _D), ("line_number", _I),
    ],
    "remit_provider_adjustments": [
        ("trace_number", ""), ("provider_id", ""), ("fiscal_period_date", ""),
        ("reason_code", ""), ("reference_id", ""), ("amount", _D), ("source_file", ""),
        ("transaction_control_number", ""),
    ],
    "eligibility_benefits": [
        ("trace_number", ""), ("member_id", ""), ("last_name", ""), ("first_name", ""),
        ("benefit_code", ""), ("coverage_level", ""), ("service_types", ""),
        ("insurance_type", ""), ("plan_description", ""), ("time_period", ""),
        ("amount", _D), ("percent", _D), ("quantity_qualifier", ""), ("quantity", _D),
        ("authorization_required", ""), ("in_network", ""), ("messages", ""),
        ("source_file", ""), ("transaction_control_number", ""), ("member_level", ""),
        ("benefit_text", ""), ("procedure_code", ""), ("segment_number", _I),
        ("places_of_service", ""), ("related_entities", ""),
    ],
    "eligibility_summary": [
        ("trace_number", ""), ("member_id", ""), ("last_name", ""), ("first_name", ""),
        ("coverage_status", ""), ("reject_reason_code", ""), ("reject_reason", ""),
        ("follow_up_action", ""), ("plan_description", ""), ("in_network_deductible", _D),
        ("in_network_deductible_remaining", _D), ("out_of_network_deductible", _D),
        ("out_of_network_deductible_remaining", _D), ("in_network_oop_max", _D),
        ("in_network_oop_remaining", _D), ("out_of_network_oop_max", _D),
        ("out_of_network_oop_remaining", _D), ("in_network_coinsurance", _D),
        ("out_of_network_coinsurance", _D), ("office_visit_copay", _D),
        ("prior_auth_required", _B), ("source_file", ""), ("transaction_control_number", ""),
        ("member_level", ""), ("payer_name", ""), ("payer_id", ""),
        ("follow_up_action_code", ""), ("insurance_type", ""),
        ("out_of_network_office_visit_copay", _D), ("benefit_count", _I),
        ("in_network_coverage", ""), ("out_of_network_coverage", ""),
        ("out_of_network_service_types", ""), ("in_network_copays", ""),
        ("out_of_network_copays", ""), ("prior_auth_services", ""), ("prior_auth_contact", ""),
        ("plan_begin", ""), ("plan_end", ""), ("eligibility_begin", ""), ("eligibility_end", ""),
    ],
    "ack_transactions": [
        ("source_file", ""), ("group_control_number", ""), ("transaction_set_id", ""),
        ("transaction_control_number", ""), ("status", ""), ("error_segment", ""),
        ("error_element", ""), ("error_code", ""), ("error_text", ""),
        ("ack_control_number", ""), ("functional_id", ""), ("implementation", ""),
        ("status_code", ""), ("segment_position", ""), ("loop_id", ""),
        ("element_reference", ""), ("bad_value", ""), ("patient_control_number", ""),
        ("context", ""), ("set_error_codes", ""), ("group_status", ""),
    ],
    "ack_interchanges": [
        ("interchange_control_number", ""), ("status", ""), ("note_code", ""),
        ("note_text", ""), ("source_file", ""), ("ack_interchange_control_number", ""),
        ("interchange_date", ""), ("interchange_time", ""), ("status_code", ""),
        ("segment_number", _I),
    ],
    "claim_acknowledgments": [
        ("patient_control_number", ""), ("payer_claim_control_number", ""),
        ("status_category", ""), ("status_code", ""), ("entity_code", ""), ("status", ""),
        ("status_text", ""), ("charge_amount", _D), ("service_date", ""), ("source_file", ""),
        ("transaction_control_number", ""), ("clearinghouse_trace_number", ""),
        ("action_code", ""), ("status_date", ""), ("service_date_end", ""), ("message", ""),
        ("additional_statuses", ""), ("line_count", _I), ("rejected_line_count", _I),
        ("patient_last_name", ""), ("patient_first_name", ""), ("patient_member_id", ""),
        ("billing_provider_id", ""), ("acknowledged_by", ""), ("acknowledged_by_name", ""),
    ],
    "claim_statuses": [
        ("patient_control_number", ""), ("trace_number", ""), ("payer_claim_control_number", ""),
        ("status_category", ""), ("status_code", ""), ("entity_code", ""), ("status", ""),
        ("status_text", ""), ("status_date", ""), ("charge_amount", _D), ("paid_amount", _D),
        ("adjudication_date", ""), ("payment_date", ""), ("check_number", ""),
        ("service_date", ""), ("service_date_end", ""), ("level", ""),
        ("additional_statuses", ""), ("line_count", _I), ("clearinghouse_trace_number", ""),
        ("patient_last_name", ""), ("patient_first_name", ""), ("patient_member_id", ""),
        ("billing_provider_id", ""), ("acknowledged_by_name", ""), ("source_file", ""),
        ("transaction_control_number", ""), ("segment_number", _I),
    ],
    "problems": [
        *((c, "") for c in PROBLEM_COLUMNS),
        ("segment_number", _I), ("segment_id", ""), ("loop", ""), ("element", ""),
        ("severity", ""),
    ],
}  # fmt: skip

COLUMNS: dict[str, list[str]] = {t: [c for c, _ in spec] for t, spec in _SPEC.items()}
DECIMAL_COLUMNS: dict[str, list[str]] = {
    t: [c for c, kind in spec if kind == _D] for t, spec in _SPEC.items()
}
KIND_TABLES: dict[str, tuple[str, ...]] = {
    "835": ("remit_payments", "remit_claims", "remit_service_lines", "remit_adjustments",
            "remit_provider_adjustments"),
    "271": ("eligibility_benefits", "eligibility_summary"),
    "999": ("ack_transactions",),
    "TA1": ("ack_interchanges",),
    "277CA": ("claim_acknowledgments",),
    "277": ("claim_statuses",),
}  # fmt: skip

_SIMPLE: dict[type, str] = {
    RemitPayment: "remit_payments",
    RemitProviderAdjustment: "remit_provider_adjustments",
    EligibilityBenefit: "eligibility_benefits",
    EligibilitySummary: "eligibility_summary",
    AckTransaction: "ack_transactions",
    AckInterchange: "ack_interchanges",
    ClaimAcknowledgment: "claim_acknowledgments",
    ClaimStatus: "claim_statuses",
    Problem: "problems",
}
_GET = {t: attrgetter(*cols) for t, cols in COLUMNS.items()}
if any(COLUMNS[t] != list(cols) for t, cols in ROW_COLUMNS.items()):  # pragma: no cover
    raise RuntimeError("t835.ROW_COLUMNS differs from the remit table columns")


class RowSink(Protocol):
    """Where a :class:`TableBuilder` drains its rows (a :class:`TableWriter`, a spool)."""

    def write(self, table: str, rows: list[Any]) -> None: ...


class TableBuilder:
    """Collects records as row tuples per table; hands them out as DataFrames or chunks.

    It is also a :class:`~pipeline.parse.t835.RemitSink`: the 835 parser hands it claim,
    line and adjustment rows directly (no record objects in between).
    """

    def __init__(self) -> None:
        self.rows: dict[str, list[Any]] = {t: [] for t in COLUMNS}
        self.claims = 0

    def add_all(self, records: Iterable[object]) -> None:
        """:meth:`add` for each record (inlined: a 271 yields a record per EB)."""
        rows, simple = self.rows, _SIMPLE
        for record in records:
            kind = type(record)
            if kind is RemitClaim:
                self._claim(record)  # type: ignore[arg-type]
                continue
            table = simple.get(kind)
            if table is not None:
                self.claims += 1
                rows[table].append(_GET[table](record))

    def add(self, record: object) -> None:
        if type(record) is RemitClaim:
            self._claim(record)
            return
        table = _SIMPLE.get(type(record))
        if table is not None:
            self.claims += 1  # every record counts towards a chunk (a 999 has no claims)
            self.rows[table].append(_GET[table](record))

    def _claim(self, claim: RemitClaim) -> None:
        self.claims += 1
        self.rows["remit_claims"].append(_GET["remit_claims"](claim))
        adjustments, lines = self.rows["remit_adjustments"], self.rows["remit_service_lines"]
        get_adj, get_line = _GET["remit_adjustments"], _GET["remit_service_lines"]
        adjustments.extend(map(get_adj, claim.adjustments))
        for line in claim.lines:
            lines.append(get_line(line))
            adjustments.extend(map(get_adj, line.adjustments))

    # -- RemitSink ------------------------------------------------------------------
    def claim(
        self,
        claim: list[Any],
        adjustments: list[list[Any]],
        lines: list[list[Any]],
        line_adjustments: list[list[list[Any]]],
    ) -> None:
        self.claims += 1
        rows = self.rows
        rows["remit_claims"].append(claim)
        table = rows["remit_adjustments"]
        table.extend(adjustments)
        if len(lines) == 1:
            rows["remit_service_lines"].append(lines[0])
            table.extend(line_adjustments[0])
        elif lines:
            rows["remit_service_lines"].extend(lines)
            for adjusted in line_adjustments:
                table.extend(adjusted)

    def provider_adjustment(self, record: RemitProviderAdjustment) -> None:
        self.rows["remit_provider_adjustments"].append(_GET["remit_provider_adjustments"](record))

    def payment(self, record: RemitPayment) -> None:
        self.rows["remit_payments"].append(_GET["remit_payments"](record))

    def take(self, table: str) -> list[Any]:
        """The rows collected so far for ``table`` (and forget them)."""
        rows = self.rows[table]
        self.rows[table] = []
        return rows

    def drain(self, sink: RowSink) -> None:
        """Hand every table's rows collected so far to ``sink`` and start the next chunk."""
        self.claims = 0
        for table in COLUMNS:
            rows = self.take(table)
            if rows:
                sink.write(table, rows)

    def frames(self, tables: Iterable[str]) -> dict[str, pd.DataFrame]:
        return {t: to_frame(t, self.take(t)) for t in tables}


def to_frame(table: str, rows: list[Any]) -> pd.DataFrame:
    """Row lists or tuples of ``table`` as a DataFrame with its columns (Decimals kept as
    objects, integer columns ``Int64``, booleans Python ``True``/``False``/``None``)."""
    import numpy as np
    import pandas as pd

    width = len(COLUMNS[table])
    # One object matrix, then a column view per column: no per-column type inference
    # (the types are known) and no block splitting when the integer columns are typed.
    matrix = _object_matrix(rows, width) if rows else np.empty((0, width), dtype=object)
    data: dict[str, Any] = {}
    for index, (column, kind) in enumerate(_SPEC[table]):
        values = matrix[:, index]
        if kind == _I:
            data[column] = _nullable_ints(values)
        elif kind == _B:
            # Python True/False/None, not numpy bools (``is True`` must hold).
            data[column] = pd.Series([None if v is None else bool(v) for v in values], dtype=object)
        else:
            data[column] = values
    return pd.DataFrame(data, copy=False)


def _object_matrix(rows: list[Any], width: int) -> Any:
    """rows x columns object ndarray, through pandas' C converters when it has them."""
    import numpy as np

    try:
        from pandas._libs import lib

        # Not in pandas' stubs; pinned by uv.lock, and the fallback covers their absence.
        if type(rows[0]) is list:
            return lib.to_object_array(rows, min_width=width)  # type: ignore[attr-defined]
        return lib.to_object_array_tuples(rows)  # type: ignore[attr-defined]
    except (ImportError, AttributeError, TypeError):  # other pandas builds: the slow, sure way
        matrix = np.empty((len(rows), width), dtype=object)
        for i, row in enumerate(rows):
            matrix[i, :] = list(row)
        return matrix


def _nullable_ints(values: Any) -> Any:
    import numpy as np
    import pandas as pd

    missing = pd.isna(values)
    return pd.arrays.IntegerArray(np.where(missing, 0, values).astype(np.int64), missing)


def empty_frame(table: str) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({c: pd.Series([], dtype=object) for c in COLUMNS[table]})


@cache
def _arrow_schema(table: str) -> Any:
    import pyarrow as pa

    types = {"": pa.string(), _D: pa.decimal128(38, 10), _I: pa.int64(), _B: pa.bool_()}
    return pa.schema([(c, types[kind]) for c, kind in _SPEC[table]])


def arrow_table(table: str, rows: list[Any]) -> Any:
    """Rows of ``table`` as a ``pyarrow.Table`` of its Parquet schema (no pandas)."""
    import pyarrow as pa

    from pipeline.parse.arrow import arrow_column

    schema = _arrow_schema(table)
    columns = zip(*rows, strict=True)
    arrays = [arrow_column(col, f.type) for col, f in zip(columns, schema, strict=True)]
    return pa.Table.from_arrays(arrays, schema=schema)


class TableWriter:
    """Appends row chunks to ``<out>/<table>.csv`` or ``.parquet``, one file per table.

    Parquet goes through one ``ParquetWriter`` per table (row groups per chunk), CSV is
    appended with the header written once; so a file of any size is written in chunks.
    Tables that received no rows are still written (header / schema only) on close.
    """

    def __init__(self, out_dir: Path, fmt: str) -> None:
        if fmt not in ("csv", "parquet"):
            raise ValueError(f"format must be csv or parquet, not {fmt!r}")
        self.out_dir, self.fmt = out_dir, fmt
        out_dir.mkdir(parents=True, exist_ok=True)
        self.writers: dict[str, Any] = {}
        self.counts: dict[str, int] = {}
        self.adopted: set[str] = set()  # tables whose file came whole from a merge
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future[None] | None = None

    def path(self, table: str) -> Path:
        return self.out_dir / f"{table}.{self.fmt}"

    def write(self, table: str, rows: list[Any]) -> None:
        first = table not in self.counts
        self.counts[table] = self.counts.get(table, 0) + len(rows)
        if self.fmt == "csv":
            if rows or first:
                frame = to_frame(table, rows)
                frame.to_csv(
                    self.path(table), mode="w" if first else "a", header=first, index=False
                )
            return
        writer = self._parquet_writer(table)
        if rows:
            self._in_background(writer.write_table, arrow_table(table, rows))

    def write_arrow(self, table: str, chunk: Any) -> None:
        """Append a ``pyarrow.Table`` of ``table``'s schema (Parquet only)."""
        self.counts[table] = self.counts.get(table, 0) + chunk.num_rows
        self._in_background(self._parquet_writer(table).write_table, chunk)

    def _in_background(self, write: Callable[[Any], None], chunk: Any) -> None:
        """Encode and write ``chunk`` on the writer's thread (pyarrow lets go of the GIL
        there), so the next chunk is parsed and converted meanwhile; one write in flight,
        in order, its error raised here or at the next merge or close."""
        self._settle()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet")
        self._pending = self._pool.submit(write, chunk)

    def _settle(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def merge(self, other: TableWriter) -> None:
        """Append every table ``other`` (closed, same format, same file system) wrote.

        A table this writer has not started yet takes ``other``'s file as it is (a
        rename, so one file's parse is written once); later ones are streamed after it.
        """
        self._settle()
        for table, count in other.counts.items():
            source = other.path(table)
            if table not in self.counts:
                os.replace(source, self.path(table))
                self.adopted.add(table)
            elif self.fmt == "csv":
                self._append_csv(table, source)
            else:
                self._append_parquet(table, source)
            self.counts[table] = self.counts.get(table, 0) + count

    def _append_csv(self, table: str, source: Path) -> None:
        with source.open("rb") as src, self.path(table).open("ab") as dst:
            src.readline()  # the header, written once
            while chunk := src.read(1 << 20):
                dst.write(chunk)

    def _append_parquet(self, table: str, source: Path) -> None:
        self._copy_parquet(self._parquet_writer(table), source)

    def _parquet_writer(self, table: str) -> Any:
        """The open ``ParquetWriter`` of ``table``; a file adopted whole from a merge is
        restarted under a writer first (a Parquet file cannot be appended to)."""
        import pyarrow.parquet as pq

        writer = self.writers.get(table)
        if writer is not None:
            return writer
        path = self.path(table)
        kept = path.with_name(f".{table}.adopted.parquet")
        adopted = table in self.adopted
        if adopted:
            self.adopted.discard(table)
            os.replace(path, kept)
        writer = self.writers[table] = pq.ParquetWriter(path, _arrow_schema(table))
        if adopted:
            self._copy_parquet(writer, kept)
            kept.unlink()
        return writer

    @staticmethod
    def _copy_parquet(writer: Any, source: Path) -> None:
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(source).iter_batches():
            writer.write_batch(batch)

    def close(self, tables: Iterable[str] = ()) -> dict[str, int]:
        for table in tables:
            if table not in self.counts:
                self.write(table, [])
        try:
            self._settle()
        finally:
            if self._pool is not None:
                self._pool.shutdown()
                self._pool = None
            for writer in self.writers.values():
                writer.close()
            self.writers.clear()
        return dict(self.counts)
