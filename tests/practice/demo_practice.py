"""Generates ``sample_edi/practice`` (the synthetic demo practice), seeded and reproducible.

    .venv/bin/python -m tests.practice.demo_practice          # rewrite the CSV files

The CSV headers are the (synthetic) "MedSuite PM" system's; ``mappings/practice/*.yaml``
maps them onto our model. Every name, id and date is made up. "Today" for the demo is
2026-11-27: encounters fall in the 30 days before it, appointments on 2026-11-28 and
the following days. Encounters E0161-E0185 are deliberately bad (see the README there and
``tests/build/expected_holds.csv``).
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from stdnum import luhn

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "sample_edi" / "practice"
TODAY = date(2026, 11, 27)

CHARGES = {
    row["procedure_code"]: Decimal(row["practice_charge"])
    for row in csv.DictReader((ROOT / "mappings/fee_schedules/procedures.csv").open())
}


def npi(body: str) -> str:
    """A valid NPI from a 9-digit body (check digit from stdnum's Luhn over 80840+body)."""
    return body + luhn.calc_check_digit("80840" + body)


def mdy(d: date | None) -> str:
    return d.strftime("%m/%d/%Y") if d else ""


# --- fixed records ---------------------------------------------------------------------------

BILLING = {
    "Practice Name": "Lakeside Spine and Sports Medicine PLLC",
    "NPI": npi("174926385"),
    "Tax ID": "46-3871520",
    "Taxonomy": "261QM1300X",
    "Address 1": "1200 Lakeshore Dr Ste 300",
    "Address 2": "",
    "City": "Chicago",
    "State": "IL",
    "ZIP": "60611-1234",
    "Phone": "(312) 555-0142",
    "Billing Contact": "Dana Whitfield",
    "Submitter ID": "LKSSM0001",
    "Clearinghouse ID": "CLAIMFLOWCH",
    "Clearinghouse Name": "ClaimFlow Clearinghouse",
    "Pay-To Address 1": "PO Box 4410",
    "Pay-To City": "Chicago",
    "Pay-To State": "IL",
    "Pay-To ZIP": "60680-4410",
}

# Service facilities (2310C): where hospital, ER and surgery-center services were given.
FACILITIES = [
    {
        "Facility Code": "FAC01",  # hospital with an emergency department
        "Facility Name": "Lakeview Memorial Hospital",
        "NPI": npi("158204736"),
        "Address 1": "2800 N Lakeview Pkwy",
        "Address 2": "",
        "City": "Chicago",
        "State": "IL",
        "ZIP": "60657-4310",
    },
    {
        "Facility Code": "FAC02",  # ambulatory surgical center
        "Facility Name": "Gold Coast Surgery Center LLC",
        "NPI": npi("136948205"),
        "Address 1": "915 N Rush Ln",
        "Address 2": "Ste 400",
        "City": "Chicago",
        "State": "IL",
        "ZIP": "60611-2207",
    },
]
# Facility by place of service: inpatient/outpatient hospital and ER at FAC01, ASC at FAC02.
# Chosen by POS (not by the seeded generator) so every other value stays as it was.
FACILITY_BY_POS = {"19": "FAC01", "21": "FAC01", "22": "FAC01", "23": "FAC01", "24": "FAC02"}

PROVIDERS = [
    # code, last, first, npi, taxonomy, type
    ("DR01", "Okafor", "Adaeze", npi("132869471"), "207X00000X", "Rendering"),  # orthopaedics
    ("DR02", "Lindqvist", "Erik", npi("154738290"), "208100000X", "Rendering"),  # PM&R
    ("DR03", "Ramirez", "Sofia", npi("168203947"), "207P00000X", "Rendering"),  # emergency med
    ("DR04", "Chen", "Wei", npi("119384756"), "2084P0800X", "Rendering"),  # psychiatry
    ("DR05", "Haddad", "Omar", npi("145609283"), "207Q00000X", "Rendering"),  # family medicine
    ("RF01", "Novak", "Petra", npi("187263540"), "207Q00000X", "Referring"),
    ("RF02", "Abernathy", "James", npi("126495837"), "207R00000X", "Referring"),
    ("RF03", "Moreau", "Claire", npi("193847562"), "208D00000X", "Referring"),
    # A typo in the PM system: last digit wrong (bad check digit) - used by E0161 only.
    ("DR09", "Quill", "Harlan", npi("171717171")[:9] + "0", "207X00000X", "Rendering"),
]
if PROVIDERS[-1][3] == npi("171717171"):  # pragma: no cover - the typo must be a real typo
    raise SystemExit("DR09 NPI accidentally valid")

LAST = [
    "Anderson",
    "Baptiste",
    "Castellano",
    "Delacroix",
    "Eriksen",
    "Fairbanks",
    "Gallagher",
    "Hollis",
    "Ibarra",
    "Jovanovic",
    "Kowalczyk",
    "Lindgren",
    "Mbeki",
    "Nakamura",
    "Oyelaran",
    "Pemberton",
    "Quintero",
    "Rasmussen",
    "Szabo",
    "Tanaka",
    "Underwood",
    "Valdivia",
    "Whitcombe",
    "Xenakis",
    "Yamamoto",
    "Zielinski",
    "Ashford",
    "Brightwater",
    "Coulter",
    "Dunmore",
    "Ellery",
    "Foxworth",
    "Grimaldi",
    "Hartigan",
    "Ingleby",
    "Jessup",
]
FIRST_F = ["Maya", "Olivia", "Priya", "Hannah", "Leila", "Grace", "Nora", "Ines", "Chloe", "Ruth"]
FIRST_M = ["Marcus", "Theo", "Rafael", "Jonah", "Samir", "Elliot", "Kenji", "Luca", "Owen", "Abel"]
STREETS = ["Maple Ave", "N Clark St", "W Belmont Ave", "Sheridan Rd", "S Halsted St", "Elm St"]
CITIES = [
    ("Chicago", "IL", "60614"),
    ("Evanston", "IL", "60201"),
    ("Oak Park", "IL", "60302"),
    ("Skokie", "IL", "60076"),
    ("Chicago", "IL", "60657"),
]

PAYER_PREFIX = {"CTS02": "CTS", "FAB03": "FBX", "TSP05": "TSP", "NWH01": "NWH", "WGH04": "WGH"}
PRIOR_AUTH = {
    "NWH01": {"72148", "73721", "29881", "64483"},
    "CTS02": {"29881", "64483"},
    "FAB03": {"72148", "73721", "29881"},
    "TSP05": {"29881"},
    "WGH04": {"72148", "73721", "29881", "64483", "90837"},
}
OON = ["CTS02", "FAB03", "TSP05"]
INN = ["NWH01", "WGH04"]


@dataclass
class Person:
    acct: str
    last: str
    first: str
    dob: date
    sex: str
    street: str
    city: tuple[str, str, str]
    aob: str = "Signed"
    aob_date: date | None = date(2026, 1, 15)


@dataclass
class Policy:
    ref: str
    acct: str
    payer: str
    rank: str
    member: str
    dep_member: str = ""
    group: str = ""
    rel: str = "Self"
    insured: Person | None = None
    eff: date = date(2026, 1, 1)
    term: date | None = None


@dataclass
class Line:
    cpt: str
    mods: list[str] = field(default_factory=list)
    units: Decimal = Decimal("1")
    ptr: str = "1"
    ndc: tuple[str, str, str] | None = None
    charge: Decimal | None = None  # None = charge master x units


@dataclass
class Visit:
    vid: str
    pcn: str
    acct: str
    dos: date
    pos: str
    dx: list[str]
    lines: list[Line]
    bill_to: str = "Primary"
    rendering: str = "DR01"
    referring: str = ""
    prior_auth: str = ""
    referral: str = ""
    onset: date | None = None
    accident: str = ""
    accident_state: str = ""
    emergency: bool = False
    freq: str = "1"
    orig: str = ""
    total: Decimal | None = None  # None = sum of lines
    notes: str = ""


class Demo:
    def __init__(self, seed: int = 20261127) -> None:
        self.rng = random.Random(seed)
        self.people: list[Person] = []
        self.policies: list[Policy] = []
        self.visits: list[Visit] = []
        self.eobs: list[dict[str, str]] = []
        self.eob_lines: list[dict[str, str]] = []
        self.appointments: list[dict[str, str]] = []
        self.used_dates: dict[str, set[date]] = {}

    # -- people ---------------------------------------------------------------------------
    def person(self, last: str | None = None, sex: str | None = None, age: int = 40) -> Person:
        rng = self.rng
        n = len(self.people) + 1
        sex = sex or rng.choice("MF")
        first = rng.choice(FIRST_F if sex == "F" else FIRST_M)
        dob = date(2026 - age, rng.randint(1, 12), rng.randint(1, 28))
        street = f"{rng.randint(10, 9899)} {rng.choice(STREETS)}"
        p = Person(
            f"A{n:04d}", last or LAST[n % len(LAST)], first, dob, sex, street, rng.choice(CITIES)
        )
        self.people.append(p)
        return p

    def policy(self, p: Person, payer: str, rank: str = "Primary", **kw: object) -> Policy:
        n = len(self.policies) + 1
        member = (
            kw.pop("member", None) or f"{PAYER_PREFIX[payer]}{self.rng.randint(10**8, 10**9 - 1)}"
        )
        pol = Policy(
            f"C{n:04d}",
            p.acct,
            payer,
            rank,
            str(member),
            group=f"G{self.rng.randint(1000, 9999)}",
            **kw,
        )  # type: ignore[arg-type]
        self.policies.append(pol)
        return pol

    def build_people(self) -> None:
        # 34 adult self-subscribers: most on out-of-network payers.
        payers = ["CTS02"] * 9 + ["FAB03"] * 8 + ["TSP05"] * 7 + ["NWH01"] * 5 + ["WGH04"] * 5
        for payer in payers:
            p = self.person(age=self.rng.randint(22, 78))
            self.policy(p, payer)
        # Families: parent subscriber + spouse and children as dependents.
        for payer, own_ids in (
            ("CTS02", False),
            ("FAB03", True),
            ("NWH01", False),
            ("TSP05", False),
            ("WGH04", True),
            ("CTS02", True),
        ):
            parent = self.person(age=self.rng.randint(35, 55))
            pol = self.policy(parent, payer)
            spouse = self.person(last=parent.last, sex="F" if parent.sex == "M" else "M", age=44)
            self.policy(
                spouse,
                payer,
                member=pol.member,
                rel="Spouse",
                insured=parent,
                dep_member=f"{pol.member}02" if own_ids else "",
            )
            child = self.person(last=parent.last, age=self.rng.randint(4, 17))
            self.policy(
                child,
                payer,
                member=pol.member,
                rel="Child",
                insured=parent,
                dep_member=f"{pol.member}03" if own_ids else "",
            )
        # Secondary coverage: in-network primary, out-of-network secondary (and one the other way).
        for primary, secondary in (
            ("NWH01", "CTS02"),
            ("WGH04", "FAB03"),
            ("NWH01", "FAB03"),
            ("CTS02", "NWH01"),
        ):
            p = self.person(age=self.rng.randint(30, 70))
            self.policy(p, primary)
            self.policy(p, secondary, rank="Secondary")
        # AOB refused (payment goes to the patient: CLM08=W).
        for p in self.people[3:30:7]:
            p.aob, p.aob_date = "Refused", date(2026, 3, 2)

    # -- visits ---------------------------------------------------------------------------
    def day(self, acct: str) -> date:
        taken = self.used_dates.setdefault(acct, set())
        while True:
            d = TODAY - timedelta(days=self.rng.randint(1, 29))
            if d not in taken:
                taken.add(d)
                return d

    def visit(self, acct: str, pos: str, dx: list[str], lines: list[Line], **kw: object) -> Visit:
        n = len(self.visits) + 1
        dos = kw.pop("dos", None) or self.day(acct)
        v = Visit(f"E{n:04d}", f"LS{n:07d}", acct, dos, pos, dx, lines, **kw)  # type: ignore[arg-type]
        self.visits.append(v)
        return v

    def payer_of(self, acct: str, rank: str = "Primary") -> str:
        return next(p.payer for p in self.policies if p.acct == acct and p.rank == rank)

    def auth(self, acct: str, cpts: list[str], rank: str = "Primary") -> str:
        need = PRIOR_AUTH[self.payer_of(acct, rank)]
        return f"PA{self.rng.randint(100000, 999999)}" if need & set(cpts) else ""

    def good_visits(self) -> None:
        rng = self.rng
        adults = [p for p in self.people if p.dob.year < 2006]
        accts = [p.acct for p in self.people]
        secondary = {pol.acct for pol in self.policies if pol.rank == "Secondary"}
        single = [a for a in accts if a not in secondary]
        oon = [a for a in single if self.payer_of(a) in OON]
        inn = [a for a in single if self.payer_of(a) in INN]

        def office(acct: str) -> Visit:
            em = rng.choice(["99213", "99214", "99215", "99203", "99204", "99212"])
            kind = rng.random()
            if kind < 0.25:  # joint injection with a separately identifiable E/M
                side = rng.choice(["RT", "LT"])
                dx = ["M1711" if side == "RT" else "M1712", "M25561" if side == "RT" else "M25562"]
                lines = [
                    Line(em, ["25"], ptr="1:2"),
                    Line("20610", [side], ptr="1"),
                    Line("J1100", units=Decimal("10"), ptr="1", ndc=("63323016501", "1", "ML")),
                ]
            elif kind < 0.45:  # labs and ECG the same day
                dx = ["R079", "I10", "E119"]
                lines = [
                    Line(em, ptr="1:2:3"),
                    Line("93000", ptr="1"),
                    Line("36415", ptr="3"),
                    Line("81002", ["59"], ptr="3"),
                ]
            elif kind < 0.6:  # therapeutic injection
                dx = ["M5416", "M5450"]
                lines = [
                    Line(em, ["25"], ptr="1:2"),
                    Line("96372", ptr="1"),
                    Line("J1100", units=Decimal("4"), ptr="1", ndc=("63323016501", "1", "ML")),
                ]
            elif kind < 0.75:  # wound care
                dx = ["L97412", "E11621", "E119"]
                lines = [Line(em, ["25"], ptr="1:2"), Line("11042", ["RT"], ptr="1:2:3")]
            else:
                dx = rng.choice([["M5450"], ["M25511", "M6281"], ["S83241A", "M25561"]])
                lines = [Line(em, ptr=":".join(str(i + 1) for i in range(len(dx))))]
            onset = TODAY - timedelta(days=rng.randint(35, 200)) if rng.random() < 0.3 else None
            return self.visit(
                acct, "11", dx, lines, rendering=rng.choice(["DR01", "DR02", "DR05"]), onset=onset
            )

        def physical_therapy(acct: str) -> Visit:
            units = Decimal(rng.choice([2, 3, 4]))
            return self.visit(
                acct,
                "11",
                ["M5450", "M6281"],
                [Line("97110", ["GP"], units=units, ptr="1:2")],
                rendering="DR02",
            )

        def telehealth(acct: str) -> Visit:
            pos = rng.choice(["02", "10"])
            if rng.random() < 0.5:
                return self.visit(
                    acct,
                    pos,
                    ["F411", "F331"],
                    [Line("90837", ["95"], ptr="1:2")],
                    rendering="DR04",
                    prior_auth=self.auth(acct, ["90837"]),
                )
            return self.visit(
                acct,
                pos,
                ["M5450"],
                [Line(rng.choice(["99213", "99214"]), ["95"])],
                rendering="DR05",
            )

        def emergency(acct: str) -> Visit:
            em = rng.choice(["99283", "99284", "99285"])
            dx = rng.choice([["R079", "I10"], ["S52501A", "W010XXA"], ["S0990XA", "R519"]])
            lines = [Line(em, ptr="1:2")]
            if dx[0] == "R079":  # at the ER the hospital does the tracing; we interpret it
                lines.append(Line("93010", ptr="1"))
            accident = "Auto" if dx[0] == "S0990XA" else ""
            v = self.visit(
                acct,
                "23",
                dx,
                lines,
                rendering="DR03",
                emergency=True,
                accident=accident,
                accident_state="IL" if accident else "",
            )
            return v

        def facility(acct: str, pos: str) -> Visit:
            # Non-emergency services at an in-network hospital/ASC (NSA-protected when OON).
            if pos == "24" and rng.random() < 0.6:
                side = rng.choice(["RT", "LT"])
                knee = ("S83241A", "M23221") if side == "RT" else ("S83242A", "M23222")
                dx = list(knee)
                lines = [Line("29881", [side], ptr="1:2")]
            else:
                side = rng.choice(["RT", "LT"])
                dx = ["M5416", "M5126"]
                lines = [Line("64483", [side], ptr="1:2")]
            cpts = [ln.cpt for ln in lines]
            payer = self.payer_of(acct)
            referral = (
                f"RF{rng.randint(10000, 99999)}" if payer == "NWH01" or rng.random() < 0.3 else ""
            )
            return self.visit(
                acct,
                pos,
                dx,
                lines,
                rendering="DR01" if lines[0].cpt == "29881" else "DR02",
                prior_auth=self.auth(acct, cpts),
                referral=referral,
                referring=rng.choice(["RF01", "RF02", "RF03"]) if referral else "",
            )

        def imaging(acct: str) -> Visit:
            if rng.random() < 0.5:
                lines, dx = [Line("72148", ptr="1:2")], ["M5416", "M5126"]
            else:
                side = rng.choice(["RT", "LT"])
                lines, dx = (
                    [Line("73721", [side], ptr="1")],
                    ["M25561" if side == "RT" else "M25562"],
                )
            pos = rng.choice(["11", "22"])
            if pos == "22":  # at the hospital we read the images: the professional component
                lines[0].mods.append("26")
            return self.visit(
                acct,
                pos,
                dx,
                lines,
                rendering="DR01",
                prior_auth=self.auth(acct, [ln.cpt for ln in lines]),
                referring="RF02",
                referral="",
            )

        # Emergency on out-of-network payers.
        for acct in rng.sample(oon, 14):
            emergency(acct)
        # NSA-protected non-emergency at in-network facilities on out-of-network payers.
        for acct in rng.sample(oon, 12):
            facility(acct, rng.choice(["22", "24"]))
        for acct in rng.sample(inn, 4):
            facility(acct, "24")
        for acct in rng.sample(single, 14):
            telehealth(acct)
        for acct in rng.sample(single, 10):
            physical_therapy(acct)
        for acct in rng.sample(single, 10):
            imaging(acct)
        while len(self.visits) < 140:
            office(rng.choice(single))
        # Every patient has been seen at least once.
        seen = {v.acct for v in self.visits}
        for acct in single:
            if acct not in seen:
                office(acct)
        # Secondary claims: the primary paid; bill the balance to the secondary with COB data.
        # The first three primaries adjudicated line by line (2430), the last one by claim.
        for n, acct in enumerate(sorted(secondary)):
            v = office(acct)
            v.bill_to = "Secondary"
            v.dos = TODAY - timedelta(days=rng.randint(20, 29))  # the primary has paid since
            paid_on = mdy(v.dos + timedelta(days=10))
            if n < 3:
                paid = self.eob_by_line(v, paid_on)
                adjustments = ""
            else:
                total = sum(self.line_charge(ln) for ln in v.lines)
                paid, contractual, deductible = _split(total)
                adjustments = f"CO-45={contractual}; PR-1={deductible}"
            self.eobs.append(
                {
                    "Visit #": v.vid,
                    "Primary Payer ID": self.payer_of(acct),
                    "Paid": str(paid),
                    "Paid Date": paid_on,
                    "Adjustments": adjustments,
                    "Payer Claim #": f"{self.payer_of(acct)}ICN{rng.randint(10**6, 10**7 - 1)}",
                }
            )
        # Corrected (7) and void (8) claims, each naming the payer's original claim number.
        for freq, count in (("7", 4), ("8", 2)):
            for acct in rng.sample(oon, count):
                v = office(acct)
                v.freq = freq
                v.orig = f"{self.payer_of(acct)}{rng.randint(10**9, 10**10 - 1)}"
                v.pcn = f"{v.pcn}V{freq}"
                v.notes = (
                    "Corrected diagnosis after chart review" if freq == "7" else "Billed in error"
                )
        while len(self.visits) < 160:
            telehealth(rng.choice(single)) if rng.random() < 0.3 else office(rng.choice(single))
        assert len(self.visits) == 160, len(self.visits)
        del adults

    def eob_by_line(self, v: Visit, paid_on: str) -> Decimal:
        """The primary's EOB line by line (primary_eob_lines.csv); returns the total paid."""
        total = Decimal(0)
        for i, ln in enumerate(v.lines, start=1):
            paid, contractual, deductible = _split(self.line_charge(ln))
            total += paid
            self.eob_lines.append(
                {
                    "Visit #": v.vid,
                    "Line": str(i),
                    "Paid": str(paid),
                    "Adjustments": f"CO-45={contractual}; PR-1={deductible}",
                    "Paid Units": str(ln.units),
                    "Paid Date": paid_on,
                }
            )
        return total

    def line_charge(self, line: Line) -> Decimal:
        if line.charge is not None:
            return line.charge
        return CHARGES.get(line.cpt, Decimal("276.00")) * line.units

    # -- the deliberately bad ---------------------------------------------------------------
    def patient_on(self, payer: str, sex: str = "", rel: str = "Self") -> str:
        """The first patient with only this payer's coverage and a signed AOB."""
        pol = next(
            p
            for p in self.policies
            if p.payer == payer
            and p.rank == "Primary"
            and p.rel == rel
            and not any(q.acct == p.acct and q.rank == "Secondary" for q in self.policies)
            and next(x for x in self.people if x.acct == p.acct).aob == "Signed"
            and next(x for x in self.people if x.acct == p.acct).sex in (sex or "MF")
        )
        return pol.acct

    def bad_visits(self) -> None:
        rng = self.rng
        patient_on = self.patient_on
        cts, fab, nwh, wgh = (patient_on(p) for p in ("CTS02", "FAB03", "NWH01", "WGH04"))
        # E0161 rendering NPI with a bad check digit.
        self.visit(cts, "11", ["M5450"], [Line("99213")], rendering="DR09")
        # E0162 ICD-10 code sent with its decimal point.
        self.visit(fab, "11", ["M54.16"], [Line("99214")], rendering="DR02")
        # E0163 CPT typo (4 digits).
        self.visit(cts, "11", ["M5450"], [Line("9921", charge=Decimal("276.00"))])
        # E0164 modifier typo (three characters).
        self.visit(
            fab,
            "11",
            ["M1711", "M25561"],
            [Line("99213", ["255"], ptr="1:2"), Line("20610", ["RT"])],
        )
        # E0165 diagnosis pointer 3 with only two diagnoses.
        self.visit(cts, "11", ["R079", "I10"], [Line("99214", ptr="1:2"), Line("93000", ptr="3")])
        # E0166 place of service 98 does not exist.
        self.visit(nwh, "98", ["M5450"], [Line("99213")])
        # E0167 date of service in the future.
        self.visit(fab, "11", ["M5450"], [Line("99213")], dos=TODAY + timedelta(days=6))
        # E0168 beyond Woodgrove's 90-day timely-filing window.
        self.visit(wgh, "11", ["M5450"], [Line("99214")], dos=TODAY - timedelta(days=130))
        # E0169 coverage terminated before the date of service.
        termed = self.person(age=51)
        self.policy(termed, "CTS02", term=date(2026, 10, 31))
        self.visit(termed.acct, "11", ["M5450"], [Line("99213")], dos=TODAY - timedelta(days=15))
        # E0170 PM total does not equal the sum of the lines (CLM02 != sum SV102).
        self.visit(nwh, "11", ["M5450"], [Line("99214")], total=Decimal("400.00"))
        # E0171 zero units.
        self.visit(
            fab,
            "11",
            ["M5450", "M6281"],
            [Line("99213", ptr="1:2"), Line("97110", ["GP"], units=Decimal("0"))],
        )
        # E0172 assignment of benefits never captured (out-of-network payer).
        no_aob = self.person(age=63)
        no_aob.aob, no_aob.aob_date = "", None
        self.policy(no_aob, "FAB03")
        self.visit(no_aob.acct, "11", ["M5450"], [Line("99213")])
        # E0173 MRI without the prior authorization Northwind requires.
        self.visit(nwh, "22", ["M5416", "M5126"], [Line("72148", ptr="1:2")], referring="RF02")
        # E0174 replacement claim (7) without the payer's original claim number.
        v = self.visit(cts, "11", ["M5450"], [Line("99214")], freq="7")
        v.pcn = f"{v.pcn}V7"
        # E0175 duplicate of an earlier encounter (same patient, date, procedure, charge).
        original = next(
            x
            for x in self.visits
            if x.acct == fab and x.vid < "E0161" and x.freq == "1" and x.bill_to == "Primary"
        )
        self.visit(
            fab,
            original.pos,
            list(original.dx),
            [Line(ln.cpt, list(ln.mods), ln.units, ln.ptr, ln.ndc) for ln in original.lines],
            dos=original.dos,
            rendering=original.rendering,
            prior_auth=original.prior_auth,
            referral=original.referral,
            referring=original.referring,
            emergency=original.emergency,
        )
        # E0176 Fabrikam pays at most 4 units of 97110 a day (payer rule).
        self.visit(
            fab, "11", ["M5450"], [Line("97110", ["GP"], units=Decimal("6"))], rendering="DR02"
        )
        # E0177 Northwind requires a referral for epidural injections (payer rule).
        self.visit(
            nwh,
            "22",
            ["M5416", "M5126"],
            [Line("64483", ["LT"], ptr="1:2")],
            rendering="DR02",
            prior_auth=f"PA{rng.randint(100000, 999999)}",
        )
        # E0178 the PM system let a delimiter into the patient's address ('*').
        star = self.person(age=29)
        star.street = "45 Oak St Apt 2*B"
        self.policy(star, "TSP05")
        self.visit(star.acct, "11", ["M5450"], [Line("99213")])

    def miscoded_visits(self) -> None:
        """E0179-E0185: wrong for the code sets on the date of service (pipeline/build/coding.py).

        Made after the schedule, so every seeded draw before them stays as it was.
        """
        cts, fab, wgh = (self.patient_on(p) for p in ("CTS02", "FAB03", "WGH04"))
        # E0179 R51 (headache) has been a category since 2020-10-01: R51.0 or R51.9.
        self.visit(cts, "11", ["R51"], [Line("99213")], rendering="DR05")
        # E0180 CPT 99201 was deleted on 2021-01-01.
        self.visit(fab, "11", ["M5450"], [Line("99201", charge=Decimal("120.00"))])
        # E0181 lumbar MRI read at the hospital (POS 22) billed globally instead of with -26.
        self.visit(cts, "22", ["M5416", "M5126"], [Line("72148", ptr="1:2")], referring="RF02")
        # E0182 right-knee injection (RT) for osteoarthritis of the left knee.
        self.visit(
            fab, "11", ["M1712"], [Line("99213", ["25"]), Line("20610", ["RT"])], rendering="DR01"
        )
        # E0183 prostate cancer on a female patient.
        self.visit(
            self.patient_on("TSP05", sex="F"), "11", ["M5450", "C61"], [Line("99214", ptr="1:2")]
        )
        # E0184 an adult preventive visit (99386, ages 40-64) for a child.
        self.visit(self.patient_on("NWH01", rel="Child"), "11", ["Z00129"], [Line("99386")])
        # E0185 injection and E/M the same day, the E/M without modifier 25 (NCCI pair).
        self.visit(
            wgh, "11", ["M1711", "M25561"], [Line("99213", ptr="1:2"), Line("20610", ["RT"])]
        )

    def schedule(self) -> None:
        rng = self.rng
        seen: set[str] = set()
        days = [
            (TODAY + timedelta(days=1), 20),
            (TODAY + timedelta(days=3), 8),
            (TODAY + timedelta(days=4), 7),
        ]
        candidates = [p.acct for p in self.people[:56]]  # not the bad-data patients
        n = 0
        for day, count in days:
            for acct in rng.sample([a for a in candidates if a not in seen], count):
                seen.add(acct)
                n += 1
                types = rng.choice(["30", "30", "30", "98", "30;98", "MH", "AE", "62"])
                provider = {"MH": "DR04", "AE": "DR02", "62": "DR01"}.get(types, "DR05")
                self.appointments.append(
                    {
                        "Appt ID": f"S{n:04d}",
                        "Acct #": acct,
                        "Provider Code": provider,
                        "Appt Date": mdy(day),
                        "Visit Types": types if types != "30" else "",
                    }
                )

    # -- output ---------------------------------------------------------------------------
    def write(self, out: Path = OUT) -> None:
        out.mkdir(parents=True, exist_ok=True)
        _csv(out / "billing_provider.csv", [BILLING])
        _csv(out / "facilities.csv", FACILITIES)
        _csv(
            out / "providers.csv",
            [
                {
                    "Provider Code": c,
                    "Last": last,
                    "First": first,
                    "NPI": n,
                    "Taxonomy": t,
                    "Type": k,
                }
                for c, last, first, n, t, k in PROVIDERS
            ],
        )
        _csv(
            out / "patients.csv",
            [
                {
                    "Acct #": p.acct,
                    "Last Name": p.last,
                    "First Name": p.first,
                    "MI": "",
                    "Birth Date": mdy(p.dob),
                    "Gender": {"M": "Male", "F": "Female"}[p.sex],
                    "Street": p.street,
                    "Street 2": "",
                    "City": p.city[0],
                    "ST": p.city[1],
                    "Zip": p.city[2],
                    "AOB": p.aob,
                    "AOB Date": mdy(p.aob_date),
                    "ROI": "Signed",
                    "Auth Rep Date": mdy(_auth_rep_date(p)),
                }
                for p in self.people
            ],
        )
        byacct = {p.acct: p for p in self.people}
        rows = []
        for pol in self.policies:
            ins = pol.insured or byacct[pol.acct]
            rows.append(
                {
                    "Policy Ref": pol.ref,
                    "Acct #": pol.acct,
                    "Payer ID": pol.payer,
                    "Rank": pol.rank,
                    "Member ID": pol.member,
                    "Dependent Member ID": pol.dep_member,
                    "Group #": pol.group,
                    "Rel to Insured": pol.rel,
                    "Insured Last": ins.last,
                    "Insured First": ins.first,
                    "Insured DOB": mdy(ins.dob),
                    "Insured Sex": {"M": "Male", "F": "Female"}[ins.sex],
                    "Insured Street": ins.street,
                    "Insured City": ins.city[0],
                    "Insured ST": ins.city[1],
                    "Insured Zip": ins.city[2],
                    "Eff Date": mdy(pol.eff),
                    "Term Date": mdy(pol.term),
                }
            )
        _csv(out / "coverages.csv", rows)
        _csv(out / "appointments.csv", self.appointments)
        enc, chg = [], []
        for v in self.visits:
            total = v.total if v.total is not None else sum(self.line_charge(ln) for ln in v.lines)
            enc.append(
                {
                    "Visit #": v.vid,
                    "Claim #": v.pcn,
                    "Acct #": v.acct,
                    "Bill To": v.bill_to,
                    "Rendering": v.rendering,
                    "Referring": v.referring,
                    "Facility": FACILITY_BY_POS.get(v.pos, ""),
                    "POS": v.pos,
                    "DOS": mdy(v.dos),
                    "DOS To": "",
                    "Diagnoses": "|".join(v.dx),
                    "Prior Auth #": v.prior_auth,
                    "Referral #": v.referral,
                    "Onset Date": mdy(v.onset),
                    "Accident Type": v.accident,
                    "Accident State": v.accident_state,
                    "Accident Date": mdy(v.dos) if v.accident else "",
                    "Emergency": "Y" if v.emergency else "N",
                    "Freq": v.freq,
                    "Orig Claim #": v.orig,
                    "Total Charges": f"{total:.2f}",
                    "Notes": v.notes,
                    **_documents(v),
                }
            )
            for i, ln in enumerate(v.lines, start=1):
                mods = [*ln.mods, "", "", "", ""][:4]
                chg.append(
                    {
                        "Visit #": v.vid,
                        "Line": str(i),
                        "CPT": ln.cpt,
                        "Mod1": mods[0],
                        "Mod2": mods[1],
                        "Mod3": mods[2],
                        "Mod4": mods[3],
                        "Units": str(ln.units),
                        "Amount": f"{self.line_charge(ln):.2f}",
                        "Dx Ptr": ln.ptr,
                        "Line DOS": mdy(v.dos),
                        "Line POS": "",
                        "NDC": ln.ndc[0] if ln.ndc else "",
                        "NDC Qty": ln.ndc[1] if ln.ndc else "",
                        "NDC Unit": ln.ndc[2] if ln.ndc else "",
                    }
                )
        _csv(out / "encounters.csv", enc)
        _csv(out / "charges.csv", chg)
        _csv(out / "primary_eob.csv", self.eobs)
        _csv(out / "primary_eob_lines.csv", self.eob_lines)


def _split(charge: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """The primary's payment: 55 % paid, 30 % contractual (CO-45), the rest deductible (PR-1)."""
    paid = (charge * Decimal("0.55")).quantize(Decimal("0.01"))
    contractual = (charge * Decimal("0.30")).quantize(Decimal("0.01"))
    return paid, contractual, charge - paid - contractual


# Clinical documents kept for surgery, injections and imaging (appeal letters enclose them);
# every other such encounter's documents went to the payer with the claim (PWK).
_DOCUMENTS = {
    "29881": "operative report",
    "64483": "procedure note",
    "72148": "MRI report",
    "73721": "MRI report",
}


def _documents(v: Visit) -> dict[str, str]:
    docs = list(dict.fromkeys(_DOCUMENTS[ln.cpt] for ln in v.lines if ln.cpt in _DOCUMENTS))
    sent = bool(docs) and int(v.vid[1:]) % 2 == 0
    return {
        "Attachments": "|".join(docs),
        "PWK Control #": f"AC{v.pcn[2:]}" if sent else "",
        "NSA Consent Date": "",
        "NSA Consent CPT": "",
    }


def _auth_rep_date(p: Person) -> date | None:
    """Patients A0001-A0020 signed a standing authorized-representative designation."""
    return p.aob_date if p.aob == "Signed" and int(p.acct[1:]) <= 20 else None


def _csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    demo = Demo()
    demo.build_people()
    demo.good_visits()
    demo.bad_visits()
    demo.schedule()
    demo.miscoded_visits()
    demo.write()
    print(f"{OUT}: {len(demo.people)} patients, {len(demo.visits)} encounters")


if __name__ == "__main__":
    main()
