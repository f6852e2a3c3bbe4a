#!/usr/bin/env python3
"""Writes the SQuAD-dev sample of the shared data (8 articles as Markdown, 2,804 questions) in
BEIR layout, so that `cairn eval retrieval` scores it: each paragraph is a passage
(`<article>#<n>`, titled by the article), each question a query, and its paragraph the one
relevant passage.

    python3 bench/squad/to_beir.py --data ../shared/data/squad-dev --out DIR

Paragraphs are the blocks between blank lines after the `# Title` line; their count per
article matches the questions' `paragraph` indexes (checked)."""
import argparse
import json
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", required=True, help="the squad-dev folder (docs/, questions.jsonl)")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    data, out = Path(a.data), Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    questions = [json.loads(line) for line in (data / "questions.jsonl").open(encoding="utf-8")]
    paragraphs = {}
    with (out / "corpus.jsonl").open("w", encoding="utf-8") as corpus:
        for doc in sorted({q["doc"] for q in questions}):
            text = (data / "docs" / doc).read_text(encoding="utf-8")
            blocks = [b.strip() for b in text.split("\n\n") if b.strip()]
            title = blocks[0].lstrip("# ").strip() if blocks and blocks[0].startswith("#") else doc
            body = [b for b in blocks if not b.startswith("#")]
            paragraphs[doc] = len(body)
            for i, b in enumerate(body):
                corpus.write(json.dumps({"_id": f"{doc}#{i}", "title": title, "text": b}, ensure_ascii=False) + "\n")
    with (out / "queries.jsonl").open("w", encoding="utf-8") as qf, (out / "qrels.tsv").open("w") as rf:
        rf.write("query-id\tcorpus-id\tscore\n")
        for q in questions:
            if q["paragraph"] >= paragraphs[q["doc"]]:
                raise SystemExit(f"{q['id']}: paragraph {q['paragraph']} of {q['doc']} is missing")
            qf.write(json.dumps({"_id": q["id"], "text": q["question"]}, ensure_ascii=False) + "\n")
            rf.write(f"{q['id']}\t{q['doc']}#{q['paragraph']}\t1\n")
    print(f"{sum(paragraphs.values())} passages, {len(questions)} questions in {out}")


if __name__ == "__main__":
    main()
