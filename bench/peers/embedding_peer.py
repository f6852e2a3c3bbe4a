"""The embedding peer: sentence-transformers on the same all-MiniLM-L6-v2 weights, threads
and texts as `cairn bench embedding`; compares its vectors with each of Cairn's
(`--cairn-vectors NAME=FILE`, one per engine and precision). Prints one JSON object."""

import argparse
import json

import numpy as np
import torch
from sentence_transformers import SentenceTransformer

from agreement import agreement, timed


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

    parts, seconds, cpu = timed(
        lambda: [
            model.encode(texts[i : i + a.batch], batch_size=a.batch, convert_to_numpy=True)
            for i in range(0, len(texts), a.batch)
        ]
    )
    theirs = np.concatenate(parts).astype(np.float32)
    print(
        json.dumps(
            {
                "peer": f"sentence-transformers {__import__('sentence_transformers').__version__}, torch {torch.__version__}",
                "texts": len(texts),
                "seconds": seconds,
                "chunks_per_s": len(texts) / seconds,
                "cpu_busy": cpu / seconds,
                "agreement": agreement(a.cairn_vectors, theirs),
                "max_seq_length": model.max_seq_length,
            }
        )
    )


if __name__ == "__main__":
    main()
