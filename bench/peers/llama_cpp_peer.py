"""The llama.cpp peer: llama-cpp-python on the same GGUF, threads and messages as `cairn bench
generation`, timed the same way (request to first token; tokens after the first over the time
after it). Prints one JSON object."""

import argparse
import json
import time

from llama_cpp import Llama
from llama_cpp.llama_chat_format import Jinja2ChatFormatter


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--prompts", required=True, help="cases written by cairn bench generation")
    p.add_argument("--context", type=int, default=8192)
    a = p.parse_args()

    started = time.perf_counter()
    llm = Llama(
        model_path=a.model,
        n_ctx=a.context,
        n_batch=512,
        n_threads=a.threads,
        n_threads_batch=a.threads,
        verbose=False,
    )
    load_s = time.perf_counter() - started
    cases = json.load(open(a.prompts))
    formatter = chat_formatter(llm)
    runs = []
    for case in cases:
        runs.append(time_case(llm, formatter, case))
    print(
        json.dumps(
            {
                "backend": "llama-cpp-python",
                "model": a.model.rsplit("/", 1)[-1],
                "threads": a.threads,
                "load_s": load_s,
                "runs": runs,
            }
        )
    )


def chat_formatter(llm: Llama) -> Jinja2ChatFormatter:
    """The formatter llama-cpp-python builds from the GGUF's template, to count prompt tokens
    exactly as its chat handler tokenises them."""
    eos, bos = llm.token_eos(), llm.token_bos()
    return Jinja2ChatFormatter(
        template=llm.metadata["tokenizer.chat_template"],
        eos_token=llm._model.token_get_text(eos) if eos != -1 else "",
        bos_token=llm._model.token_get_text(bos) if bos != -1 else "",
        stop_token_ids=[eos],
    )


def time_case(llm: Llama, formatter: Jinja2ChatFormatter, case: dict) -> dict:
    messages = case["messages"]
    rendered = formatter(messages=messages)
    prompt_tokens = len(
        llm.tokenize(rendered.prompt.encode(), add_bos=not rendered.added_special, special=True)
    )
    start = time.perf_counter()
    first = None
    pieces = []
    finish = None
    for chunk in llm.create_chat_completion(
        messages=messages, max_tokens=case["max_tokens"], temperature=0.0, stream=True
    ):
        choice = chunk["choices"][0]
        content = choice.get("delta", {}).get("content")
        if content:
            if first is None:
                first = time.perf_counter()
            pieces.append(content)
        if choice.get("finish_reason"):
            finish = choice["finish_reason"]
    end = time.perf_counter()
    first = first or end
    # A run that hit the cap made exactly max_tokens tokens; otherwise count the text's.
    generated = (
        case["max_tokens"]
        if finish == "length"
        else len(llm.tokenize("".join(pieces).encode(), add_bos=False, special=False))
    )
    ttft = first - start
    after = end - first
    return {
        "name": case["name"],
        "prompt_tokens": prompt_tokens,
        "generated_tokens": generated,
        "ttft_s": ttft,
        "total_s": end - start,
        "prompt_tok_s": prompt_tokens / max(ttft, 1e-9),
        "decode_tok_s": (generated - 1) / after if generated > 1 and after > 0 else None,
        "stop": "length" if finish == "length" else "end",
    }


if __name__ == "__main__":
    main()
