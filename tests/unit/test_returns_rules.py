"""Each validation rule of the annual return on its own, with small hand-made returns.

Expected positions come from reading the fake file (0-based data rows), never from running
the validator on real output.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import returns
from analysis.returns import FILE_LEVEL, HEADER_ROW, RULES, ReturnFile

HEAD = (
    "area_code,period,age_band,sex,looked_after,identified_at_risk,confirmed_victims,went_missing"
)
GOOD = [
    "SYN001,2011-12,13-15,female,no,4,2,1",
    "SYN001,2011-12,16-17,male,yes,3,3,3",
    "SYN001,2011-12,unknown,unknown,unknown,0,0,0",
]
REGISTER = {"SYN001", "SYN002"}


def make(lines: list[str], name: str = "return.csv", head: str = HEAD) -> ReturnFile:
    return ReturnFile.from_text("\n".join([head, *lines]) + "\n", name, REGISTER)


def replace(row: int, column: str, value: str) -> list[str]:
    """GOOD with one cell changed."""
    cols = HEAD.split(",")
    rows = [line.split(",") for line in GOOD]
    rows[row][cols.index(column)] = value
    return [",".join(r) for r in rows]


def replace_all(column: str, value: str) -> list[str]:
    """GOOD with a column set to one value on every row."""
    cols = HEAD.split(",")
    rows = [line.split(",") for line in GOOD]
    for row in rows:
        row[cols.index(column)] = value
    return [",".join(r) for r in rows]


# rule code -> (failing file, expected failing positions)
CASES: dict[str, tuple[ReturnFile, list[int]]] = {
    "F00": (ReturnFile.unread("r.csv", REGISTER, "F00", "Permission denied"), [FILE_LEVEL]),
    "F02": (ReturnFile.from_text("", "r.csv", REGISTER), [FILE_LEVEL]),
    "F03": (ReturnFile.from_bytes("r.csv", b"\x89PNG\x00\x00", REGISTER), [FILE_LEVEL]),
    "F04": (ReturnFile.from_text("<html><body>hi</body></html>", "r.csv"), [FILE_LEVEL]),
    "F05": (make([*GOOD, 'SYN001,"2011-12,0-9,male,no,1,0,0']), [FILE_LEVEL]),
    "F06": (make([g.replace(",", ";") for g in GOOD], head=HEAD.replace(",", ";")), [HEADER_ROW]),
    "F07": (
        make([g.rsplit(",", 1)[0] for g in GOOD], head=HEAD.rsplit(",", 1)[0]),
        [HEADER_ROW],
    ),
    "F08": (make([g + ",x" for g in GOOD], head=HEAD + ",notes"), [HEADER_ROW]),
    "F09": (make([g + ",no" for g in GOOD], head=HEAD + ",looked_after"), [HEADER_ROW]),
    "F10": (make([]), [FILE_LEVEL]),
    "F11": (make([GOOD[0], "SYN001,2011-12", GOOD[2]]), [1]),
    "F12": (ReturnFile.unread("r.csv", REGISTER, "F12", "it is a FIFO"), [FILE_LEVEL]),
    "F13": (ReturnFile.unread("r.csv", REGISTER, "F13", "it points to 'x'"), [FILE_LEVEL]),
    "F14": (ReturnFile.unread("r.csv", REGISTER, "F14", "it points to /etc"), [FILE_LEVEL]),
    "F15": (ReturnFile.unread("r.csv", REGISTER, "F15", "2,000,000 bytes"), [FILE_LEVEL]),
    "F16": (ReturnFile.from_text("\n".join([HEAD, *GOOD]), "r.csv", REGISTER), [FILE_LEVEL]),
    "F17": (
        ReturnFile.from_text("\n".join([HEAD, *GOOD]) + "\n", "r\\xe9turn.csv", REGISTER),
        [FILE_LEVEL],
    ),
    "R01": (make(replace(1, "area_code", "")), [1]),
    "R02": (make(replace_all("area_code", "E06000001")), [0, 1, 2]),
    "R03": (make(replace(2, "period", "")), [2]),
    "R04": (make(replace_all("period", "2011/12")), [0, 1, 2]),
    "R05": (make(replace_all("period", "2011-13")), [0, 1, 2]),
    "R06": (make(replace(0, "age_band", "10-15")), [0]),
    "R07": (make(replace(1, "sex", "Male")), [1]),
    "R08": (make(replace(2, "looked_after", "n/a")), [2]),
    "R09": (make(replace(2, "area_code", "SYN002")), [2]),
    "R10": (make(replace(1, "period", "2012-13")), [1]),
    "R11": (make(GOOD, name="return_SYN002_2011-12.csv"), [0, 1, 2]),
    "R12": (make([*GOOD, GOOD[1]]), [3]),
    "R13": (make(replace(0, "identified_at_risk", "")), [0]),
    "R14": (make(replace(0, "identified_at_risk", "four")), [0]),
    "R15": (make(replace(2, "identified_at_risk", "-2")), [2]),
    "R16": (make(replace(0, "identified_at_risk", "4.5")), [0]),
    "R17": (make(replace(1, "confirmed_victims", "")), [1]),
    "R18": (make(replace(1, "confirmed_victims", "n/a")), [1]),
    "R19": (make(replace(1, "confirmed_victims", "-1")), [1]),
    "R20": (make(replace(1, "confirmed_victims", "0.5")), [1]),
    "R21": (make(replace(2, "went_missing", "")), [2]),
    "R22": (make(replace(2, "went_missing", "1e3")), [2]),
    "R23": (make(replace(0, "went_missing", "-3")), [0]),
    "R24": (make(replace(0, "went_missing", "0.25")), [0]),
    "R25": (make(replace(0, "confirmed_victims", "5")), [0]),
    "R26": (make(replace(1, "went_missing", "4")), [1]),
    "R27": (make(replace(0, "identified_at_risk", "1000001")), [0]),
    "R28": (make(replace(1, "confirmed_victims", "9" * 31)), [1]),
    "R29": (make(replace(2, "went_missing", str(2**63 - 1))), [2]),
    "X01": (make(GOOD), [FILE_LEVEL]),  # duplicates set below
}
CASES["F17"][0].name_ok = False
CASES["X01"][0].duplicates = ("other.csv",)


def test_every_rule_has_a_case() -> None:
    assert set(CASES) == set(RULES)


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_flags_its_problem(code: str) -> None:
    ctx, expected = CASES[code]
    assert RULES[code](ctx) == expected


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_passes_a_valid_return(code: str) -> None:
    ctx = make(GOOD, name="return_SYN001_2011-12.csv")
    assert RULES[code](ctx) == []


@pytest.mark.parametrize("code", sorted(CASES))
def test_each_bad_file_breaks_only_its_rule(code: str) -> None:
    """A clear report: the one problem in a fake file is reported by one rule only."""
    ctx, _ = CASES[code]
    assert {e.rule for e in returns.validate(ctx)} == {code}


def test_rules_are_well_formed() -> None:
    messages = [r.message for r in RULES.values()]
    assert len(set(messages)) == len(messages), "each rule needs its own message"
    for code, rule in RULES.items():
        assert rule.code == code and re.fullmatch(r"[FRX]\d\d", code)
        assert rule.message and rule.message[0].islower()
        assert set(rule.fields) <= set(returns.COLUMNS)
        if rule.level == "row":
            assert rule.fields, f"{code} must name the fields it affects"


def test_error_rows_are_line_numbers_and_columns_are_named() -> None:
    ctx = make(replace(1, "sex", "M"))
    (error,) = returns.validate(ctx)
    assert (error.row, error.column, error.rule) == (3, "sex", "R07")  # header is line 1


def test_missing_columns_each_reported() -> None:
    head = "area_code,period,age_band,sex,looked_after,identified_at_risk"
    ctx = make([",".join(g.split(",")[:6]) for g in GOOD], head=head)
    errors = returns.validate(ctx)
    assert [(e.rule, e.column, e.row) for e in errors] == [
        ("F07", "confirmed_victims", 1),
        ("F07", "went_missing", 1),
    ]


def test_whole_file_errors_have_no_row() -> None:
    (error,) = returns.validate(ReturnFile.from_text("", "r.csv"))
    assert error.row is None and error.as_row()[1] == ""


def test_row_rules_not_run_when_structure_is_broken() -> None:
    ctx = make([g + ",x" for g in replace(0, "sex", "??")], head=HEAD + ",notes")
    assert ctx.data is None
    assert {e.rule for e in returns.validate(ctx)} == {"F08"}


@pytest.mark.parametrize(
    ("text", "count"),
    [("0", 0), ("12", 12), ("3.0", 3), ("+4", 4), ("007", 7), ("-0", 0)],
)
def test_whole_numbers_accepted(text: str, count: int) -> None:
    ctx = make([f"SYN001,2011-12,13-15,female,no,{text},0,0"])
    assert returns.validate(ctx) == []
    assert ctx.counts("identified_at_risk")[0] == count


@pytest.mark.parametrize("text", ["nan", "inf", "1e3", "1,000", "4 children", "0x10"])
def test_non_numbers_rejected(text: str) -> None:
    ctx = ReturnFile.from_text(
        f'{HEAD}\nSYN001,2011-12,13-15,female,no,"{text}",0,0\n', "r.csv", REGISTER
    )
    assert RULES["R14"](ctx) == [0]


@pytest.mark.parametrize("period", ["2011-12", "1999-00", "2012-13", "2099-00"])
def test_financial_years_accepted(period: str) -> None:
    ctx = make(replace(0, "period", period)[:1])
    assert RULES["R04"](ctx) == [] and RULES["R05"](ctx) == []


@pytest.mark.parametrize("period", ["2011-11", "2011-2012", "11-12", "2011–12", "FY2011-12"])
def test_bad_periods_rejected(period: str) -> None:
    ctx = make(replace(0, "period", period)[:1])
    assert RULES["R04"](ctx) + RULES["R05"](ctx) == [0]


def test_bom_crlf_spaces_and_column_order_accepted() -> None:
    head = "period,area_code,sex,age_band,looked_after,went_missing,confirmed_victims,identified_at_risk"
    text = f"{head}\r\n2011-12 , SYN001,female,13-15,no,1,2,4\r\n\r\n"
    ctx = ReturnFile.from_bytes("r.csv", b"\xef\xbb\xbf" + text.encode(), REGISTER)
    assert returns.validate(ctx) == []
    assert ctx.data is not None
    assert ctx.data.iloc[0].tolist() == [
        "SYN001",
        "2011-12",
        "13-15",
        "female",
        "no",
        "4",
        "2",
        "1",
    ]
    assert ctx.area_period == ("SYN001", "2011-12")


def test_file_name_check_only_when_name_has_area_and_period() -> None:
    assert returns.name_area_period("bolton_E08000001_2012-13.csv") == ("E08000001", "2012-13")
    assert returns.name_area_period("returns 2012.csv") is None
    assert RULES["R11"](make(GOOD, name="anything.csv")) == []


def test_register_accepts_real_codes(tmp_path) -> None:
    path = tmp_path / "la.csv"
    path.write_bytes(
        "\ufeffarea_code,name\r\nE08000001,Bolton\r\n E06000001 ,Hartlepool\r\n".encode()
    )
    assert set(returns.load_area_register(path)["area_code"]) == {"E08000001", "E06000001"}


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "not found"), ("code,name\nE1,x\n", "no area_code column"), ("area_code\n", "no area")],
)
def test_register_problems(tmp_path, content: str | None, problem: str) -> None:
    path = tmp_path / "reg.csv"
    if content is not None:
        path.write_text(content)
    with pytest.raises(returns.RegisterError, match=problem):
        returns.load_area_register(path)


# --------------------------------------------------------------------------- issue 16 attacks


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("9" * 31, "R27"),  # crashed ingest with a traceback
        (str(2**63 - 1), "R27"),  # likewise
        (str(2**53 + 1), "R27"),  # was silently changed by float
        ("1000001", "R27"),
        ("3.0000000000000001", "R16"),  # was silently rounded to 3
        ("٣", "R14"),  # Arabic-Indic three: was accepted as 3
        ("３", "R14"),  # full-width three
        ("3_000", "R14"),
        ("1e3", "R14"),
    ],
)
def test_counts_are_exact_ascii_integers_up_to_the_maximum(text: str, rule: str) -> None:
    ctx = make([f"SYN001,2011-12,13-15,female,no,{text},0,0"])
    assert [e.rule for e in returns.validate(ctx)] == [rule]
    assert ctx.counts("identified_at_risk") == [None]


def test_the_maximum_itself_is_accepted_exactly() -> None:
    ctx = make([f"SYN001,2011-12,13-15,female,no,{returns.MAX_COUNT},0,0"])
    assert returns.validate(ctx) == []
    assert ctx.counts("identified_at_risk") == [1_000_000]


@pytest.mark.parametrize("period", ["٢٠١١-١٢", "２０１１-１２", "2011-١٢"])
def test_periods_in_other_digits_are_refused(period: str) -> None:
    ctx = make(replace_all("period", period))
    assert {e.rule for e in returns.validate(ctx)} == {"R04"}


# An independent reading of a count cell: the decimal module, after an ASCII check.
def oracle_number(text: str) -> tuple[bool, bool, bool, int | None] | None:
    """(negative, whole, too large, count) or None for "not a number"."""
    from decimal import Decimal

    if not re.fullmatch(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)", text, re.ASCII):
        return None
    value = Decimal(text)
    negative = value < 0
    whole = value == value.to_integral_value()
    too_large = not negative and value > returns.MAX_COUNT
    count = int(value) if whole and not negative and not too_large else None
    return negative, whole, too_large, count


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.text(alphabet="0123456789+-.e_ ٣３", max_size=12),
        st.integers(-(10**30), 10**30).map(str),
        st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    )
)
def test_property_read_number_agrees_with_decimal(text: str) -> None:
    number = returns.read_number(text)
    expected = oracle_number(text)
    if expected is None:
        assert number is None
    else:
        assert number is not None
        assert (number.negative, number.whole, number.too_large, number.count) == expected


def test_error_rows_are_capped_per_file_with_the_count_of_the_rest() -> None:
    rows = [f"SYN001,2011-12,13-15,female,no,x{i},0,0" for i in range(250)]
    errors = returns.validate(make(rows))
    assert len(errors) == returns.MAX_ERRORS_PER_FILE + 1
    last = errors[-1]
    assert (last.rule, last.row, last.column) == ("F99", None, "")
    # 250 R14 (not a number) plus 249 R12 (the same cell repeated), minus the 100 listed
    assert last.message.startswith("and 399 more errors in this file")


def test_long_cells_are_cut_in_messages() -> None:
    (error,) = returns.validate(make(replace(0, "sex", "x" * 5000)))
    assert len(error.message) < 200
