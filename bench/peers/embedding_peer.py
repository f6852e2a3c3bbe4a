"""The embedding peer: sentence-transformers on the same all-MiniLM-L6-v2 weights, threads
and texts as `cairn bench embedding`; compares its vectors with each of Cairn's
(`--cairn-vectors NAME=FILE`, one per engine and precision). Prints one JSON object."""

import argparse
import json
import resource
import time

import numpy as np
import torch
from sentence_transformers import SentenceTransformer


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--texts", required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--cairn-vectors", action="append", required=True, help="NAME=FILE")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    texts = [json.loads(l)["text"] for l in open(a.texts) if l.strip()]
    model = SentenceTransformer(a.model, device="cpu")
    model.encode(texts[:8], batch_size=a.batch)

    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = usage.ru_utime + usage.ru_stime
    start = time.perf_counter()
    parts = [
        model.encode(texts[i : i + a.batch], batch_size=a.batch, convert_to_numpy=True)
        for i in range(0, len(texts), a.batch)
    ]
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu_before

    theirs = np.concatenate(parts).astype(np.float32)
    agreement = {}
    for spec in a.cairn_vectors:
        name, path = spec.split("=", 1)
        ours = np.fromfile(path, dtype="<f4").reshape(len(texts), -1)
        cos = (ours * theirs).sum(1) / (
            np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs, axis=1) + 1e-12
        )
        agreement[name] = {"cosine_min": float(cos.min()), "cosine_mean": float(cos.mean())}
    print(
        json.dumps(
            {
                "peer": f"sentence-transformers {__import__('sentence_transformers').__version__}, torch {torch.__version__}",
                "texts": len(texts),
                "seconds": seconds,
                "chunks_per_s": len(texts) / seconds,
                "cpu_busy": cpu / seconds,
                "agreement": agreement,
                "max_seq_length": model.max_seq_length,
            }
        )
    )


if __name__ == "__main__":
    main()
