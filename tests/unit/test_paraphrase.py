"""No text the project writes repeats the evidence: no run of 8 or more words shared with it.

The evidence (CEOP's written evidence LCG 09) is not part of the repository (its prose must not
be copied in), and the tests read nothing outside the repository. What is committed is its
fingerprint: ``tests/fixtures/evidence_runs.txt`` holds, for every run of 8 consecutive words of
the evidence (lower-cased, punctuation dropped, as :func:`words` reads text), the first 16 hex
digits of the run's SHA-256, sorted. The words cannot be read back from it, yet a copied run is
found by hashing the project's runs the same way. ``python tests/unit/test_paraphrase.py PATH``
rewrites the fingerprint from a plain-text copy of the evidence (a maintainer's step, once). The
detector itself is tested on hand-made fakes below.

Scanned: every cell of every notebook (markdown and code), every text field of every CSV under
``data/`` (the claims register's paraphrases, notes, definitions, titles...), the docs and the
README. The names of documents are not copied sentences: the titles in ``sources.csv`` and the
few document names in :data:`DOCUMENT_TITLES` are taken out of the text before it is compared.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FINGERPRINT = ROOT / "tests" / "fixtures" / "evidence_runs.txt"
RUN = 8  # words

#: Names of documents the project's text refers to that are not in sources.csv's titles.
DOCUMENT_TITLES = ("Safeguarding Children and Young People from Sexual Exploitation",)

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_BREAK = "\x00"  # stands for a removed title: no run crosses it


def words(text: str) -> list[str]:
    """Lower-case words, apostrophes kept inside words, punctuation and markup dropped."""
    return _WORD.findall(text.lower().replace("\u2019", "'"))


def strip_titles(tokens: list[str], titles: Iterable[list[str]]) -> list[str]:
    """Replace every occurrence of a title's words with a break token."""
    out = list(tokens)
    for title in map(list, titles):
        k = len(title)
        if k == 0:
            continue
        i = 0
        while i <= len(out) - k:
            if out[i : i + k] == title:
                out[i : i + k] = [_BREAK]
            i += 1
    return out


def runs(tokens: list[str], k: int = RUN) -> set[tuple[str, ...]]:
    """Every run of ``k`` consecutive words that does not cross a removed title."""
    found = set()
    for i in range(len(tokens) - k + 1):
        run = tuple(tokens[i : i + k])
        if _BREAK not in run:
            found.add(run)
    return found


def digest(run: tuple[str, ...]) -> str:
    """A run's fingerprint: the first 16 hex digits of the SHA-256 of its words joined by spaces."""
    return hashlib.sha256(" ".join(run).encode("utf-8")).hexdigest()[:16]


def shared_runs(text: str, evidence: set[str], titles: list[list[str]]) -> list[str]:
    """The runs of ``text`` (titles removed) whose fingerprints are among the evidence's."""
    found = runs(strip_titles(words(text), titles))
    return sorted(" ".join(r) for r in found if digest(r) in evidence)


def project_texts(root: Path = ROOT) -> Iterator[tuple[str, str]]:
    """(where, text) for every notebook cell, CSV text field, doc and README in the project."""
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            yield f"{path.name} cell {cell.get('id')}", "".join(cell["source"])
    for path in sorted((root / "data").rglob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            for line, row in enumerate(csv.reader(handle), start=1):
                for column, value in enumerate(row):
                    if len(words(value)) >= RUN:
                        yield f"{path.relative_to(root)} line {line} column {column + 1}", value
    for path in [*sorted((root / "docs").rglob("*.md")), root / "README.md"]:
        yield str(path.relative_to(root)), path.read_text(encoding="utf-8")


def titles(root: Path = ROOT) -> list[list[str]]:
    """Document titles that may be named: sources.csv's titles and DOCUMENT_TITLES."""
    with (root / "data" / "published" / "sources.csv").open(newline="", encoding="utf-8") as h:
        names = [row["title"] for row in csv.DictReader(h)]
    names = [*names, *DOCUMENT_TITLES]
    # a title's parts in brackets (e.g. "(thematic assessment)") are descriptions: the name
    # without them counts too
    names += [re.sub(r"\s*[\(\[][^\)\]]*[\)\]]", " ", n) for n in names]
    unique = {tuple(words(n)) for n in names if len(words(n)) >= 2}
    return [list(t) for t in sorted(unique, key=len, reverse=True)]


# --- the detector, on fakes -------------------------------------------------------------------

FAKE_EVIDENCE = (
    "The quick brown fox, it is said, jumps over the lazy dog every single morning; "
    "see the report Out of Breath, Out of Time for more."
)


def _fake_runs() -> set[str]:
    return {digest(r) for r in runs(words(FAKE_EVIDENCE))}


def test_a_copied_run_of_eight_words_is_found_whatever_the_case_and_punctuation() -> None:
    text = "Notes: THE QUICK BROWN FOX -- it is said -- jumps over, we hear."
    assert shared_runs(text, _fake_runs(), []) == [
        "quick brown fox it is said jumps over",
        "the quick brown fox it is said jumps",
    ]


def test_seven_shared_words_are_not_a_copy() -> None:
    assert shared_runs("a quick brown fox it is said jumps far", _fake_runs(), []) == []


def test_a_document_title_is_a_name_not_a_copy() -> None:
    text = "as the report Out of Breath, Out of Time for more detail shows"
    title = [words("Out of Breath Out of Time")]
    assert shared_runs(text, _fake_runs(), []) != []
    assert shared_runs(text, _fake_runs(), title) == []


def test_the_scan_reaches_every_kind_of_text() -> None:
    where = [w for w, _ in project_texts()]
    assert "03_looked_after_children.ipynb cell 337eea31" in where
    assert any(w.startswith("data/published/claims.csv") for w in where)
    assert any(w.startswith("docs/") for w in where) and "README.md" in where
    notebooks = {w.split(" cell ")[0] for w in where if " cell " in w}
    assert notebooks == {p.name for p in (ROOT / "notebooks").glob("*.ipynb")}


# --- the scan ---------------------------------------------------------------------------------


def load_fingerprint(path: Path = FINGERPRINT) -> set[str]:
    """The committed fingerprints of the evidence's 8-word runs."""
    lines = path.read_text(encoding="utf-8").split()
    assert all(re.fullmatch(r"[0-9a-f]{16}", x) for x in lines), f"{path}: not a fingerprint file"
    return set(lines)


def test_the_fingerprint_is_hashes_only_and_covers_the_evidence() -> None:
    prints = load_fingerprint()
    # The evidence has about 5,000 words, so about as many runs; none can be read back.
    assert len(prints) > 4000
    assert not any(" " in x for x in FINGERPRINT.read_text(encoding="utf-8").splitlines())


def test_no_project_text_shares_eight_words_with_the_evidence() -> None:
    evidence = load_fingerprint()
    names = titles()
    copied = {
        where: found
        for where, text in project_texts()
        if (found := shared_runs(text, evidence, names))
    }
    assert not copied, "runs of 8+ words shared with the evidence (paraphrase them):\n" + "\n".join(
        f"  {where}: {found[:3]}" for where, found in copied.items()
    )


def write_fingerprint(evidence: Path, target: Path = FINGERPRINT) -> int:
    """Rewrite the fingerprint from a plain-text copy of the evidence; return the run count."""
    prints = sorted({digest(r) for r in runs(words(evidence.read_text(encoding="utf-8")))})
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(prints) + "\n", encoding="utf-8")
    return len(prints)


if __name__ == "__main__":  # maintainer's step: python tests/unit/test_paraphrase.py EVIDENCE.txt
    import sys

    print(f"{write_fingerprint(Path(sys.argv[1]))} runs fingerprinted into {FINGERPRINT}")
