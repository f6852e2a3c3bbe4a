#!/usr/bin/env python3
"""Builds a German BEIR corpus (corpus.jsonl) from Debian's `debian-reference-de` package.

Steps: `apt-get download` the pinned package version into the cache folder, check its SHA-256,
extract it with `dpkg-deb -x`, read the German HTML manual (usr/share/debian-reference/*.de.html:
the preface, chapters 1-12 and the appendix; the index page is only a table of contents) and
split it into passages.

Passages: each paragraph (<p>) and each whole list (<ul>/<ol>, nested lists included) is a block;
blocks that are mostly code (inline <code>) are dropped, as are <pre> screens, data tables (the
manual's tables are package lists and command references), footnotes, navigation and tables of
contents. Within one section, tiny adjacent blocks are merged until a passage has at least
MIN_WORDS words, never past MAX_WORDS; a block longer than MAX_WORDS stays whole (no block is
split). A short remainder at the end of a section joins the section's previous passage when it
fits. The BEIR `title` is the section heading without its number; `_id` is
`<file stem>-<n>` (e.g. `ch02-17`), numbered from 1 in document order within each file, so ids
depend only on the pinned package and this script.

Python 3 standard library only. Needs apt-get (with Debian bookworm in its sources) and dpkg-deb,
unless --deb names an already downloaded .deb.
"""

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

PACKAGE = "debian-reference-de"
VERSION = "2.100"  # Debian 12 "bookworm"
DEB_NAME = f"{PACKAGE}_{VERSION}_all.deb"
DEB_SHA256 = "3b0ce65fd63e75ddf8eb07ca36293425135080e690a07e06a6ac8bc8040ef0aa"
# The English original, for corpus-en.jsonl: the same passages (same ids) in English.
EN_PACKAGE = "debian-reference-en"
EN_DEB_NAME = f"{EN_PACKAGE}_{VERSION}_all.deb"
EN_DEB_SHA256 = "9f31d3a17df505de09689ca255512ea58c1fc47c59bb1b0c7bf1c23362e9743f"

HTML_DIR = "usr/share/debian-reference"
# Preface, chapters, appendix, in the manual's order.
FILES = ["pr01"] + [f"ch{i:02d}" for i in range(1, 13)] + ["apa"]

MIN_WORDS = 40
MAX_WORDS = 250
# A block is code-only when fewer than MIN_PROSE_WORDS of its words are outside <code>, or when
# more than MAX_CODE_SHARE of its characters are inside <code>.
MIN_PROSE_WORDS = 4
MAX_CODE_SHARE = 0.6

SKIP_DIV_CLASSES = {"navheader", "navfooter", "toc", "list-of-tables", "table", "informaltable",
                    "footnotes", "example", "figure", "informalexample"}
VOID = {"br", "img", "hr", "col", "meta", "link", "input", "area", "base", "wbr"}
BREAK = "\x00"  # a paragraph or list item boundary inside a block (becomes a newline)
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
HEADING_NUMBER = re.compile(r"^(?:(?:Kapitel|Anhang)\s+[0-9A-Z]+\.|[0-9A-Z]+(?:\.[0-9]+)*\.)\s+")


def norm(s: str) -> str:
    return " ".join(s.split())


class Manual(HTMLParser):
    """Collects (section title, block text, prose words, code share) for one HTML file."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, opened a skip zone)
        self.skip = 0          # depth of skipped zones
        self.heading: list[str] | None = None
        self.title = ""
        self.section = 0       # increments at every heading
        self.block: list[str] | None = None   # pieces of the current block
        self.block_tag = ""
        self.block_depth = 0
        self.code = 0          # depth inside <code>
        self.code_chars = 0
        self.prose: list[str] = []
        self.blocks: list[dict] = []

    def handle_startendtag(self, tag, attrs):
        if tag == "br" and self.block is not None and not self.skip:
            self.block.append(BREAK)

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            self.handle_startendtag(tag, attrs)
            return
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        skip = False
        if tag == "div" and classes & SKIP_DIV_CLASSES:
            skip = True
        elif tag in ("pre", "sup", "script", "style", "head"):
            skip = True
        elif tag == "table" and (a.get("summary") or "").startswith("Navigation"):
            skip = True
        elif tag == "th" and self.block is None:   # admonition label ("Tipp", "Anmerkung", ...)
            skip = True
        elif tag == "p" and "title" in classes:   # captions ("Zusammenfassung", table titles)
            skip = True
        self.stack.append((tag, skip))
        if skip:
            self.skip += 1
            return
        if self.skip:
            return
        if tag in HEADINGS and "title" in classes:
            self.heading = []
        elif self.block is None and tag in ("p", "ul", "ol"):
            self.block, self.block_tag, self.block_depth = [], tag, len(self.stack)
            self.code_chars, self.prose = 0, []
        elif self.block is not None and tag in ("li", "p"):
            self.block.append(BREAK)
        if tag == "code":
            self.code += 1

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        # XHTML is well formed; still, pop to the matching tag to survive stray end tags.
        if not any(t == tag for t, _ in self.stack):
            return
        while self.stack:
            t, skip = self.stack.pop()
            if skip:
                self.skip -= 1
            elif not self.skip:
                self._close(t)
            if t == tag:
                break

    def _close(self, tag):
        if tag == "code" and self.code:
            self.code -= 1
        if tag in HEADINGS and self.heading is not None:
            self.title = HEADING_NUMBER.sub("", norm("".join(self.heading)))
            self.section += 1
            self.heading = None
        elif self.block is not None and len(self.stack) == self.block_depth - 1:
            lines = [norm(x) for x in "".join(self.block).split(BREAK)]
            text = "\n".join(x for x in lines if x)
            total = len(text.replace("\n", "").replace(" ", ""))
            self.blocks.append({
                "section": self.section,
                "title": self.title,
                "text": text,
                "words": len(text.split()),
                "prose_words": len(" ".join(self.prose).split()),
                "code_share": self.code_chars / total if total else 1.0,
            })
            self.block = None

    def handle_data(self, data):
        if self.skip:
            return
        if self.heading is not None:
            self.heading.append(data)
        if self.block is not None:
            self.block.append(data)
            if self.code:
                self.code_chars += len("".join(data.split()))
            else:
                self.prose.append(data)


def is_code(b: dict) -> bool:
    return b["prose_words"] < MIN_PROSE_WORDS or b["code_share"] > MAX_CODE_SHARE


def blocks_of(source: str) -> list[dict]:
    m = Manual()
    m.feed(source)
    m.close()
    for i, b in enumerate(m.blocks):
        b["index"] = i
    return m.blocks


def passages(stem: str, source: str) -> list[dict]:
    """The passages of one file, each with the indices of the blocks it is made of."""
    out: list[dict] = []
    groups: dict[int, list[dict]] = {}
    for b in blocks_of(source):
        if b["words"] and not is_code(b):
            groups.setdefault(b["section"], []).append(b)
    for section in sorted(groups):
        blocks = groups[section]
        made: list[list[dict]] = []
        cur: list[dict] = []
        for b in blocks:
            n = sum(x["words"] for x in cur)
            if cur and (n >= MIN_WORDS or n + b["words"] > MAX_WORDS):
                made.append(cur)
                cur = []
            cur.append(b)
        if cur:
            n = sum(x["words"] for x in cur)
            if made and n < MIN_WORDS and sum(x["words"] for x in made[-1]) + n <= MAX_WORDS:
                made[-1].extend(cur)
            else:
                made.append(cur)
        for group in made:
            out.append({"title": group[0]["title"], "text": "\n".join(x["text"] for x in group),
                        "blocks": [x["index"] for x in group]})
    return [{"_id": f"{stem}-{i}", **p} for i, p in enumerate(out, 1)]


def translated(german: list[dict], source_en: str, source_de: str) -> list[dict] | None:
    """The English original of `german`'s passages: the same blocks of the English file
    (po4a keeps the translation's structure block for block). None when the two files do not
    line up block for block."""
    en, de = blocks_of(source_en), blocks_of(source_de)
    if [b["section"] for b in en] != [b["section"] for b in de]:
        return None
    return [{"_id": p["_id"], "title": en[p["blocks"][0]]["title"],
             "text": "\n".join(en[i]["text"] for i in p["blocks"])} for p in german]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(cache: Path, deb: str | None, package=PACKAGE, name=DEB_NAME, expected=DEB_SHA256) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / name
    if deb:
        shutil.copyfile(deb, path)
    elif not path.exists():
        print(f"apt-get download {package}={VERSION} into {cache}", file=sys.stderr)
        subprocess.run(["apt-get", "download", f"{package}={VERSION}"], cwd=cache, check=True)
    got = sha256(path)
    if got != expected:
        sys.exit(f"{path}: SHA-256 {got}, expected {expected}; delete it and retry, "
                 f"or pass --deb with the genuine {name}")
    return path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cache", default=str(Path.home() / ".cache/cairn/eval/german"),
                   help="download and extraction folder (default: %(default)s)")
    p.add_argument("--out", default=None, help="folder for corpus.jsonl (default: the cache)")
    p.add_argument("--deb", default=None,
                   help=f"use this {DEB_NAME} instead of apt-get download (still hash-checked)")
    a = p.parse_args()

    cache = Path(a.cache).expanduser()
    out = Path(a.out).expanduser() if a.out else cache
    deb = fetch(cache, a.deb)
    root = cache / "extract"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir()
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)

    en_deb = fetch(cache, None, EN_PACKAGE, EN_DEB_NAME, EN_DEB_SHA256)
    subprocess.run(["dpkg-deb", "-x", str(en_deb), str(root)], check=True)

    corpus: list[dict] = []
    english: list[dict] = []
    for stem in FILES:
        src = (root / HTML_DIR / f"{stem}.de.html").read_text(encoding="utf-8")
        src_en = (root / HTML_DIR / f"{stem}.en.html").read_text(encoding="utf-8")
        german = passages(stem, src)
        corpus.extend(german)
        en = translated(german, src_en, src)
        if en is None:
            print(f"{stem}: the English and German files do not line up; no English passages", file=sys.stderr)
        else:
            english.extend(en)

    out.mkdir(parents=True, exist_ok=True)
    for name, docs in (("corpus.jsonl", corpus), ("corpus-en.jsonl", english)):
        with open(out / name, "w", encoding="utf-8") as f:
            for d in docs:
                f.write(json.dumps({k: d[k] for k in ("_id", "title", "text")}, ensure_ascii=False) + "\n")
    words = sorted(len(d["text"].split()) for d in corpus)
    print(f"{len(corpus)} passages, words min/median/max "
          f"{words[0]}/{words[len(words) // 2]}/{words[-1]} -> {out / 'corpus.jsonl'}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
