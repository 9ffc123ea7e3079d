"""Fuzz test of the ingest (issue 16): mutated valid returns against an independent oracle.

Hypothesis builds valid returns (any column order, byte-order mark or not, LF or CRLF, spaces
around cells, counts written ``3``, ``+3``, ``3.0`` or ``003``), then damages them: cells
replaced by awkward values, bytes inserted or deleted, the file cut short, lines repeated or
swapped, a column dropped, a second file for the same area and period. The oracle below
re-states the return format from the module docstring on its own, with the standard
library's ``csv`` and ``decimal`` modules, and decides what ingest must do: no traceback, no
invalid file accepted, no valid file changed (its collated rows are exactly its cells).

Examples are bounded so the test runs in ``make test`` in seconds; in CI the "ci" profile of
``tests/conftest.py`` makes them the same every run.
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import returns

COLUMNS = [
    "area_code",
    "period",
    "age_band",
    "sex",
    "looked_after",
    "identified_at_risk",
    "confirmed_victims",
    "went_missing",
]
AGES = ["0-9", "10-12", "13-15", "16-17", "unknown"]
SEXES = ["female", "male", "unknown"]
LOOKED_AFTER = ["yes", "no", "unknown"]
REGISTER = frozenset({"SYN001", "SYN002", "E08000001"})
LIMIT = 1_000_000
NASTY = [
    "",
    " ",
    "0",
    "-0",
    "+7",
    "007",
    "7.0",
    "7.",
    ".0",
    "-1",
    "0.5",
    "1e3",
    "3_000",
    "٣",
    "３",
    "1,000",
    "nan",
    "inf",
    "9" * 31,
    str(2**63 - 1),
    str(2**53 + 1),
    "3.0000000000000001",
    "1000000",
    "1000001",
    "SYN001",
    "SYN009",
    "2011-12",
    "2011-13",
    "٢٠١١-١٢",
    "female",
    "Female",
    "yes",
    "13-15",
    "<html>",
    '"',
    'a"b',
    "x\ny",
]
BYTES = [b",", b'"', b"\n", b"\r", b"\x00", b"\xff", b"\xef\xbb\xbf", b" ", "٣".encode()]


# --------------------------------------------------------------------------- the oracle


def _count(text: str) -> int | None:
    if not re.fullmatch(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)", text, re.ASCII):
        return None
    value = Decimal(text)
    if value != value.to_integral_value() or value < 0 or value > LIMIT:
        return None
    return int(value)


def _rows(name: str, raw: bytes) -> list[list[str]] | None:
    """The file's data rows (cells stripped) if its structure is sound, else None."""
    if len(raw) > returns.MAX_FILE_BYTES or b"\x00" in raw:
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if not text.strip() or not text.endswith(("\n", "\r")):
        return None
    records = []
    try:
        for row in csv.reader(io.StringIO(text, newline=""), strict=True):
            cells = [c.strip() for c in row]
            if any(cells):
                records.append(cells)
    except csv.Error:
        return None
    if not records:
        return None
    header, rows = records[0], records[1:]
    if sorted(header) != sorted(COLUMNS) or not rows or any(len(r) != 8 for r in rows):
        return None
    position = {c: header.index(c) for c in COLUMNS}
    return [[row[position[c]] for c in COLUMNS] for row in rows]


def _key(rows: list[list[str]] | None) -> tuple[str, str] | None:
    if rows is None:
        return None
    areas, periods = {r[0] for r in rows}, {r[1] for r in rows}
    if len(areas) == 1 and len(periods) == 1 and "" not in areas | periods:
        return next(iter(areas)), next(iter(periods))
    return None


def oracle(name: str, raw: bytes) -> list[tuple] | None:
    """The rows ingest must collate from this file on its own, or None if it is invalid."""
    rows = _rows(name, raw)
    if rows is None or _key(rows) is None:
        return None
    named = re.search(r"_([A-Za-z0-9]+)_([0-9]{4}-[0-9]{2})\.csv$", name, re.ASCII)
    out, seen = [], set()
    for area, period, age, sex, la, *counts in rows:
        match = re.fullmatch(r"([0-9]{4})-([0-9]{2})", period, re.ASCII)
        numbers = [_count(c) for c in counts]
        if (
            area not in REGISTER
            or not match
            or (int(match.group(1)) + 1) % 100 != int(match.group(2))
            or age not in AGES
            or sex not in SEXES
            or la not in LOOKED_AFTER
            or None in numbers
            or numbers[1] > numbers[0]
            or numbers[2] > numbers[0]
            or (age, sex, la) in seen
            or (named and (named.group(1), named.group(2)) != (area, period))
        ):
            return None
        seen.add((age, sex, la))
        out.append((area, period, age, sex, la, *numbers))
    return out


# --------------------------------------------------------------------------- strategies


@st.composite
def valid_returns(draw) -> tuple[str, bytes]:
    area = draw(st.sampled_from(sorted(REGISTER)))
    year = draw(st.integers(2009, 2014))
    period = f"{year}-{(year + 1) % 100:02d}"
    keys = draw(
        st.lists(
            st.tuples(st.sampled_from(AGES), st.sampled_from(SEXES), st.sampled_from(LOOKED_AFTER)),
            min_size=1,
            max_size=6,
            unique=True,
        )
    )
    order = draw(st.permutations(COLUMNS))
    spaced = draw(st.booleans())

    def count(n: int) -> str:
        return draw(st.sampled_from([str(n), f"+{n}", f"{n}.0", f"00{n}"]))

    lines = [",".join(order)]
    for age, sex, la in keys:
        at = draw(st.integers(0, 40))
        cells = {
            "area_code": area,
            "period": period,
            "age_band": age,
            "sex": sex,
            "looked_after": la,
            "identified_at_risk": count(at),
            "confirmed_victims": count(draw(st.integers(0, at))),
            "went_missing": count(draw(st.integers(0, at))),
        }
        lines.append(",".join((f" {cells[c]} " if spaced else cells[c]) for c in order))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join(lines) + newline
    raw = text.encode()
    if draw(st.booleans()):
        raw = b"\xef\xbb\xbf" + raw
    name = draw(st.sampled_from([f"return_{area}_{period}.csv", "return.csv", f"x_{area}.csv"]))
    return name, raw


@st.composite
def mutated(draw) -> tuple[str, bytes]:
    name, raw = draw(valid_returns())
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(
            st.sampled_from(["cell", "cell", "insert", "delete", "cut", "repeat", "swap", "column"])
        )
        if kind == "cell":
            text = raw.decode("utf-8", errors="surrogateescape")
            cells = [m.span() for m in re.finditer(r"[^,\r\n]+", text)]
            if cells:
                start, end = draw(st.sampled_from(cells))
                value = draw(st.sampled_from(NASTY))
                text = text[:start] + value + text[end:]
                raw = text.encode("utf-8", errors="surrogateescape")
        elif kind == "insert":
            at = draw(st.integers(0, len(raw)))
            raw = raw[:at] + draw(st.sampled_from(BYTES)) + raw[at:]
        elif kind == "delete" and raw:
            at = draw(st.integers(0, len(raw) - 1))
            raw = raw[:at] + raw[at + 1 :]
        elif kind == "cut":
            raw = raw[: draw(st.integers(0, len(raw)))]
        elif kind in ("repeat", "swap"):
            lines = raw.split(b"\n")
            if len(lines) > 2:
                i = draw(st.integers(1, len(lines) - 2))
                j = draw(st.integers(1, len(lines) - 2))
                if kind == "repeat":
                    lines.insert(j, lines[i])
                else:
                    lines[i], lines[j] = lines[j], lines[i]
                raw = b"\n".join(lines)
        elif kind == "column":
            raw = re.sub(rb"identified_at_risk|,went_missing", b"", raw, count=1)
    return name, raw


# --------------------------------------------------------------------------- the test


def check_folder(tmp_path: Path, files: list[tuple[str, bytes]]) -> None:
    folder = tmp_path / "returns"
    folder.mkdir()
    for name, raw in files:
        (folder / name).write_bytes(raw)
    result = returns.ingest(folder, REGISTER)  # must not raise
    alone = {name: oracle(name, raw) for name, raw in files}
    keys = [_key(_rows(name, raw)) for name, raw in files]
    for (name, _), key in zip(files, keys, strict=True):
        expected = alone[name]
        if key is not None and keys.count(key) > 1:
            expected = None  # X01: another file for the same area and period
        got = result.collated[result.collated["source_file"] == name]
        if expected is None:
            assert name not in result.valid, (name, files)
            assert got.empty
            assert any(e.file == name for e in result.errors)
        else:
            assert name in result.valid, (name, [str(e) for e in result.errors])
            rows = [tuple(r) for r in got[list(returns.COLUMNS)].itertuples(index=False)]
            assert sorted(rows) == sorted(expected)


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(mutated(), min_size=1, max_size=2, unique_by=lambda f: f[0]), st.data())
def test_fuzz_ingest_matches_the_oracle(tmp_path_factory, files, data) -> None:
    if len(files) == 1 and data.draw(st.booleans()):
        name, raw = files[0]
        files.append(("copy_" + name.split("_", 1)[-1], raw))  # same area and period
    check_folder(tmp_path_factory.mktemp("fuzz"), files)


def test_the_oracle_accepts_the_strategy_and_rejects_damage() -> None:
    """The oracle itself, on hand-made cases (so it can fail)."""
    head = ",".join(COLUMNS)
    ok = f"{head}\nSYN001,2011-12,13-15,female,no,3,1,0\n".encode()
    assert oracle("r.csv", ok) == [("SYN001", "2011-12", "13-15", "female", "no", 3, 1, 0)]
    assert oracle("r.csv", ok[:-1]) is None  # no final line break
    assert oracle("r.csv", ok.replace(b",3,", b",\xd9\xa3,")) is None  # Arabic-Indic three
    assert oracle("r_SYN002_2011-12.csv", ok) is None  # name disagrees
    assert oracle("r.csv", ok.replace(b",3,1,", b",3,4,")) is None  # confirmed above identified
