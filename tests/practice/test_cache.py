"""The practice of a night is read once: the cache hands the same load back while the
export's bytes are unchanged, and reads it again after any change — even one that keeps
the file's size and modification time."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pipeline.practice import PracticeCache, load_practice
from pipeline.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "sample_edi" / "practice"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    copy = tmp_path / "practice"
    shutil.copytree(DEMO, copy)
    return copy


def test_an_unchanged_export_is_read_once(folder: Path) -> None:
    cache = PracticeCache()
    first = cache.load(folder)
    again = cache.load(folder)
    assert again is first and cache.loads == 1
    assert first.practice == load_practice(folder).practice


def test_a_same_size_same_mtime_edit_is_seen(folder: Path) -> None:
    cache = PracticeCache()
    before = cache.load(folder).practice
    path = folder / "encounters.csv"
    stat = path.stat()
    text = path.read_text(encoding="utf-8")
    at = next(i for i, ch in enumerate(text) if ch.islower() and i > text.index("\n"))
    edited = text[:at] + ("x" if text[at] != "x" else "y") + text[at + 1 :]  # one note letter
    assert len(edited) == len(text) and edited != text
    path.write_text(edited, encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # a clock tick that did not move
    after = cache.load(folder)
    assert cache.loads == 2
    assert after.practice == load_practice(folder).practice
    assert after.practice != before  # the edit shows: not the remembered load


def test_a_file_added_or_removed_reloads(folder: Path) -> None:
    cache = PracticeCache()
    cache.load(folder)
    (folder / "primary_eob_lines.csv").unlink()  # an optional file: the export still loads
    without = cache.load(folder)
    assert cache.loads == 2
    assert without.practice == load_practice(folder).practice
    shutil.copyfile(DEMO / "primary_eob_lines.csv", folder / "primary_eob_lines.csv")
    cache.load(folder)
    assert cache.loads == 3


def test_other_column_maps_reload(folder: Path, tmp_path: Path) -> None:
    maps = tmp_path / "mappings"
    shutil.copytree(get_settings().mappings_dir, maps)
    cache = PracticeCache()
    cache.load(folder, mappings_dir=maps)
    cache.load(folder)  # the configured maps: another key
    assert cache.loads == 2
    notes = maps / "practice" / "encounters.yaml"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    cache.load(folder, mappings_dir=maps)
    assert cache.loads == 3


def test_a_broken_export_is_not_remembered(folder: Path) -> None:
    from pipeline.errors import PracticeDataError

    cache = PracticeCache()
    patients = folder / "patients.csv"
    good = patients.read_bytes()
    patients.write_bytes(good.splitlines(keepends=True)[0])  # the header only
    with pytest.raises(PracticeDataError):
        cache.load(folder)
    patients.write_bytes(good)
    assert cache.load(folder).practice == load_practice(folder).practice


def test_a_taken_practice_is_no_longer_kept(folder: Path) -> None:
    import gc
    import weakref

    cache = PracticeCache()
    first = cache.load(folder)
    taken = cache.take(folder)
    assert taken is first and cache.loads == 1  # the load in the cache, not a new read
    encounter = weakref.ref(taken.practice.encounters[0])
    del first, taken
    gc.collect()
    assert encounter() is None  # the cache kept no reference: its memory went
    cache.load(folder)
    assert cache.loads == 2  # the next run reads the export again


def test_reconciliation_s_view_leaves_the_shared_practice_as_it_was(folder: Path) -> None:
    from pipeline.steps.reconciling import without_encounters

    practice = load_practice(folder).practice
    before = practice.model_dump()
    view = without_encounters(practice)
    assert view.encounters == [] and practice.encounters
    assert practice.model_dump() == before
    assert view.payers is practice.payers and view.patients is practice.patients
    assert view.appointments is practice.appointments and view.providers is practice.providers
