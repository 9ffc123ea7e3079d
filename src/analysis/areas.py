"""England's local authorities, built at run time from the downloaded files (never committed).

:func:`register` returns one row per authority code that appears in DfE's yearly local-authority
files: its ONS code, DfE's old 3-digit number, name and region, the reporting years in which the
code is in use, its predecessor and successor codes across the boundary changes of 2019
(Bournemouth, Christchurch and Poole; Dorset), 2020 (Buckinghamshire), 2021 (North and West
Northamptonshire) and 2023 (Cumberland, Westmorland and Furness; new codes for North Yorkshire
and Somerset), its ten statistical neighbours (DfE's 2025 model), its police force area (ONS
lookups: district to police force area, lower to upper tier) and its position on Open
Innovations' hex cartogram.

How the register is built, and what comes from where:

- **Codes, numbers, names, regions, years**: DfE's table B1 (reporting years 2013 to 2025) and the
  2012 looked-after release (SFR 20/2012). A reporting year is the year to 31 March: 2020 is
  April 2019 to March 2020, the first year of the 2019 changes.
- **Successions** are derived from those files: a code that stops and a code that starts in the
  same year with the same 3-digit number is a *code change* (same area); the other codes that stop
  and start in one region in one year form one change, whose links are derived where one side
  has a single code and otherwise taken from ``data/reference/boundary_changes.csv`` (facts with
  a citation to each structural changes order). Every derived link is checked against that table.
- **Statistical neighbours**, **police force area** and **hex position** come from their own
  downloads; a predecessor or renamed code inherits them through its successions where that is
  unambiguous, and is left empty otherwise (e.g. no hex for the authorities split out of
  Cumbria and Northamptonshire, which the 2020 cartogram predates).

:func:`consistent_boundaries` aggregates counts to one geography so a series can be read across
the changes; :func:`lookup` and :func:`match_names` find authorities by name, with close matches
offered and every unmatched name reported. Errors name the file, line and column.

Examples
--------
With small hand-made fake files in the downloaded formats (the real ones come from
:func:`analysis.external.fetch`):

>>> from analysis import areas, paths
>>> fakes = paths.PROJECT_ROOT / "tests" / "fixtures" / "external_fakes"
>>> reg = areas.register(files=areas.fake_files(fakes))
>>> reg.at["F06000003", "area_name"], reg.at["F06000003", "predecessors"]
('Fake Merged Borough', ('F06000001', 'F06000002'))
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import paths, sources
from analysis.tables import TableError, display_path, read_ragged

__all__ = [
    "BOUNDARY_CHANGES",
    "INPUTS",
    "NAME_SPELLINGS",
    "SUMMABLE_UNITS",
    "YEAR_CONVENTIONS",
    "AreaDataError",
    "UnmatchedNamesError",
    "consistent_boundaries",
    "fake_files",
    "harmonise",
    "links",
    "lookup",
    "match_names",
    "normalise_name",
    "register",
    "register_codes",
    "regions",
    "reporting_year",
]

#: Small committed tables of facts (each row with its citation); see ``data/reference/README.md``.
REFERENCE: Path = paths.DATA / "reference"
BOUNDARY_CHANGES: Path = REFERENCE / "boundary_changes.csv"
NAME_SPELLINGS: Path = REFERENCE / "area_name_spellings.csv"

#: Downloads (registry names of :mod:`analysis.external`) the register is built from.
INPUTS: tuple[str, ...] = (
    "cin_2013_2025",
    "cla_2012",
    "statistical_neighbours_2025",
    "lookup_ltla_utla_2023",
    "lookup_lad_pfa_2023",
    "hexmap_utla",
)

#: Units whose values are counts and may be summed across areas; anything else (rates,
#: percentages, averages) must be recomputed from summed numerators and denominators.
SUMMABLE_UNITS: frozenset[str] = frozenset(
    {"children", "episodes", "incidents", "places", "homes", "providers", "referrals"}
)

#: Year conventions of the local tables, and how to find the reporting year (year to 31 March)
#: whose geography a row uses: a mid-year estimate for 30 June Y and a count at 30 September Y
#: fall in the reporting year Y + 1.
YEAR_CONVENTIONS: dict[str, int] = {
    "year to 31 March": 0,
    "at 31 March": 0,
    "mid-year (30 June)": 1,
    "at 30 September": 1,
}

#: Inner and Outer London are parts of the London region; DfE's tables give them as regions.
_LONDON_PARTS = {"inner london": "E13000001", "outer london": "E13000002"}


class AreaDataError(TableError):
    """A downloaded geography file or a reference table breaks its expected layout."""


class UnmatchedNamesError(KeyError):
    """Names that match no authority; ``unmatched`` maps each to its close matches."""

    def __init__(
        self, unmatched: Mapping[str, Sequence[str]], year: int | None = None, where: str = ""
    ):
        self.unmatched = {k: list(v) for k, v in unmatched.items()}
        when = f" in {year}" if year is not None else ""
        lines = [f"{len(self.unmatched)} name(s) match no local authority{when}:"]
        if where:
            lines[0] = f"{where}: {lines[0]}"
        for name, close in self.unmatched.items():
            hint = f" (close matches: {', '.join(close)})" if close else " (no close match)"
            lines.append(f"  {name!r}{hint}")
        lines.append(f"add genuine spelling differences to {display_path(NAME_SPELLINGS)}")
        super().__init__("\n".join(lines))

    def __str__(self) -> str:  # KeyError would show the repr of the message
        return str(self.args[0])


# --------------------------------------------------------------------------- inputs


def _fetch(name: str) -> Path:
    from analysis import external  # floor 2; imported lazily so importing areas stays cheap

    return Path(external.fetch(name))


def _resolve(files: Mapping[str, Path | str] | None) -> tuple[tuple[str, str, str], ...]:
    """Return (name, path, sha256) for every input, fetching those ``files`` does not give."""
    given = dict(files or {})
    unknown = sorted(set(given) - set(INPUTS))
    if unknown:
        raise KeyError(f"not inputs of the area register: {', '.join(unknown)}; inputs: {INPUTS}")
    out = []
    for name in INPUTS:
        path = Path(given[name]) if name in given else _fetch(name)
        if not path.exists():
            raise AreaDataError(display_path(path), None, None, "file not found")
        out.append((name, str(path), sources.sha256(path)))
    return tuple(out)


def fake_files(folder: Path | str) -> dict[str, Path]:
    """Map each input of the register to its hand-made fake in ``folder`` (tests, examples).

    The fakes are named ``fake_<registry name>.<ext>``; see ``tests/fixtures/external_fakes``.
    """
    folder = Path(folder)
    out = {}
    for name in INPUTS:
        matches = sorted(folder.glob(f"fake_{name}.*"))
        if matches:
            out[name] = matches[0]
    return out


def _read_csv(path: Path, *, skip: int = 0) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and (line, stripped fields) rows of a CSV (:func:`analysis.tables.read_ragged`)."""
    return read_ragged(path, skip=skip, error=AreaDataError, strip=True)


def _require(path: Path, header: Sequence[str], columns: Iterable[str]) -> dict[str, int]:
    index = {name: i for i, name in enumerate(header)}
    missing = [c for c in columns if c not in index]
    if missing:
        raise AreaDataError(
            display_path(path), 1, missing[0], f"missing column(s): {', '.join(missing)}"
        )
    return index


# --------------------------------------------------------------------------- yearly files


@dataclass
class _Code:
    code: str
    number: str
    names: dict[int, str]
    regions: dict[int, tuple[str, str]]

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(sorted(self.names))


def _region_of(code: str, name: str) -> tuple[str, str]:
    """(region name, region code) with Inner and Outer London read as London."""
    if name.strip().casefold() in _LONDON_PARTS:
        return "London", "E12000007"
    return name, code


#: The geography columns every DfE explore-education-statistics table starts with.
EES_GEOGRAPHY: tuple[str, ...] = tuple(
    "time_period time_identifier geographic_level country_code country_name region_code "
    "region_name old_la_code new_la_code la_name".split()
)


def _read_b1(path: Path) -> tuple[dict[str, _Code], pd.DataFrame]:
    header, rows = _read_csv(path)
    ix = _require(path, header, EES_GEOGRAPHY)
    codes: dict[str, _Code] = {}
    regions: dict[str, dict] = {}
    shown = display_path(path)
    for line, f in rows:
        if not re.fullmatch(r"\d{4}", f[ix["time_period"]]):
            raise AreaDataError(shown, line, "time_period", f"not a year: {f[ix['time_period']]!r}")
        year = int(f[ix["time_period"]])
        level = f[ix["geographic_level"]]
        if level == "Regional":
            name = f[ix["region_name"]]
            code = _LONDON_PARTS.get(name.casefold(), f[ix["region_code"]])
            parent = "London" if name.casefold() in _LONDON_PARTS else name
            regions[code] = {"region_code": code, "region_name": name, "region": parent}
        elif level == "Local authority":
            code, number, name = (f[ix[c]] for c in ("new_la_code", "old_la_code", "la_name"))
            for column, value in (
                ("new_la_code", code),
                ("old_la_code", number),
                ("la_name", name),
            ):
                if not value:
                    raise AreaDataError(shown, line, column, "empty for a local authority row")
            entry = codes.setdefault(code, _Code(code, number, {}, {}))
            if entry.number != number:
                raise AreaDataError(
                    shown, line, "old_la_code", f"{code} has two numbers: {entry.number}, {number}"
                )
            if year in entry.names:
                raise AreaDataError(shown, line, "new_la_code", f"{code} twice in {year}")
            entry.names[year] = name
            entry.regions[year] = _region_of(f[ix["region_code"]], f[ix["region_name"]])
        elif level != "National":
            raise AreaDataError(shown, line, "geographic_level", f"unknown level {level!r}")
    frame = pd.DataFrame(sorted(regions.values(), key=lambda r: r["region_code"]))
    return codes, frame


def _read_sfr_2012(path: Path, codes: dict[str, _Code]) -> None:
    """Add the 2012 authorities of SFR 20/2012 (codes as that release gives them)."""
    header, rows = _read_csv(path)
    ix = _require(path, header, ("New_geog_code", "geog_l", "geog_c", "geog_n"))
    by_number = {c.number: c for c in codes.values()}
    shown = display_path(path)
    for line, f in rows:
        if f[ix["geog_l"]] != "LA":
            continue
        code, number, name = f[ix["New_geog_code"]], f[ix["geog_c"]], f[ix["geog_n"]]
        if not code or not re.fullmatch(r"\d{3}", number):
            raise AreaDataError(shown, line, "geog_c", f"not a 3-digit LA number: {number!r}")
        entry = codes.setdefault(code, _Code(code, number, {}, {}))
        if entry.number != number:
            raise AreaDataError(shown, line, "geog_c", f"{code} has two numbers")
        entry.names[2012] = name
        later = by_number.get(number)
        region = next(iter(later.regions.values())) if later and later.regions else ("", "")
        entry.regions[2012] = region


# --------------------------------------------------------------------------- successions


def _read_facts(path: Path) -> pd.DataFrame:
    header, rows = _read_csv(path)
    cols = (
        "predecessor_code",
        "predecessor_name",
        "successor_code",
        "successor_name",
        "effective_date",
        "part",
        "legislation",
        "url",
        "note",
    )
    ix = _require(path, header, cols)
    records = []
    for line, f in rows:
        rec = {c: f[ix[c]] for c in cols}
        for c in cols[:-1]:
            if not rec[c]:
                raise AreaDataError(display_path(path), line, c, "required value is empty")
        if not re.fullmatch(r"\d{4}-04-01", rec["effective_date"]):
            raise AreaDataError(
                display_path(path), line, "effective_date", "changes take effect on 1 April"
            )
        if rec["part"] not in ("whole", "part"):
            raise AreaDataError(display_path(path), line, "part", "must be 'whole' or 'part'")
        rec["first_year"] = int(rec["effective_date"][:4]) + 1
        records.append(rec)
    return pd.DataFrame(records)


def _derive_links(codes: dict[str, _Code], facts: pd.DataFrame) -> pd.DataFrame:
    """Links predecessor -> successor from the codes' years, checked against the facts."""
    years = sorted({y for c in codes.values() for y in c.names})
    in_use = {y: {c.code for c in codes.values() if y in c.names} for y in years}
    fact_pairs = {(r.predecessor_code, r.successor_code): r for r in facts.itertuples(index=False)}
    out = []
    for before, after in zip(years, years[1:], strict=False):
        gone = in_use[before] - in_use[after]
        new = in_use[after] - in_use[before]
        for old in sorted(gone):
            same = [n for n in new if codes[n].number == codes[old].number]
            if len(same) == 1:
                out.append((old, same[0], after, "code change", "whole"))
                gone = gone - {old}
                new = new - {same[0]}
        by_region: dict[str, tuple[set, set]] = {}
        for c in gone:
            by_region.setdefault(codes[c].regions[before][0], (set(), set()))[0].add(c)
        for c in new:
            by_region.setdefault(codes[c].regions[after][0], (set(), set()))[1].add(c)
        for region, (olds, news) in sorted(by_region.items()):
            if olds and not news:
                raise AreaDataError(
                    "the yearly files",
                    None,
                    None,
                    f"{', '.join(sorted(olds))} ({region}) stop in {after} with no new code in "
                    f"the region to succeed them",
                )
            if not olds:
                continue  # first seen in the files (e.g. an authority the 2012 file omits)
            if len(olds) == 1 or len(news) == 1:
                pairs = [(o, n) for o in sorted(olds) for n in sorted(news)]
            else:
                pairs = sorted(p for p in fact_pairs if p[0] in olds and p[1] in news)
                covered = {p[0] for p in pairs} | {p[1] for p in pairs}
                if covered != olds | news:
                    raise AreaDataError(
                        display_path(BOUNDARY_CHANGES),
                        None,
                        None,
                        f"cannot derive who succeeded whom in {region} in {after} "
                        f"({', '.join(sorted(olds))} -> {', '.join(sorted(news))}): add the "
                        "links, with their citation, to the boundary changes table",
                    )
            kind = "split" if len(news) > 1 and len(olds) == 1 else "merger"
            if len(news) > 1 and len(olds) > 1:
                kind = "merger and split"
            fan_out = {o: sum(1 for p in pairs if p[0] == o) for o in olds}
            for old, new_code in pairs:
                # a predecessor with one successor went to it whole; with several, in parts
                part = "whole" if fan_out[old] == 1 else "part"
                out.append((old, new_code, after, kind, part))
    frame = pd.DataFrame(out, columns=["predecessor", "successor", "first_year", "kind", "part"])
    # every fact whose codes are in the files must be what the files show
    for r in facts.itertuples(index=False):
        if r.predecessor_code in codes and r.successor_code in codes:
            hit = frame[
                (frame["predecessor"] == r.predecessor_code)
                & (frame["successor"] == r.successor_code)
            ]
            if hit.empty or int(hit["first_year"].iloc[0]) != r.first_year:
                raise AreaDataError(
                    display_path(BOUNDARY_CHANGES),
                    None,
                    "predecessor_code",
                    f"{r.predecessor_code} -> {r.successor_code} from {r.first_year} is not what "
                    "the yearly files show",
                )
            if hit["part"].iloc[0] != r.part:
                raise AreaDataError(
                    display_path(BOUNDARY_CHANGES),
                    None,
                    "part",
                    f"{r.predecessor_code} -> {r.successor_code}: the files show "
                    f"{hit['part'].iloc[0]!r}, the table says {r.part!r}",
                )
    legislation = {
        (r.predecessor_code, r.successor_code): f"{r.legislation} <{r.url}>"
        for r in facts.itertuples(index=False)
    }
    frame["evidence"] = [
        legislation.get((p, s), "derived from the yearly files")
        for p, s in zip(frame["predecessor"], frame["successor"], strict=True)
    ]
    return frame


# --------------------------------------------------------------------------- other inputs


def _read_neighbours(path: Path) -> dict[str, tuple[list[str], list[str]]]:
    header, rows = _read_csv(path)
    cols = ["old_la_code"] + [f"SN_{k}" for k in range(1, 11)] + [f"SN_{k}P" for k in range(1, 11)]
    ix = _require(path, header, cols)
    out = {}
    for line, f in rows:
        number = f[ix["old_la_code"]]
        neighbours = [f[ix[f"SN_{k}"]] for k in range(1, 11)]
        bands = [f[ix[f"SN_{k}P"]].strip() for k in range(1, 11)]
        for k, n in enumerate(neighbours, start=1):
            if not re.fullmatch(r"\d{3}", n):
                raise AreaDataError(display_path(path), line, f"SN_{k}", f"not an LA number: {n!r}")
        out[number] = (neighbours, bands)
    return out


def _read_police(utla_path: Path, pfa_path: Path) -> dict[str, tuple[str, str]]:
    """Upper-tier code -> (police force area code, name), via its districts."""
    header, rows = _read_csv(utla_path)
    ix = _require(utla_path, header, ("LTLA23CD", "UTLA23CD"))
    upper = {f[ix["LTLA23CD"]]: f[ix["UTLA23CD"]] for _, f in rows}
    header, rows = _read_csv(pfa_path)
    jx = _require(pfa_path, header, ("LAD23CD", "PFA23CD", "PFA23NM"))
    forces: dict[str, set[tuple[str, str]]] = {}
    for line, f in rows:
        district = f[jx["LAD23CD"]]
        if district not in upper:
            raise AreaDataError(
                display_path(pfa_path),
                line,
                "LAD23CD",
                f"district {district} is not in {display_path(utla_path)}",
            )
        forces.setdefault(upper[district], set()).add((f[jx["PFA23CD"]], f[jx["PFA23NM"]]))
    out = {}
    for code, found in forces.items():
        if len(found) != 1:
            raise AreaDataError(
                display_path(pfa_path),
                None,
                "PFA23CD",
                f"upper-tier authority {code} spans {len(found)} police force areas",
            )
        out[code] = next(iter(found))
    return out


def _read_hexes(path: Path) -> dict[str, tuple[int, int]]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
        return {str(k): (int(v["q"]), int(v["r"])) for k, v in data["hexes"].items()}
    except (ValueError, KeyError, TypeError) as err:
        raise AreaDataError(display_path(path), None, None, f"not a HexJSON map: {err}") from None


# --------------------------------------------------------------------------- the register


@dataclass(frozen=True)
class _Graph:
    """Successions as lookups: successors, predecessors and code-change neighbours of a code."""

    successors: dict[str, tuple[str, ...]]
    predecessors: dict[str, tuple[str, ...]]
    renamed: dict[str, tuple[str, ...]]

    @classmethod
    def of(cls, links: pd.DataFrame) -> _Graph:
        succ: dict[str, list[str]] = {}
        pred: dict[str, list[str]] = {}
        ren: dict[str, list[str]] = {}
        for p, s, kind in zip(links["predecessor"], links["successor"], links["kind"], strict=True):
            succ.setdefault(p, []).append(s)
            pred.setdefault(s, []).append(p)
            if kind == "code change":
                ren.setdefault(p, []).append(s)
                ren.setdefault(s, []).append(p)

        def freeze(d: dict[str, list[str]]) -> dict[str, tuple[str, ...]]:
            return {k: tuple(sorted(v)) for k, v in d.items()}

        return cls(freeze(succ), freeze(pred), freeze(ren))


def _inherit(code: str, table: Mapping[str, object], graph: _Graph, *, forward: bool):
    """A value for ``code`` from its own entry, else through its successions if unambiguous.

    Code changes (same area) are followed both ways. With ``forward``, any succession is also
    followed from predecessor to successors (right for a police force area, which all the
    successors share; wrong for a map position, which only a renamed area keeps).
    """
    if code in table:
        return table[code]
    seen, frontier = {code}, [code]
    while frontier:
        found, nxt = set(), []
        for c in frontier:
            step = list(graph.renamed.get(c, ()))
            if forward:
                step += graph.successors.get(c, ())
            for n in step:
                if n not in seen:
                    seen.add(n)
                    nxt.append(n)
                    if n in table:
                        found.add(table[n])
        if found:
            return found.pop() if len(found) == 1 else None
        frontier = nxt
    return None


@lru_cache(maxsize=8)
def _build(
    inputs: tuple[tuple[str, str, str], ...], facts_path: str, facts_sha: str
) -> pd.DataFrame:
    files = {name: Path(p) for name, p, _ in inputs}
    codes, region_frame = _read_b1(files["cin_2013_2025"])
    _read_sfr_2012(files["cla_2012"], codes)
    facts = _read_facts(Path(facts_path))
    links = _derive_links(codes, facts)
    graph = _Graph.of(links)
    neighbours = _read_neighbours(files["statistical_neighbours_2025"])
    police = _read_police(files["lookup_ltla_utla_2023"], files["lookup_lad_pfa_2023"])
    hexes = _read_hexes(files["hexmap_utla"])
    years = sorted({y for c in codes.values() for y in c.names})
    latest = years[-1]
    current_by_number = {c.number: c.code for c in codes.values() if latest in c.names}
    records = []
    for code in sorted(codes):
        c = codes[code]
        last = max(c.names)
        sn: tuple[str, ...] = ()
        bands: tuple[str, ...] = ()
        if latest in c.names and c.number in neighbours:
            numbers, band_list = neighbours[c.number]
            missing = [n for n in numbers if n not in current_by_number]
            if missing:
                raise AreaDataError(
                    display_path(files["statistical_neighbours_2025"]),
                    None,
                    "SN_1",
                    f"neighbours of {c.number} not among the {latest} authorities: {missing}",
                )
            sn = tuple(current_by_number[n] for n in numbers)
            bands = tuple(band_list)
        force = _inherit(code, police, graph, forward=True)
        hexpos = _inherit(code, hexes, graph, forward=False)
        region, region_code = c.regions[last]
        if not region:  # a 2012-only code: take the region of its successor
            region, region_code = next(
                (codes[s].regions[max(codes[s].names)] for s in graph.successors.get(code, ())),
                ("", ""),
            )
        records.append(
            {
                "area_code": code,
                "la_number": c.number,
                "area_name": c.names[last],
                "region": region,
                "region_code": region_code,
                "first_year": min(c.names),
                "last_year": last,
                "years": c.years,
                "current": latest in c.names,
                "predecessors": graph.predecessors.get(code, ()),
                "successors": graph.successors.get(code, ()),
                "statistical_neighbours": sn,
                "neighbour_closeness": bands,
                "police_force_area_code": force[0] if force else "",
                "police_force_area": force[1] if force else "",
                "hex_q": float(hexpos[0]) if hexpos else np.nan,
                "hex_r": float(hexpos[1]) if hexpos else np.nan,
            }
        )
    frame = pd.DataFrame.from_records(records).set_index("area_code", drop=False)
    frame.index.name = None
    key = hashlib.sha256(repr((inputs, facts_sha)).encode()).hexdigest()[:16]
    _PARTS[key] = _Parts(links, graph, region_frame)
    frame.attrs.update(
        years=years,
        parts=key,
        inputs={name: p for name, p, _ in inputs},
        sources=_source_ids([name for name, _, _ in inputs]),
        synthetic=False,
    )
    return frame


@dataclass(frozen=True)
class _Parts:
    """What a register knows beyond its rows: successions, their graph and DfE's regions."""

    links: pd.DataFrame
    graph: _Graph
    regions: pd.DataFrame


#: The parts of every register built in this process, keyed by ``attrs["parts"]``. They live
#: here, not in ``attrs``: pandas deep-copies ``attrs`` on nearly every operation on a frame.
_PARTS: dict[str, _Parts] = {}
_NO_PARTS = _Parts(
    pd.DataFrame(columns=["predecessor", "successor", "first_year", "kind", "part", "evidence"]),
    _Graph({}, {}, {}),
    pd.DataFrame(columns=["region_code", "region_name", "region"]),
)


def _parts(reg: pd.DataFrame) -> _Parts:
    """The successions, graph and regions of a register (or of rows taken from one).

    A frame made by hand (the tests') has none: no successions, no regions.
    """
    return _PARTS.get(reg.attrs.get("parts", ""), _NO_PARTS)


def _source_ids(names: Iterable[str]) -> list[str]:
    """The provenance ids of downloads (the download registry's ``source_id``)."""
    from analysis import external

    return sorted({external.record(n).source_id for n in names})


def _copy(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.attrs = {k: (v.copy() if hasattr(v, "copy") else v) for k, v in frame.attrs.items()}
    return out


def register(files: Mapping[str, Path | str] | None = None) -> pd.DataFrame:
    """Return England's local authorities, one row per code, built from the downloaded files.

    Parameters
    ----------
    files : mapping of str to path, optional
        Paths to use instead of downloading, keyed by registry name (see :data:`INPUTS`);
        the tests pass hand-made fakes. Inputs not given are fetched with
        :func:`analysis.external.fetch`.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``area_code``; columns ``area_code``, ``la_number`` (DfE's 3-digit number),
        ``area_name``, ``region``, ``region_code``, ``first_year`` and ``last_year`` and ``years``
        (reporting years, to 31 March, in which the code is in use in the yearly files: 2012
        from SFR 20/2012, which has no row for the Isles of Scilly, then table B1),
        ``current`` (in use in the latest year), ``predecessors`` and ``successors`` (tuples of
        codes), ``statistical_neighbours`` (ten codes, nearest first, for current authorities)
        and ``neighbour_closeness`` (DfE's bands), ``police_force_area`` and its code, and
        ``hex_q``, ``hex_r`` (odd-r hex cartogram position; NaN where the map has none).
        ``attrs["years"]`` lists the years covered. The successions and the regions are
        :func:`links` and :func:`regions` of the register (kept out of ``attrs``, which pandas
        deep-copies on nearly every operation; ``attrs["parts"]`` is their key).

    Raises
    ------
    AreaDataError
        Naming the file, line and column of a malformed input, a succession the files cannot
        settle and the reference table does not give, or a fact the files contradict.

    Examples
    --------
    >>> from analysis import paths
    >>> fakes = fake_files(paths.PROJECT_ROOT / "tests/fixtures/external_fakes")
    >>> reg = register(files=fakes)
    >>> int(reg.at["F06000001", "last_year"]), reg.at["F06000001", "successors"]
    (2019, ('F06000003',))
    >>> reg.loc["F06000003", "statistical_neighbours"][:2]
    ('F08000001', 'F09000002')
    """
    inputs = _resolve(files)
    return _copy(_build(inputs, str(BOUNDARY_CHANGES), sources.sha256(BOUNDARY_CHANGES)))


def _default() -> pd.DataFrame:
    return register()


def links(reg: pd.DataFrame | Mapping[str, Path | str] | None = None) -> pd.DataFrame:
    """Return the successions of a register: who became whom, when, how.

    ``reg`` is a register (or rows of one), or the ``files`` of :func:`register` to build
    it from (default the downloads). Columns: ``predecessor``, ``successor``, ``first_year``
    (the first reporting year of the successor), ``kind`` (code change, merger, split, merger
    and split), ``part`` (whole or part of the predecessor's area) and ``evidence`` (the
    legislation, or "derived from the yearly files"). A register made by hand has none.

    Examples
    --------
    >>> from analysis import paths
    >>> reg = register(fake_files(paths.PROJECT_ROOT / "tests/fixtures/external_fakes"))
    >>> links(reg).query("successor == 'F06000003'")["predecessor"].tolist()
    ['F06000001', 'F06000002']
    """
    return _parts(_as_register(reg)).links.copy()


def regions(reg: pd.DataFrame | Mapping[str, Path | str] | None = None) -> pd.DataFrame:
    """Return the regions of DfE's tables: ``region_code``, ``region_name`` and ``region``.

    ``reg`` as for :func:`links`. Inner London (E13000001) and Outer London (E13000002)
    have ``region`` London.
    """
    return _parts(_as_register(reg)).regions.copy()


def _as_register(given: pd.DataFrame | Mapping[str, Path | str] | None) -> pd.DataFrame:
    return given if isinstance(given, pd.DataFrame) else register(given)


def reporting_year(year: int, convention: str) -> int:
    """The reporting year (year to 31 March) whose geography a figure for ``year`` uses.

    Examples
    --------
    >>> reporting_year(2019, "mid-year (30 June)"), reporting_year(2023, "at 31 March")
    (2020, 2023)
    """
    try:
        return int(year) + YEAR_CONVENTIONS[convention]
    except KeyError:
        raise ValueError(
            f"unknown year convention {convention!r}; known: {', '.join(YEAR_CONVENTIONS)}"
        ) from None


def register_codes(
    spec: str = "england", files: Mapping[str, Path | str] | None = None
) -> frozenset[str]:
    """The codes of England's authorities, for ``ingest --register england`` or ``england:YYYY``.

    ``england`` gives every code in use in any year the files cover (a return for 2012-13 from
    Cumbria is valid); ``england:2025`` only those in use in the year to 31 March 2025.

    Returns
    -------
    frozenset of str

    Raises
    ------
    ValueError
        For another spec, or a year the files do not cover.

    Examples
    --------
    >>> from analysis import paths
    >>> fakes = fake_files(paths.PROJECT_ROOT / "tests/fixtures/external_fakes")
    >>> sorted(register_codes("england:2020", fakes))
    ['F06000003', 'F08000001', 'F09000001', 'F10000001']
    >>> len(register_codes("england", fakes))
    10
    """
    match = re.fullmatch(r"england(?::(\d{4}))?", spec.strip().casefold())
    if not match:
        raise ValueError(f"not a register name: {spec!r} (use 'england' or 'england:YYYY')")
    reg = register(files)
    if not match.group(1):
        return frozenset(reg.index[reg["years"].map(bool)])
    year = int(match.group(1))
    if year not in reg.attrs["years"]:
        raise ValueError(
            f"no authorities for {year}: the files cover {reg.attrs['years'][0]} to "
            f"{reg.attrs['years'][-1]}"
        )
    return frozenset(reg.index[reg["years"].map(lambda ys: year in ys)])


# --------------------------------------------------------------------------- names


def normalise_name(name: str) -> str:
    """Compare names case-insensitively, with ``&`` read as ``and`` and spaces collapsed.

    Examples
    --------
    >>> normalise_name("  Telford &  Wrekin ")
    'telford and wrekin'
    """
    return " ".join(str(name).replace("&", " and ").casefold().split())


@lru_cache(maxsize=4)
def _spellings(path: str, sha: str) -> dict[str, str]:
    header, rows = _read_csv(Path(path))
    ix = _require(Path(path), header, ("spelling", "area_name", "seen_in", "note"))
    out: dict[str, str] = {}
    for line, f in rows:
        key = normalise_name(f[ix["spelling"]])
        if not key or not f[ix["area_name"]]:
            raise AreaDataError(display_path(Path(path)), line, "spelling", "empty spelling")
        if key in out:
            raise AreaDataError(display_path(Path(path)), line, "spelling", "repeated spelling")
        out[key] = f[ix["area_name"]]
    return out


def spellings() -> dict[str, str]:
    """The committed table of differing spellings: normalised spelling -> register name."""
    return dict(_spellings(str(NAME_SPELLINGS), sources.sha256(NAME_SPELLINGS)))


def _in_use(reg: pd.DataFrame, year: int | None) -> pd.DataFrame:
    year = reg.attrs["years"][-1] if year is None else int(year)
    year = min(max(year, reg.attrs["years"][0]), reg.attrs["years"][-1])
    return reg[reg["years"].map(lambda ys: year in ys)]


def _close(name: str, candidates: Iterable[str]) -> list[str]:
    pool = sorted(set(candidates))
    lowered = {normalise_name(c): c for c in pool}
    hits = difflib.get_close_matches(normalise_name(name), list(lowered), n=3, cutoff=0.6)
    return [lowered[h] for h in hits]


def lookup(
    name_or_code: str, year: int | None = None, *, register: pd.DataFrame | None = None
) -> pd.Series:
    """Return the register row of an authority given its ONS code, 3-digit number or name.

    A name is matched case-insensitively (``&`` as ``and``), then through the committed table of
    differing spellings; where several codes carry the name (e.g. Dorset before and after 2019),
    the one in use in ``year`` (default: the latest year) is returned.

    Raises
    ------
    KeyError
        Listing close matches (difflib) when nothing matches.

    Examples
    --------
    >>> from analysis import paths
    >>> reg = register(fake_files(paths.PROJECT_ROOT / "tests/fixtures/external_fakes"))
    >>> lookup("fake merged borough", register=reg)["area_code"]
    'F06000003'
    >>> lookup("Fake Mergd Borogh", register=reg)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    KeyError: "no local authority 'Fake Mergd Borogh'; close matches: Fake Merged Borough, ..."
    """
    reg = _default() if register is None else register
    text = str(name_or_code).strip()
    if text.upper() in reg.index:
        return reg.loc[text.upper()].copy()
    if re.fullmatch(r"\d{3}", text):
        hits = reg[reg["la_number"] == text]
    else:
        target = normalise_name(text)
        target = normalise_name(spellings().get(target, text))
        hits = reg[reg["area_name"].map(normalise_name) == target]
    if len(hits) > 1:
        now = hits[hits.index.isin(_in_use(reg, year).index)]
        hits = now if len(now) else hits.sort_values("last_year").iloc[[-1]]
    if len(hits) == 1:
        return hits.iloc[0].copy()
    close = _close(text, list(reg["area_name"]) + list(reg.index))
    hint = f"; close matches: {', '.join(close)}" if close else "; no close match"
    raise KeyError(f"no local authority {text!r}{hint}")


def match_names(
    names: Iterable[str], year: int | None = None, *, register: pd.DataFrame | None = None
) -> dict[str, str]:
    """Map authority names (e.g. from a provider list) to codes in use in ``year``.

    Parameters
    ----------
    names : iterable of str
        Names as a publication spells them; repeats are fine.
    year : int, optional
        Reporting year (year to 31 March) whose authorities to match; default the latest.

    Returns
    -------
    dict of str to str
        Each distinct name to its ONS code.

    Raises
    ------
    UnmatchedNamesError
        Naming **every** name that matches no authority in use that year, each with close
        matches, so one run shows every spelling to add to the committed table.

    Examples
    --------
    >>> from analysis import paths
    >>> reg = register(fake_files(paths.PROJECT_ROOT / "tests/fixtures/external_fakes"))
    >>> match_names(["Fakeport, City of", "FAKEHAM"], 2025, register=reg)
    {'Fakeport, City of': 'F08000001', 'FAKEHAM': 'F09000002'}
    """
    reg = _default() if register is None else register
    pool = _in_use(reg, year)
    by_name: dict[str, str] = {}
    for code, name in zip(pool.index, pool["area_name"], strict=True):
        by_name.setdefault(normalise_name(name), code)
    table = spellings()
    out: dict[str, str] = {}
    unmatched: dict[str, list[str]] = {}
    for raw in names:
        if raw in out or raw in unmatched:
            continue
        key = normalise_name(raw)
        code = by_name.get(key) or by_name.get(normalise_name(table.get(key, "")))
        if code:
            out[raw] = code
        else:
            unmatched[raw] = _close(raw, pool["area_name"])
    if unmatched:
        raise UnmatchedNamesError(unmatched, year)
    return out


# --------------------------------------------------------------------------- harmonising


def _column(reg: pd.DataFrame, column: str) -> dict[str, object]:
    """A register column as a plain dict (indexing the frame in loops would copy its attrs)."""
    return dict(zip(reg.index, reg[column], strict=True))


def _replace(frame: pd.DataFrame, rows: np.ndarray, column: str, values: Sequence) -> None:
    """Set ``column`` of the masked ``rows`` to ``values``, writing only the cells that change.

    Most cells already hold the register's value; setting every masked cell would convert the
    whole list again (the slowest step of harmonising a large table).
    """
    where = np.flatnonzero(rows)
    current = frame[column].to_numpy(dtype=object)[where]
    new = np.empty(len(values), dtype=object)
    new[:] = values
    try:
        changed = ~(pd.isna(current) & pd.isna(new)) & (current != new)
    except TypeError:  # e.g. pd.NA, whose comparisons have no truth value: write them all
        changed = np.ones(len(where), dtype=bool)
    if changed.any():
        frame.iloc[where[changed], frame.columns.get_loc(column)] = new[changed]


def _duplicated(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """``frame.duplicated(columns, keep=False)`` (every row whose key repeats), but quicker."""
    codes = [pd.factorize(frame[c].to_numpy(), use_na_sentinel=False)[0] for c in columns]
    levels = [np.arange(c.max() + 1 if len(c) else 0) for c in codes]
    return pd.MultiIndex(levels=levels, codes=codes).duplicated(keep=False)


def _code_in_use(years: Mapping[str, tuple[int, ...]], graph: _Graph, code: str, year: int) -> str:
    """The code in use in ``year`` for the authority published as ``code`` (renames only)."""
    if code not in years or year in years[code]:
        return code
    seen, frontier = {code}, [code]
    while frontier:
        nxt = []
        for c in frontier:
            for n in graph.renamed.get(c, ()):
                if n in seen:
                    continue
                if year in years[n]:
                    return n
                seen.add(n)
                nxt.append(n)
        frontier = nxt
    return code


def harmonise(frame: pd.DataFrame, register: pd.DataFrame | None = None) -> pd.DataFrame:
    """Give a tidy local frame the register's codes, numbers, names and regions.

    For local-authority rows, a code published for a year in which the authority had another
    code (DfE's later files code North Yorkshire E06000065 back to 2021; the 2013-2017 releases
    still use Gateshead's pre-2013 code) becomes the code in use that year, through the 1:1
    code changes of the register; the DfE number, the register's name and the region are set.
    Rows for codes not in use that year with no value (DfE's "not applicable" placeholders for
    authorities that did not exist yet or any more) are kept as published unless they collide
    with a real row. Regional rows get the codes and names of DfE's regions (Inner and Outer
    London with their own codes).

    Raises
    ------
    KeyError
        If a local-authority code is not in the register.
    ValueError
        If two rows with values end up with the same code, year and measure.
    """
    reg = _default() if register is None else register
    out = frame.copy()
    la = (out["geography"] == "local authority").to_numpy()
    la_codes = out["area_code"].to_numpy(dtype=object)[la]
    unknown = sorted(set(la_codes) - set(reg.index))
    if unknown:
        raise KeyError(f"codes not in the area register: {', '.join(unknown[:10])}")
    years = _column(reg, "years")
    graph = _parts(reg).graph
    # the code in use depends on (code, year, convention) only: work it out once per distinct
    # key (a table repeats each for every measure), then spread it back over the rows
    code_ids, code_set = pd.factorize(la_codes)
    conv_ids, conv_set = pd.factorize(out["year_convention"].to_numpy(dtype=object)[la])
    row_years = out["year"].to_numpy()[la].astype("int64")
    first_year = int(row_years.min()) if len(row_years) else 0
    span = int(row_years.max()) - first_year + 1 if len(row_years) else 1
    key_ids, key_set = pd.factorize(
        (code_ids * len(conv_set) + conv_ids) * span + row_years - first_year
    )
    mapped = []
    for k in key_set.tolist():
        rest, year = divmod(k, span)
        code, convention = code_set[rest // len(conv_set)], conv_set[rest % len(conv_set)]
        ry = reporting_year(year + first_year, convention)
        new = _code_in_use(years, graph, code, ry)
        mapped.append((new, ry not in years[new]))
    placeholder = np.zeros(len(out), dtype=bool)
    placeholder[la] = np.array([m[1] for m in mapped], dtype=bool)[key_ids]
    placeholder &= out["value"].isna().to_numpy()
    new_codes = [m[0] for m in mapped]
    for column, of_code in (
        ("area_code", None),
        ("la_number", _column(reg, "la_number")),
        ("area_name", _column(reg, "area_name")),
        ("region", _column(reg, "region")),
    ):
        per_key = np.empty(len(mapped), dtype=object)
        per_key[:] = new_codes if of_code is None else [of_code[c] for c in new_codes]
        _replace(out, la, column, per_key[key_ids])
    reg_regions = _parts(reg).regions
    rg = (out["geography"] == "regional").to_numpy()
    if rg.any():
        by_name = {normalise_name(n): (c, n, p) for c, n, p in reg_regions.itertuples(index=False)}
        published = out["area_name"].to_numpy(dtype=object)[rg].tolist()
        of_name = {n: by_name.get(normalise_name(n)) for n in set(published)}
        missing = sorted(n for n, f in of_name.items() if not f)
        if missing:
            raise KeyError(f"regions not in DfE's tables: {', '.join(missing)}")
        found = [of_name[n] for n in published]
        _replace(out, rg, "area_code", [f[0] for f in found])
        _replace(out, rg, "area_name", [f[1] for f in found])
        _replace(out, rg, "region", [f[2] for f in found])
    key = ["area_code", "year", "measure", "release"]
    dup = _duplicated(out, key)
    if dup.any():
        clash = out[dup & ~placeholder]
        if clash.duplicated(key).any():
            first = clash[clash.duplicated(key)].iloc[0]
            raise ValueError(
                f"two values for {first['area_code']} {first['year']} {first['measure']} "
                "after harmonising codes"
            )
        out = out[~(dup & placeholder)]
    out.attrs = dict(frame.attrs)
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- boundaries


def consistent_boundaries(
    frame: pd.DataFrame, to_year: int | None = None, *, register: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Aggregate local-authority counts to one geography so series read across the changes.

    Authorities linked by a boundary change between the frame's years and ``to_year`` are
    grouped; each group is labelled with the authorities of ``to_year`` it covers: one code
    where the change was a merger or a code change (Bournemouth and Poole with Dorset county's
    Christchurch into BCP...), several joined with ``+`` where one authority was split (the
    counts of Cumbria before 2023 cannot be divided between Cumberland and Westmorland and
    Furness, so all years report "E06000063+E06000064"). A group's count for a year is the
    sum of its members in use that year; if any member is missing or suppressed the sum is
    NaN with the reason in ``status`` (``incomplete: ...``), never a partial total.

    Parameters
    ----------
    frame : pandas.DataFrame
        A tidy frame from :mod:`analysis.local` (codes harmonised). National and regional rows
        pass through unchanged.
    to_year : int, optional
        Reporting year whose geography to use; default the latest year of the register.

    Returns
    -------
    pandas.DataFrame
        The same columns; ``attrs["boundaries"]`` maps each group label to its member codes.

    Raises
    ------
    ValueError
        If the frame holds rates, percentages or averages (units not in
        :data:`SUMMABLE_UNITS`): they cannot be summed; aggregate the numerators and
        denominators and recompute the rate. Also if a code has a value in a year in which
        it was not in use.

    Examples
    --------
    >>> from analysis import local, paths
    >>> fakes = paths.PROJECT_ROOT / "tests/fixtures/external_fakes"
    >>> reg = register(fake_files(fakes))
    >>> pop = local.load_child_population(fakes / "fake_population_2012_2024.csv", register=reg)
    >>> out = consistent_boundaries(pop[pop["geography"] == "local authority"], register=reg)
    >>> merged = out.query("area_code == 'F06000003' and 2018 <= year <= 2020")
    >>> merged.set_index("year")["value"].to_dict()
    {2018: 3000.0, 2019: 3100.0, 2020: 3150.0}
    """
    reg = _default() if register is None else register
    la = (frame["geography"] == "local authority").to_numpy()
    # the local-authority rows as plain arrays: a few pandas calls, then Python and numpy
    rows = {c: frame[c].to_numpy()[la] for c in _BOUNDARY_COLUMNS}
    bad = sorted(set(rows["unit"].tolist()) - SUMMABLE_UNITS)
    if bad:
        measures = sorted(
            {m for m, u in zip(rows["measure"], rows["unit"], strict=True) if u in bad}
        )
        raise ValueError(
            f"cannot sum {', '.join(measures)} (units: {', '.join(bad)}): rates, percentages and "
            "averages must be recomputed from the aggregated numerators and denominators; "
            "drop them first"
        )
    years = reg.attrs["years"]
    to_year = years[-1] if to_year is None else int(to_year)
    if not la.any():
        out = frame.copy()
        out.attrs = dict(frame.attrs, boundaries={}, to_year=to_year)
        return out
    codes = rows["area_code"].tolist()
    ry = np.array(
        [
            reporting_year(y, c)
            for y, c in zip(rows["year"].tolist(), rows["year_convention"].tolist(), strict=True)
        ]
    )
    ry = np.clip(ry, years[0], years[-1])
    lo, hi = min(ry.min(), to_year), max(ry.max(), to_year)
    links_ = _parts(reg).links
    edges = [
        (p, s)
        for p, s, y in zip(
            links_["predecessor"], links_["successor"], links_["first_year"], strict=True
        )
        if lo < y <= hi
    ]
    parent: dict[str, str] = {}

    def find(c: str) -> str:
        while parent.get(c, c) != c:
            c = parent[c]
        return c

    for p, s in edges:
        a, b = find(p), find(s)
        if a != b:
            parent[max(a, b)] = min(a, b)
    members: dict[str, set[str]] = {}
    for c in set(codes) | {p for p, _ in edges} | {s for _, s in edges}:
        members.setdefault(find(c), set()).add(c)
    label_of: dict[str, str] = {}
    name_of: dict[str, str] = {}
    boundaries: dict[str, list[str]] = {}
    years_of = _column(reg, "years")
    names, numbers, region_of = (_column(reg, c) for c in ("area_name", "la_number", "region"))
    for group in members.values():
        now = sorted(c for c in group if c in years_of and to_year in years_of[c])
        if not now:
            raise ValueError(f"{', '.join(sorted(group))}: no authority in use in {to_year}")
        label = "+".join(now)
        boundaries[label] = sorted(group)
        name_of[label] = " + ".join(str(names[c]) for c in now)
        for c in group:
            label_of[c] = label
    in_use = np.array([y in years_of.get(c, ()) for c, y in zip(codes, ry, strict=True)])
    stray = np.flatnonzero(~in_use & ~pd.isna(rows["value"]))
    if len(stray):
        first = {c: rows[c][stray[0]] for c in ("area_code", "year", "measure")}
        raise ValueError(
            f"{first['area_code']} has a value for {first['year']} ({first['measure']}) but was "
            "not in use that year"
        )
    # group the rows in use by label and the other keys, groups numbered in the order first
    # seen; a group's sum is NaN if any member is NaN; its members' statuses and codes kept
    kept = np.flatnonzero(in_use)
    keys = ("year", "year_convention", "measure", "unit", "release", "vintage", "source_id")
    group_of: dict[tuple, int] = {}
    ids = np.empty(len(kept), dtype="int64")
    for j, i in enumerate(kept.tolist()):
        key = (label_of[codes[i]], *(_key(rows[k][i]) for k in keys))
        ids[j] = group_of.setdefault(key, len(group_of))
    first = np.unique(ids, return_index=True)[1]  # each group's first row, among those kept
    member_values = rows["value"][kept].astype(float)
    values = np.zeros(len(first))
    np.add.at(values, ids, member_values)
    values[np.bincount(ids, np.isnan(member_values), minlength=len(first)) > 0] = np.nan
    present: list[set[str]] = [set() for _ in range(len(first))]
    statuses: list[set[str]] = [set() for _ in range(len(first))]
    for g, i in zip(ids.tolist(), kept.tolist(), strict=True):
        present[g].add(codes[i])
        if rows["status"][i]:
            statuses[g].add(rows["status"][i])
    labels = [label_of[codes[i]] for i in kept[first].tolist()]
    status = []
    for g, (lab, y) in enumerate(zip(labels, ry[kept[first]].tolist(), strict=True)):
        missing = sorted(c for c in boundaries[lab] if y in years_of[c] and c not in present[g])
        if missing:
            values[g] = np.nan
            status.append(f"incomplete: no row for {', '.join(missing)}")
        elif np.isnan(values[g]):
            st = ", ".join(sorted(statuses[g]))
            status.append(f"incomplete: {st or 'a member value is missing'}")
        else:
            status.append("")
    at = kept[first]
    out_la = pd.DataFrame(
        {
            "area_code": labels,
            "la_number": ["+".join(str(numbers[c]) for c in lab.split("+")) for lab in labels],
            "area_name": [name_of[lab] for lab in labels],
            "region": [
                " + ".join(sorted({str(region_of[c]) for c in lab.split("+")})) for lab in labels
            ],
            "geography": "local authority",
            "year": rows["year"][at],
            "year_convention": rows["year_convention"][at],
            "measure": rows["measure"][at],
            "value": values,
            "unit": rows["unit"][at],
            "status": status,
            "release": rows["release"][at],
            "vintage": rows["vintage"][at],
            "source_id": rows["source_id"][at],
        }
    )
    out = pd.concat([frame[~la], out_la[list(frame.columns)]], ignore_index=True)
    out = out.sort_values(["geography", "measure", "area_code", "year"], kind="stable")
    out = out.reset_index(drop=True)
    out.attrs = dict(frame.attrs, boundaries=boundaries, to_year=to_year)
    return out


_BOUNDARY_COLUMNS = (
    "area_code",
    "year",
    "year_convention",
    "measure",
    "unit",
    "release",
    "vintage",
    "source_id",
    "value",
    "status",
)
_NAN_KEY = object()


def _key(value: object) -> object:
    """A grouping key in which every NaN is the same (as pandas' ``dropna=False`` groups them)."""
    return _NAN_KEY if value != value else value  # NaN is the one value unequal to itself
