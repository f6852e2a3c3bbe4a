"""What the embedding peers share: CPU-timed runs and the cosine of Cairn's vectors to theirs."""

import resource
import time

import numpy as np


def timed(run):
    """Runs `run()`; returns its result, the wall seconds and the CPU seconds it took."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = usage.ru_utime + usage.ru_stime
    start = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return result, seconds, usage.ru_utime + usage.ru_stime - cpu_before


def agreement(specs, theirs):
    """For each NAME=PATH (Cairn's little-endian f32 vectors, one row per text), the minimum
    and mean cosine to `theirs`."""
    out = {}
    for spec in specs:
        name, path = spec.split("=", 1)
        ours = np.fromfile(path, dtype="<f4").reshape(len(theirs), -1)
        cos = (ours * theirs).sum(1) / (
            np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs, axis=1) + 1e-12
        )
        out[name] = {"cosine_min": float(cos.min()), "cosine_mean": float(cos.mean())}
    return out
