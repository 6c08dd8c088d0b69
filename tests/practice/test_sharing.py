"""The loader shares equal values and fields-sets among loaded models (memory at scale);
nothing a caller sees may change because of it."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from pipeline.practice import load_practice
from pipeline.practice import loader as loader_module
from tests.practice.test_loader import DEMO


def _dumps(practice: Any) -> Any:
    return practice.model_dump(mode="python")


def test_equal_fields_sets_are_one_object() -> None:
    encounters = load_practice(DEMO).practice.encounters
    first = encounters[0]
    same = [e for e in encounters[1:] if e.model_fields_set == first.model_fields_set]
    assert same, "the sample needs two encounters with the same fields"
    assert same[0].__pydantic_fields_set__ is first.__pydantic_fields_set__


def test_assignment_does_not_leak_into_another_model() -> None:
    encounters = load_practice(DEMO).practice.encounters
    first = encounters[0]
    other = next(e for e in encounters[1:] if e.model_fields_set == first.model_fields_set)
    unset = next(n for n in type(first).model_fields if n not in first.model_fields_set)
    before = set(other.model_fields_set)
    setattr(first, unset, getattr(first, unset))
    assert unset in first.model_fields_set
    assert other.model_fields_set == before


def test_sharing_changes_no_value(monkeypatch: pytest.MonkeyPatch) -> None:
    shared = load_practice(DEMO).practice

    def unshared(model: BaseModel, pool: dict[object, Any]) -> BaseModel:
        return model

    monkeypatch.setattr(loader_module, "_share", unshared)
    plain = load_practice(DEMO).practice
    assert shared == plain
    assert _dumps(shared) == _dumps(plain)
    assert repr(_dumps(shared)) == repr(_dumps(plain))  # Decimal("1.0") vs "1.00" too
