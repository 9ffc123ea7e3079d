"""The claims register: coverage of the evidence, schema checks, tolerance rules, README summary.

The expected claims are read off the evidence by hand (LCG 09, 10 September 2012) and written
out here; they are not copied from the register.
"""

from __future__ import annotations

import csv
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from analysis import claims, sources, verdicts
from analysis.claims import ValueRange, claim_interval, compare
from analysis.pipeline import report

# Every number in the evidence's text that measures something (dates alone excepted), as
# (value, unit): shares as fractions.
EXPECTED_NUMBERS = [
    (5, "threat areas"),  # CEOP's 2011 threat assessment: five key threat areas for 2012/13
    (31, "actions"),  # the draft ACPO plan: 31 individual actions ...
    (7, "key considerations"),  # ... under seven key considerations
    (4, "commands"),  # CEOP as one of four key commands in the NCA
    (6, "principles"),  # all six principles CEOP is committed to
    (3, "documents"),  # Working Together split into three new documents
    (5, "issues"),  # five main issues from the consultation of SIOs
    (205, "delegates"),  # CEOP's CSE seminars: some 205 delegates
    (50, "delegates"),  # launch of the thematic assessment: 50 delegates
    (2, "films"),  # the Department of Health's two films on CSE
    (0.25, "proportion of areas"),  # NWG 2010: less than a quarter with protocols
    (2 / 3, "proportion of local authorities"),  # almost two thirds pledged by April 2012
    (152, "local authorities"),  # England's 152 local authorities
    (200_000, "people"),  # an estimated 200,000 people go missing each year
    (0.64, "proportion of reports"),  # children are 64% of missing reports
    (0.25, "proportion of missing children"),  # a quarter suffer abuse while missing
    (4, "police force areas"),  # pilots in four police force areas
    (3, "months"),  # pilots over a three-month period
    (100, "LSCBs"),  # the 100 LSCBs surveyed
    (0.5, "proportion of LSCBs"),  # over half not recording any data on CSE
    (100, "interviews"),  # an excess of 100 interviews behind the monitoring tool
    (1, "proportion of LSCBs"),  # the tool circulated to all LSCBs
]
# Comparisons the evidence makes without a number, read as ratios above 1 (the last: its
# reasoning that exploiters operate where vulnerable children, children's homes among them,
# are concentrated).
EXPECTED_COMPARISONS = [(1, "ratio"), (1, "ratio"), (1, "dispersion ratio"), (1, "ratio")]


@pytest.fixture(scope="module")
def register():
    return claims.load_register()


def _key(value: float, unit: str) -> tuple[float, str]:
    return (round(float(value), 3), unit)


def test_every_number_in_the_evidence_is_a_claim(register) -> None:
    have = Counter(_key(v, u) for v, u in zip(register["value"], register["unit"], strict=True))
    want = Counter(_key(v, u) for v, u in EXPECTED_NUMBERS + EXPECTED_COMPARISONS)
    missing = want - have
    assert not missing, f"claims missing from the register: {sorted(missing)}"
    extra = have - want
    assert not extra, f"claims in the register but not in this test's list: {sorted(extra)}"


def test_qualifiers_follow_the_evidence_wording(register) -> None:
    reg = register.set_index("claim_id")
    by_value = {(_key(r.value, r.unit)): r.qualifier for r in reg.itertuples()}
    assert by_value[_key(200_000, "people")] == "about"  # "an estimated"
    assert by_value[_key(0.25, "proportion of areas")] == "less_than"
    assert by_value[_key(0.5, "proportion of LSCBs")] == "more_than"  # "over half"
    assert by_value[_key(100, "interviews")] == "more_than"  # "an excess of"
    assert by_value[_key(205, "delegates")] == "about"  # "some 205"
    assert by_value[_key(0.64, "proportion of reports")] == "exact"


def test_vocabularies_and_shares(register) -> None:
    assert set(register["verdict"]) <= set(claims.VERDICTS)
    assert set(register["qualifier"]) <= set(claims.QUALIFIERS)
    shares = register[register["unit"].str.startswith("proportion")]
    assert ((shares["value"] >= 0) & (shares["value"] <= 1)).all()
    assert register["claim_id"].is_unique


def test_every_source_id_is_registered(register) -> None:
    known = set(sources.load_register())
    used = {s for cell in register["sources"] for s in cell.split(";") if s}
    assert used and used <= known


def test_typed_verdicts_carry_a_note_and_self_reports_cite_nothing(register) -> None:
    typed = register[~register["claim_id"].isin(verdicts.RULES)]
    assert (typed["note"].str.len() > 20).all()
    self_reported = register[register["verdict"] == "self_reported"]
    assert (self_reported["sources"] == "").all()
    # the brief's self-reported counts about CEOP's and ACPO's own work
    assert set(self_reported["value"]) >= {5, 31, 7, 205, 50, 4, 3, 6}


def test_outputs_and_themes_are_well_formed(register) -> None:
    assert register["output"].str.startswith("figures/").all()
    assert register["theme"].str.match(r"^\d{2}_").all()


# The quantities are checked for words shared with the evidence, with every other text the
# project writes, by tests/unit/test_paraphrase.py (any run of 8 or more words).


# --- schema errors name the file, line and column -------------------------------------------


def _rewrite(path: Path, line: int, column: str, value: str) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    rows[line - 1][rows[0].index(column)] = value
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("verdict", "probably_true", "is not one of"),
        ("qualifier", "roughly", "is not one of"),
        ("value", "1.5", "share above 1"),
        ("value", "lots", "not a number"),
        ("sources", "SRC-NOPE", "unknown source id"),
        ("output", "/tmp/x.png", "not a path under figures/"),
        ("claim_id", "C01", "duplicate claim_id"),
        ("figure_ids", "MP99", "unknown published figure"),
        ("sources", "SRC-MP04", "not listed"),
    ],
)
def test_bad_cells_are_reported_with_file_line_and_column(
    published_copy: Path, column: str, value: str, problem: str
) -> None:
    path = published_copy / "claims.csv"
    reg = claims.load_register(path)
    # the row of the 64% claim (a share with a figure) is line index + 2
    line = int(reg.index[reg["claim_id"] == "C17"][0]) + 2
    _rewrite(path, line, column, value)
    with pytest.raises(claims.ClaimsRegisterError) as err:
        claims.load_register(path)
    message = str(err.value)
    assert "claims.csv" in message and f"line {line}" in message
    assert f"column '{column}'" in message and problem in message


def test_typed_claim_without_a_note_is_rejected(published_copy: Path) -> None:
    path = published_copy / "claims.csv"
    _rewrite(path, 4, "note", "")  # line 4 is C03, a typed self-reported count
    with pytest.raises(claims.ClaimsRegisterError, match=r"line 4, column 'note'"):
        claims.load_register(path, computed=verdicts.RULES)


def test_missing_column_is_rejected(published_copy: Path) -> None:
    path = published_copy / "claims.csv"
    text = path.read_text().replace(",theme,", ",topic,", 1)
    path.write_text(text)
    with pytest.raises(claims.ClaimsRegisterError, match=r"line 1, column 'theme'"):
        claims.load_register(path)


# --- tolerance rules -----------------------------------------------------------------------


def test_claim_intervals_by_qualifier() -> None:
    about = claim_interval(200_000, "about", "people")
    assert math.isclose(about.lo, 180_000) and math.isclose(about.hi, 220_000)
    exact_share = claim_interval(0.64, "exact", "proportion of reports")
    assert exact_share.contains(0.644) and not exact_share.contains(0.646)
    exact_count = claim_interval(100, "exact", "LSCBs")
    assert exact_count.contains(100) and not exact_count.contains(101)
    below = claim_interval(0.25, "less_than", "proportion of areas")
    assert below.contains(0.2499) and not below.contains(0.25)
    above = claim_interval(0.5, "more_than", "proportion of LSCBs")
    assert above.contains(0.51) and not above.contains(0.5) and above.hi == 1.0
    with pytest.raises(ValueError, match="qualifier"):
        claim_interval(1, "nearly")


def test_compare_outcomes() -> None:
    quarter_or_less = claim_interval(0.25, "less_than", "proportion of areas")
    assert compare(quarter_or_less, ValueRange(0, 0.25, hi_closed=False)) == "implied"
    assert compare(quarter_or_less, ValueRange(0.4, 0.4)) == "conflict"
    assert compare(quarter_or_less, ValueRange(0.25, 0.25)) == "conflict"
    assert compare(quarter_or_less, ValueRange(0, 0.5, hi_closed=False)) == "compatible"
    assert compare(claim_interval(200_000, "about", "people"), ValueRange(192_000, 192_000)) == (
        "implied"
    )


def test_wording() -> None:
    assert claims.describe(0.5, "more_than", "proportion of LSCBs") == "more than 50% of LSCBs"
    assert claims.describe(152, "exact", "local authorities") == "152 local authorities"
    assert claims.format_value(2 / 3, "proportion of local authorities") == "66.7%"


# --- README summary --------------------------------------------------------------------------


def test_update_readme_without_markers_does_nothing(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n\nNo markers here.\n")
    assert report.update_readme(readme) is False
    assert readme.read_text() == "# Title\n\nNo markers here.\n"
    assert report.update_readme(tmp_path / "absent.md") is False


def test_update_readme_rewrites_between_markers_once(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# T\n\n{report.README_START}\nold text\n{report.README_END}\n\nafter\n")
    assert report.update_readme(readme) is True
    text = readme.read_text()
    assert "old text" not in text and text.endswith(f"{report.README_END}\n\nafter\n")
    block = text.split(report.README_START)[1].split(report.README_END)[0]
    assert "| not_traced |" in block and "| self_reported |" in block
    assert "**C23**" in block and "**C14**" in block  # not-traced claims are listed by id
    assert report.update_readme(readme) is False  # deterministic: nothing changes the second time


def test_for_theme_selects_by_notebook_prefix() -> None:
    assert verdicts.for_theme("02")["claim_id"].tolist() == ["C13", "C14", "C22", "C23"]
    assert verdicts.for_theme("05")["value"].tolist() == [4, 3]


def test_importing_claims_does_not_load_matplotlib() -> None:
    code = "import sys, analysis.claims; sys.exit('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
