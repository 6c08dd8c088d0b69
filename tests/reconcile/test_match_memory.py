"""Matching holds a night's claims and remittances compactly — extras as a tuple beside a
shared key layout, equal CAS one frozen object, dates one per text, the remittance tables
not copied — and none of it shows: readers see the same values, and no edit of one claim's
values reaches another's."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from pipeline.reconcile.inputs import (
    REMIT_TABLES,
    SUBMITTED_CLAIM_EXTRAS,
    as_date,
    check_columns,
    iter_records,
    remit_tables,
)
from pipeline.reconcile.matching import Adjustment, Extras, match_remittance, normalize_submitted
from tests.reconcile import scenario

D = Decimal


def test_extras_read_as_the_dict_they_replace() -> None:
    submitted = scenario.submitted()
    claims = normalize_submitted(submitted)
    rows = {r["patient_control_number"]: r for r in iter_records(submitted.claims)}
    assert claims
    for pcn, claim in claims.items():
        assert isinstance(claim.extras, Extras)
        expected = {k: str(rows[pcn].get(k) or "").strip() for k in SUBMITTED_CLAIM_EXTRAS}
        if isinstance(rows[pcn].get("diagnosis_codes"), list):
            expected["diagnosis_codes"] = " ".join(rows[pcn]["diagnosis_codes"])
        assert claim.extras == expected and expected == claim.extras
        assert list({**claim.extras}) == list(SUBMITTED_CLAIM_EXTRAS)  # the same key order
        assert dict(claim.extras) == expected and len(claim.extras) == len(expected)
        assert claim.extras.get("no such key") is None
        assert claim.extras.get("no such key", "x") == "x"
        assert "member_id" in claim.extras and "no such key" not in claim.extras
        with pytest.raises(KeyError):
            claim.extras["no such key"]


def test_an_edit_of_one_claims_extras_reaches_no_other() -> None:
    claims = list(normalize_submitted(scenario.submitted()).values())
    first, second = claims[0], claims[1]
    before = dict(second.extras)
    first.extras["payer_name"] = "Renamed Payer"  # what the engine does (_name_payers)
    first.extras["new_key"] = "added"
    del first.extras["clinical_notes"]
    assert first.extras["payer_name"] == "Renamed Payer" and first.extras["new_key"] == "added"
    assert "clinical_notes" not in first.extras and list(first.extras)[-1] == "new_key"
    assert dict(second.extras) == before
    assert "new_key" not in second.extras and "clinical_notes" in second.extras
    second.extras["payer_name"] = "Another"
    assert first.extras["payer_name"] == "Renamed Payer"


def test_equal_adjustments_are_one_frozen_object_but_not_across_their_text() -> None:
    tables = scenario.remittance().tables()
    cas = tables["remit_adjustments"].copy()
    assert len(cas) >= 3
    # Three CAS of the same group and reason: two print 10.00, one 10.0.
    cas.loc[cas.index[:3], "group_code"] = "CO"
    cas.loc[cas.index[:3], "reason_code"] = "45"
    cas["amount"] = cas["amount"].astype(object)
    cas.at[cas.index[0], "amount"] = D("10.00")
    cas.at[cas.index[1], "amount"] = D("10.00")
    cas.at[cas.index[2], "amount"] = D("10.0")
    tables["remit_adjustments"] = cas
    match = match_remittance(tables, scenario.submitted())
    tens = [
        a
        for r in match.remits
        for a in r.all_adjustments()
        if a.group_code == "CO" and a.reason_code == "45" and a.amount == 10
    ]
    hundredths = [a for a in tens if str(a.amount) == "10.00"]
    tenths = [a for a in tens if str(a.amount) == "10.0"]
    assert len(hundredths) == 2 and len(tenths) == 1
    assert hundredths[0] is hundredths[1] and tenths[0] is not hundredths[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        hundredths[0].amount = D("99")  # type: ignore[misc]
    assert Adjustment("CO", "45", D("1")) == Adjustment("CO", "45", D("1"))


def test_dates_are_one_object_per_text_and_read_the_same() -> None:
    first = as_date("2025-11-03")
    assert first == date(2025, 11, 3) and type(first) is date
    assert as_date("".join(["2025-11", "-03"])) is first
    assert as_date("20251103") == first and as_date("2025-11-03T10:00:00") == first
    with pytest.raises(Exception, match="is not a date"):
        as_date("2025-13-40", where="x")


def test_the_remittance_tables_are_checked_without_a_copy_of_their_cells() -> None:
    tables = scenario.remittance().tables()
    claims = tables["remit_claims"].drop(columns=["reversal_of_claim_key"], errors="ignore")
    tables["remit_claims"] = claims
    checked = remit_tables(tables)
    out = checked["remit_claims"]
    assert "reversal_of_claim_key" in out.columns and out["reversal_of_claim_key"].isna().all()
    assert "reversal_of_claim_key" not in claims.columns  # the added column stays ours
    for column in claims.columns:  # the cells are the caller's, not a copy of them
        assert np.shares_memory(out[column].to_numpy(), claims[column].to_numpy())
    assert set(checked) == set(REMIT_TABLES)
    # A frame with every column: still its own object (a column added later stays ours).
    full = check_columns(out, "remit_claims", REMIT_TABLES["remit_claims"])
    assert full is not out
    full["extra"] = 1
    assert "extra" not in out.columns


def test_matching_leaves_its_input_tables_as_they_were() -> None:
    tables = scenario.remittance().tables()
    before = {name: frame.copy(deep=True) for name, frame in tables.items()}
    match_remittance(remit_tables(tables), scenario.submitted())
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(frame, before[name])
