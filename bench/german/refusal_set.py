#!/usr/bin/env python3
"""The German set as `cairn eval refusal` reads it: one document per chapter of the
Debian-Referenz (its passages in order, under the chapter's title) and the 60 questions in
German and in English, each naming the chapter its relevant passage is in.

`cairn eval refusal` indexes every other chapter: questions about those should reach the model,
questions about the other chapters should be refused. The chapters are parts of one manual, so
this is a hard test of the gate: a held-out chapter's question is still about Debian.

    python3 bench/german/refusal_set.py --corpus ~/.cache/cairn/eval/german/corpus.jsonl \
        --out ~/.cache/cairn/eval/german/refusal
Writes OUT/docs/<chapter>.md, OUT/questions-de.jsonl and OUT/questions-en.jsonl.
Python 3 standard library only.
"""

import argparse
import json
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent


def chapter(passage_id: str) -> str:
    return passage_id.rsplit("-", 1)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    passages = defaultdict(list)
    titles = {}
    with args.corpus.open(encoding="utf-8") as f:
        for line in f:
            p = json.loads(line)
            ch = chapter(p["_id"])
            passages[ch].append((int(p["_id"].rsplit("-", 1)[1]), p["text"]))
            titles.setdefault(ch, p.get("title") or ch)
    docs = args.out / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    for ch, items in passages.items():
        body = "\n\n".join(text for _, text in sorted(items))
        (docs / f"{ch}.md").write_text(f"# {titles[ch]}\n\n{body}\n", encoding="utf-8")

    relevant = {}
    for line in (HERE / "qrels.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        query, passage, _ = line.split("\t")
        relevant[query] = chapter(passage)
    for lang in ("de", "en"):
        out = []
        for line in (HERE / f"queries-{lang}.jsonl").read_text(encoding="utf-8").splitlines():
            q = json.loads(line)
            if q["_id"] in relevant:
                out.append({"question": q["text"], "doc": f"{relevant[q['_id']]}.md", "answers": []})
        (args.out / f"questions-{lang}.jsonl").write_text(
            "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in out), encoding="utf-8"
        )
    print(f"{len(passages)} chapters, {len(relevant)} questions per language -> {args.out}")


if __name__ == "__main__":
    main()
