"""Small 837P files written with the project's X12 writer, for tests that need exact claims."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.x12.control import FileControlNumbers
from pipeline.x12.writer import X12Writer


@dataclass
class ClaimSpec:
    pcn: str
    payer_id: str
    member_id: str
    lines: list[tuple[str, str]]  # (procedure, charge)
    pos: str = "11"
    aob: str = "Y"
    service_date: dt.date = dt.date(2026, 11, 2)
    prior_auth: str = ""
    emergency: bool = False
    last_name: str = "DOE"
    first_name: str = "JANE"
    modifiers: list[tuple[str, ...]] = field(default_factory=list)
    frequency: str = "1"
    original_icn: str = ""


PAYER_NAMES = {
    "NWH01": "NORTHWIND HEALTH PLAN",
    "CTS02": "CONTOSO COMMERCIAL INSURANCE",
    "FAB03": "FABRIKAM BLUE CROSS",
    "TSP05": "TAILSPIN EPO",
    "WGH04": "WOODGROVE HEALTH HMO",
}


def write_837p(
    path: Path,
    claims: list[ClaimSpec],
    *,
    control_numbers: FileControlNumbers,
    ack_requested: bool = True,
    now: dt.datetime = dt.datetime(2026, 11, 20, 9, 15),
) -> Path:
    with path.open("w", encoding="utf-8") as out:
        w = X12Writer(out, control_numbers=control_numbers, now=now)
        with (
            w.interchange(
                sender=("ZZ", "SUBMITTER1"),
                receiver=("ZZ", "CLAIMFLOWCH"),
                ack_requested=ack_requested,
            ) as isa,
            isa.group("HC", "SUBMITTER1", "CLAIMFLOWCH", "005010X222A1") as gs,
            gs.transaction("837") as st,
        ):
            st.segment("BHT", "0019", "00", "B0001", f"{now:%Y%m%d}", f"{now:%H%M}", "CH")
            st.segment(
                "NM1", "41", "2", "TEST PRACTICE", None, None, None, None, "46", "SUBMITTER1"
            )
            st.segment("PER", "IC", "BILLING", "TE", "5555551234")
            st.segment(
                "NM1", "40", "2", "CLAIMFLOW CH", None, None, None, None, "46", "CLAIMFLOWCH"
            )
            st.segment("HL", "1", None, "20", "1")
            st.segment(
                "NM1", "85", "2", "TEST PRACTICE", None, None, None, None, "XX", "1234567893"
            )
            st.segment("N3", "100 MAIN ST")
            st.segment("N4", "CHICAGO", "IL", "606111234")
            st.segment("REF", "EI", "123456789")
            for number, claim in enumerate(claims, start=2):
                st.segment("HL", str(number), "1", "22", "0")
                st.segment("SBR", "P", "18", None, None, None, None, None, None, "CI")
                st.segment(
                    "NM1", "IL", "1", claim.last_name, claim.first_name, None, None, None, "MI",
                    claim.member_id,
                )  # fmt: skip
                st.segment("DMG", "D8", "19800101", "F")
                st.segment(
                    "NM1", "PR", "2", PAYER_NAMES[claim.payer_id], None, None, None, None, "PI",
                    claim.payer_id,
                )  # fmt: skip
                total = sum(int(charge) for _, charge in claim.lines)
                place = [claim.pos, "B", claim.frequency]
                st.segment(
                    "CLM", claim.pcn, str(total), None, None, place, "Y", "A", claim.aob, "Y"
                )
                if claim.original_icn:
                    st.segment("REF", "F8", claim.original_icn)
                if claim.prior_auth:
                    st.segment("REF", "G1", claim.prior_auth)
                st.segment("HI", ["ABK", "M5450"])
                for lx, (code, charge) in enumerate(claim.lines, start=1):
                    mods = claim.modifiers[lx - 1] if lx <= len(claim.modifiers) else ()
                    st.segment("LX", str(lx))
                    sv1: list[object] = [
                        ["HC", code, *mods], charge, "UN", "1", None, None, ["1"],
                    ]  # fmt: skip
                    if claim.emergency:
                        sv1 += [None, "Y"]
                    st.segment("SV1", *sv1)  # type: ignore[arg-type]
                    st.segment("DTP", "472", "D8", f"{claim.service_date:%Y%m%d}")
                    st.segment("REF", "6R", f"{claim.pcn}-{lx}")
    return path


def variety(prefix: str = "T") -> list[ClaimSpec]:
    """Twenty claims with room for every kind of trouble (NSA, multi-line, OON, PA codes)."""
    c = ClaimSpec
    return [
        c(f"{prefix}01", "NWH01", "NW0001", [("99214", "393"), ("36415", "9")]),
        c(f"{prefix}02", "NWH01", "NW0002", [("99213", "276")]),
        c(f"{prefix}03", "NWH01", "NW0003", [("72148", "675")], prior_auth="PA1"),
        c(f"{prefix}04", "NWH01", "NW0004", [("99215", "555")]),
        c(f"{prefix}05", "NWH01", "NW0005", [("99212", "171")]),
        c(f"{prefix}06", "NWH01", "NW0006", [("99204", "501")]),
        c(f"{prefix}07", "NWH01", "NW0007", [("99203", "330")]),
        c(f"{prefix}08", "WGH04", "WG0001", [("99214", "393"), ("93000", "51")]),
        c(f"{prefix}09", "WGH04", "WG0002", [("99203", "330")]),
        c(f"{prefix}10", "CTS02", "CT0001", [("99284", "399")], pos="23", emergency=True),
        c(f"{prefix}11", "CTS02", "CT0002", [("99285", "588")], pos="23", emergency=True),
        c(f"{prefix}12", "CTS02", "CT0003", [("99214", "393"), ("20610", "198")]),
        c(f"{prefix}13", "CTS02", "CT0004", [("99213", "276")]),
        c(f"{prefix}14", "FAB03", "FA0001", [("99204", "501")]),
        c(f"{prefix}15", "FAB03", "FA0002", [("64483", "690")], pos="22"),
        c(f"{prefix}16", "FAB03", "FA0003", [("99213", "276")]),
        c(f"{prefix}17", "FAB03", "FA0004", [("99212", "171")], aob="W"),
        c(f"{prefix}18", "TSP05", "TS0001", [("99213", "276")]),
        c(f"{prefix}19", "NWH01", "NW0008", [("99999", "100")]),
        c(f"{prefix}20", "CTS02", "CT0005", [("99203", "330")]),
    ]
