"""The exports as one set: each table to CSV and Parquet and a sheet of ``claimflow.xlsx``
(:mod:`pipeline.export.tables` says how a table goes to a file), in the order reconciliation
hands them over, moved into ``exports/`` together."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd
import pyarrow as pa

from pipeline.export.tables import WORKBOOK_NAME, write_table
from pipeline.export.xlsx import XlsxBook

__all__ = ["ExportWriter", "write_exports"]


class ExportWriter:
    """The exports written table by table as they are handed over — reconciliation hands a
    large table over as soon as it is made (a :data:`~pipeline.reconcile.TableSink`), so
    they are not all held until the end — and the workbook's sheets listed in ``order``
    (table names; others after, as they came) whatever order the tables came in.

    ``with ExportWriter(out_dir, order) as writer: writer(name, frame) … writer.finish()``.
    The files are written in a folder of their own inside ``out_dir`` and moved into it by
    :meth:`finish` (the block's end, if not called), so the exports there are one night's
    set: a night that fails on the way leaves the last set as it was, and nothing of its
    own (the folder of a night killed outright goes when the next writer starts). :meth:`finish`
    lists every file, in ``order``."""

    def __init__(self, out_dir: Path, order: Iterable[str]) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self._dir = out_dir
        _remove_abandoned(out_dir)
        self._work = Path(tempfile.mkdtemp(prefix=f".writing-{os.getpid()}-", dir=out_dir))
        self._rank = {name: i for i, name in enumerate(order)}
        self._book = XlsxBook(self._work / WORKBOOK_NAME)
        self._parts: dict[str, list[int]] = {}  # table → its sheets' parts, in write order
        self._finished = False

    def __enter__(self) -> ExportWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is None:
            self.finish()
        elif not self._finished:
            self._book.discard()
            shutil.rmtree(self._work, ignore_errors=True)

    def __call__(self, name: str, frame: pd.DataFrame) -> None:
        if name in self._parts:
            raise ValueError(f"exports: table {name!r} handed over twice")
        first = self._book.sheet_count + 1
        csv_path, parquet_path = self._work / f"{name}.csv", self._work / f"{name}.parquet"
        write_table(name, frame, csv_path=csv_path, parquet_path=parquet_path, book=self._book)
        pa.default_memory_pool().release_unused()  # the table's Arrow buffers, to the system
        self._parts[name] = list(range(first, self._book.sheet_count + 1))

    def write_all(self, tables: Mapping[str, pd.DataFrame]) -> None:
        for name, frame in tables.items():
            self(name, frame)

    def finish(self) -> list[Path]:
        tables = self._ordered()
        names = [f"{n}.{ext}" for n in tables for ext in ("csv", "parquet")]
        names.append(WORKBOOK_NAME)
        if not self._finished:
            self._book.arrange([p for name in tables for p in self._parts[name]])
            self._book.close()
            for name in names:
                os.replace(self._work / name, self._dir / name)
            self._work.rmdir()
            self._finished = True
        return [self._dir / name for name in names]

    def _ordered(self) -> list[str]:
        last = len(self._rank)
        return sorted(self._parts, key=lambda name: self._rank.get(name, last))


def _remove_abandoned(out_dir: Path) -> None:
    """The folders of writers whose process is gone (a night killed on the way)."""
    for folder in out_dir.glob(".writing-*"):
        pid = folder.name.split("-")[1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def write_exports(result: Any, out_dir: Path) -> list[Path]:
    """Every table of ``result`` (a ReconcileResult) as CSV and Parquet, plus the workbook —
    each table read once, its chunks going to all three files together."""
    tables: Mapping[str, pd.DataFrame] = result.tables
    with ExportWriter(out_dir, tables) as writer:
        writer.write_all(tables)
        return writer.finish()
