#!/usr/bin/env python3
"""A refusal set in another language, as `cairn eval refusal` reads it, from XQuAD.

XQuAD (google-deepmind/xquad, CC BY-SA 4.0) is 240 paragraphs of 48 Wikipedia articles from the
SQuAD v1.1 dev set, with 1,190 questions, translated by professionals into ten languages. Each
article becomes one document in the chosen language (its paragraphs in order); the questions are
written in that language and, for the cross-language case, in English (same ids, same
articles). `cairn eval refusal` indexes every other article: questions about those should reach
the model, questions about the other articles (other subjects: a football final, a city, a
physicist, a disease...) should be refused.

    python3 bench/xquad/refusal_set.py --xquad DIR --lang de --out ~/.cache/cairn/eval/xquad-de
Reads DIR/xquad.<lang>.json and DIR/xquad.en.json (the repository's files, or
`git show HEAD:xquad.de.json` of a clone); writes OUT/docs/<article>.md,
OUT/questions-<lang>.jsonl and OUT/questions-en.jsonl. Python 3 standard library only.
"""

import argparse
import json
from pathlib import Path


def load(path: Path) -> list:
    with path.open(encoding="utf-8") as f:
        return json.load(f)["data"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xquad", type=Path, required=True, help="folder with xquad.*.json")
    parser.add_argument("--lang", default="de", help="the documents' language (default de)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    articles = load(args.xquad / f"xquad.{args.lang}.json")
    english = {
        qa["id"]: qa["question"]
        for article in load(args.xquad / "xquad.en.json")
        for paragraph in article["paragraphs"]
        for qa in paragraph["qas"]
    }
    docs = args.out / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    questions = {args.lang: [], "en": []}
    for article in articles:
        name = f"{article['title']}.md"
        body = "\n\n".join(p["context"].strip() for p in article["paragraphs"])
        (docs / name).write_text(body + "\n", encoding="utf-8")
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                answers = [a["text"] for a in qa["answers"]]
                questions[args.lang].append(
                    {"question": qa["question"], "doc": name, "answers": answers}
                )
                if args.lang != "en" and qa["id"] in english:
                    # The gold spans are in the documents' language, as the passages are.
                    questions["en"].append(
                        {"question": english[qa["id"]], "doc": name, "answers": answers}
                    )
    for lang, items in questions.items():
        if items:
            (args.out / f"questions-{lang}.jsonl").write_text(
                "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in items),
                encoding="utf-8",
            )
    print(
        f"{len(articles)} articles, {len(questions[args.lang])} questions "
        f"({args.lang}; {len(questions['en'])} in English) -> {args.out}"
    )


if __name__ == "__main__":
    main()
