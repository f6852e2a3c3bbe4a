"""Asks `cairn serve` what a user's script would, through the official openai client, and
prints what came back as one JSON object (read by crates/cli/tests/serve.rs).

usage: openai_client.py BASE_URL TOKEN QUESTION UNANSWERABLE_QUESTION
"""

import json
import sys

import openai

base, token, question, unanswerable = sys.argv[1:5]
client = openai.OpenAI(base_url=base, api_key=token, max_retries=0)
seen = {"models": [m.id for m in client.models.list().data]}

whole = client.chat.completions.create(
    model="cairn",
    messages=[{"role": "user", "content": question}],
    max_tokens=96,
)
seen["whole"] = {
    "content": whole.choices[0].message.content,
    "finish_reason": whole.choices[0].finish_reason,
    "usage": whole.usage.model_dump() if whole.usage else None,
    "cairn": (whole.model_extra or {}).get("cairn"),
}

pieces, finish, cairn, chunks_after_finish = [], None, None, 0
for chunk in client.chat.completions.create(
    model="cairn",
    messages=[{"role": "user", "content": question}],
    max_tokens=96,
    stream=True,
):
    if chunk.choices:
        choice = chunk.choices[0]
        if choice.delta.content:
            pieces.append(choice.delta.content)
        if choice.finish_reason:
            finish = choice.finish_reason
    elif finish is not None:
        chunks_after_finish += 1
    extra = chunk.model_extra or {}
    if "cairn" in extra:
        cairn = extra["cairn"]
seen["stream"] = {
    "pieces": len(pieces),
    "content": "".join(pieces),
    "finish_reason": finish,
    "cairn": cairn,
    "chunks_after_finish": chunks_after_finish,
}

refused = client.chat.completions.create(
    model="cairn",
    messages=[{"role": "user", "content": unanswerable}],
    max_tokens=32,
)
seen["refused"] = {
    "content": refused.choices[0].message.content,
    "cairn": (refused.model_extra or {}).get("cairn"),
}

try:
    openai.OpenAI(base_url=base, api_key="not-the-token-0000", max_retries=0).models.list()
    seen["wrong_token"] = None
except openai.AuthenticationError as e:
    seen["wrong_token"] = {"status": e.status_code, "message": str(e)}

print(json.dumps(seen))
