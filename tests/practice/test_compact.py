"""Loaded models are compact (attributes against their class's shared dict keys, equal read-only
lists one object): they must behave exactly as the instances pydantic makes, and be smaller."""

from __future__ import annotations

import copy
import gc
import pickle
import platform
import sys
import tracemalloc
from pathlib import Path

import pytest
from pydantic import BaseModel

from pipeline.practice import Charge, Encounter, Practice, load_practice
from pipeline.practice import loader as loader_module
from pipeline.practice.scale import write_scaled_practice
from tests.practice.test_loader import DEMO

CPYTHON = platform.python_implementation() == "CPython"


def _models(practice: Practice) -> list[BaseModel]:
    """Every model the loader made, nested ones included, in a stable order."""
    found: list[BaseModel] = []

    def walk(model: BaseModel) -> None:
        found.append(model)
        for name in type(model).model_fields:
            value = getattr(model, name)
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, BaseModel):
                    walk(item)

    walk(practice.billing_provider)
    for group in (practice.providers.values(), practice.facilities.values()):
        for model in group:
            walk(model)
    for model in [*practice.patients.values(), *practice.coverages, *practice.appointments]:
        walk(model)
    for encounter in practice.encounters:
        walk(encounter)
    return found


@pytest.fixture(scope="module")
def compact() -> Practice:
    return load_practice(DEMO).practice


@pytest.fixture(scope="module")
def plain() -> Practice:
    """The same export loaded without ``_share``: the instances pydantic makes."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(loader_module, "_share", lambda model, pool: model)
        return load_practice(DEMO).practice


def test_compact_models_are_the_plain_ones(compact: Practice, plain: Practice) -> None:
    ours, theirs = _models(compact), _models(plain)
    assert len(ours) == len(theirs) > 800
    for a, b in zip(ours, theirs, strict=True):
        assert type(a) is type(b)
        assert a == b
        assert repr(a) == repr(b)  # field order too
        assert a.model_fields_set == b.model_fields_set
        assert a.model_dump_json(exclude_unset=True) == b.model_dump_json(exclude_unset=True)


@pytest.mark.skipif(not CPYTHON, reason="key-sharing dicts are a CPython detail")
def test_compact_models_share_their_class_keys(compact: Practice, plain: Practice) -> None:
    # A key-sharing dict holds values only; a dict of its own holds keys and hashes too.
    # One model of each class the loader makes; a class past CPython's 30 shared keys fails.
    pairs = list(zip(_models(compact), _models(plain), strict=True))
    firsts = {type(a): (a, b) for a, b in reversed(pairs)}
    assert len(firsts) == 12
    for kind, (a, b) in firsts.items():
        ours, theirs = sys.getsizeof(a.__dict__), sys.getsizeof(b.__dict__)
        assert ours < theirs, kind
        if kind in (Encounter, Charge):  # the most numerous: less than half
            assert ours * 2 < theirs


def _twins() -> tuple[Encounter, Encounter]:
    """Two freshly loaded encounters with one fields-set and one (empty) NSA services list."""
    encounters = load_practice(DEMO).practice.encounters
    first = encounters[0]
    other = next(
        e
        for e in encounters[1:]
        if e.__pydantic_fields_set__ is first.__pydantic_fields_set__
        and e.nsa_consent_services is first.nsa_consent_services
    )
    return first, other


def test_assignment_changes_only_its_own_model() -> None:
    first, other = _twins()
    before = other.model_dump()
    first.prior_auth = "AUTH1"
    first.nsa_consent_services = ["99285"]
    first.service_date = other.service_date.replace(year=2001)
    assert (first.prior_auth, first.nsa_consent_services) == ("AUTH1", ["99285"])
    assert first.service_date.year == 2001
    assert {"prior_auth", "nsa_consent_services", "service_date"} <= first.model_fields_set
    assert other.model_dump() == before
    assert "prior_auth" not in other.model_fields_set
    if CPYTHON:  # an assignment keeps the dict key-sharing
        assert sys.getsizeof(first.__dict__) == sys.getsizeof(other.__dict__)


def test_lists_the_loader_appends_to_are_never_shared() -> None:
    practice = load_practice(DEMO).practice
    charges = [id(e.charges) for e in practice.encounters]
    assert len(set(charges)) == len(charges)
    eobs = [e.primary_adjudication for e in practice.encounters if e.primary_adjudication]
    assert len({id(eob.lines) for eob in eobs}) == len(eobs) > 1


def test_a_shared_list_refuses_a_change_in_place() -> None:
    first, other = _twins()
    shared = first.diagnoses
    assert shared is other.diagnoses and shared
    before = list(shared)
    for change in (
        lambda: shared.append("Z00.00"),
        lambda: shared.sort(),
        lambda: shared.__setitem__(0, "Z00.00"),
        lambda: shared.__iadd__(["Z00.00"]),
    ):
        with pytest.raises(TypeError, match="shared by equal loaded models"):
            change()
    assert other.diagnoses == before
    copied = copy.deepcopy(shared)
    assert copied == before and copied is not shared
    assert pickle.loads(pickle.dumps(shared)) == before


def test_copies_and_pickles_are_equal(compact: Practice) -> None:
    encounter = next(e for e in compact.encounters if e.primary_adjudication is not None)
    assert pickle.loads(pickle.dumps(encounter)) == encounter
    assert copy.deepcopy(encounter) == encounter
    changed = encounter.model_copy(update={"prior_auth": "AUTH2"})
    assert changed.prior_auth == "AUTH2" and encounter.prior_auth != "AUTH2"
    assert changed.model_copy(update={"prior_auth": encounter.prior_auth}) == encounter


def _bytes_per_encounter(folder: Path, charges: bool) -> float:
    load_practice(folder, charges=charges)  # imports and column maps once, not measured
    gc.collect()
    tracemalloc.start()
    try:
        practice = load_practice(folder, charges=charges).practice
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return held / len(practice.encounters)


@pytest.mark.skipif(not CPYTHON, reason="key-sharing dicts are a CPython detail")
@pytest.mark.parametrize(("charges", "bound"), [(True, 1800), (False, 1200)])
def test_a_loaded_encounter_is_small(tmp_path: Path, charges: bool, bound: int) -> None:
    # Measured at 2k claims (CPython 3.11): 1,176 / 711 bytes per encounter, with its patient,
    # coverages and charges; a dict per model and a list per list field took 3,189 / 1,810.
    folder = write_scaled_practice(DEMO, tmp_path / "practice", 1000)
    assert _bytes_per_encounter(folder, charges) < bound
