"""Classifier speed and memory against the issue's targets; prints the figures.

    .venv/bin/python bench/classify_bench.py [--messages 10000] [--artefact PATH]

Runs on one core (CPU affinity set, BLAS threads 1); then, for batches, also over
`--processes` processes (default 2), one core each, as a batch job using the machine would. Messages are the corpus texts,
repeated: real lengths and styles; and again with one word in five misspelt, so that
the word caches miss as they would on new text. Wall-clock figures suffer when other work shares the
machine, so CPU-time figures (what this process itself spent) are printed beside them,
with the load average.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGETS = {"single_ms": 2.0, "batch_per_s": 5000, "load_s": 1.0, "size_mb": 25.0, "peak_mb": 300.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000, help="messages in the batch test")
    parser.add_argument("--singles", type=int, default=2_000, help="messages classified one at a time")
    parser.add_argument("--batch-size", type=int, default=1_000)
    parser.add_argument("--artefact", type=Path, default=None)
    parser.add_argument("--processes", type=int, default=2, help="also time batches split over this many processes (0: skip)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core for the main figures

    start = time.perf_counter()
    from triage.classifier.corpus import load_corpus
    from triage.classifier.persistence import DEFAULT_ARTEFACT, load_classifier_from

    imported = time.perf_counter() - start
    artefact = args.artefact or DEFAULT_ARTEFACT
    start, cpu = time.perf_counter(), time.process_time()
    clf = load_classifier_from(artefact)
    load_s, load_cpu = time.perf_counter() - start, time.process_time() - cpu

    texts = [e.text for e in load_corpus()]
    clf.classify_many(texts[:200])  # warm the word cache as a serving process would be

    singles = [texts[i % len(texts)] for i in range(args.singles)]
    wall, cpu_times = [], []
    for text in singles:
        t, c = time.perf_counter(), time.process_time()
        clf.classify(text)
        wall.append(time.perf_counter() - t)
        cpu_times.append(time.process_time() - c)
    single_ms = statistics.median(wall) * 1000
    single_p95 = sorted(wall)[int(0.95 * len(wall))] * 1000
    single_cpu_ms = sum(cpu_times) / len(cpu_times) * 1000

    batch = [texts[i % len(texts)] for i in range(args.messages)]
    t, c = time.perf_counter(), time.process_time()
    for i in range(0, len(batch), args.batch_size):
        clf.classify_many(batch[i : i + args.batch_size])
    batch_wall, batch_cpu = time.perf_counter() - t, time.process_time() - c
    per_s, per_cpu_s = len(batch) / batch_wall, len(batch) / batch_cpu

    # The same, on text the classifier has not seen: one word in five misspelt, so its word
    # caches miss as they would on new senders' names, typos and places.
    rng = random.Random(7)
    unseen = [_misspelt(text, rng) for text in batch]
    t = time.perf_counter()
    for i in range(0, len(unseen), args.batch_size):
        clf.classify_many(unseen[i : i + args.batch_size])
    unseen_per_s = len(unseen) / (time.perf_counter() - t)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    parallel = _parallel(batch, args.batch_size, args.processes, artefact) if args.processes > 1 else None
    size_mb = artefact.stat().st_size / 1e6
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

    def verdict(ok: bool) -> str:
        return "ok  " if ok else "MISS"

    print(f"Heard classifier benchmark — {artefact.name}, {len(texts)} corpus texts (mean {statistics.mean(map(len, texts)):.0f} chars), one core, load average {load1:.1f}")
    print(f"  {verdict(size_mb < TARGETS['size_mb'])} artefact size           {size_mb:8.1f} MB       (target < {TARGETS['size_mb']:.0f} MB)")
    print(f"  {verdict(load_s < TARGETS['load_s'])} model load               {load_s:8.3f} s        (target < {TARGETS['load_s']:.0f} s; CPU {load_cpu:.3f} s; importing the libraries first took {imported:.2f} s)")
    print(f"  {verdict(single_ms < TARGETS['single_ms'])} one message, median      {single_ms:8.2f} ms       (target < {TARGETS['single_ms']:.0f} ms; p95 {single_p95:.2f} ms; mean CPU {single_cpu_ms:.2f} ms)")
    print(f"  {verdict(per_s >= TARGETS['batch_per_s'])} batches of {args.batch_size:<5}         {per_s:8.0f} msg/s    (target ≥ {TARGETS['batch_per_s']}; by CPU time {per_cpu_s:.0f} msg/s; {len(batch)} messages)")
    print(f"  {verdict(unseen_per_s >= TARGETS['batch_per_s'])} … 1 word in 5 misspelt  {unseen_per_s:8.0f} msg/s    (unseen words: the caches miss)")
    if parallel:
        print(f"  {verdict(parallel >= TARGETS['batch_per_s'])} batches, {args.processes} processes     {parallel:8.0f} msg/s    (each process loads the model once; one core each)")
    print(f"  {verdict(peak_mb < TARGETS['peak_mb'])} peak memory (RSS)        {peak_mb:8.0f} MB       (target < {TARGETS['peak_mb']:.0f} MB)")


def _misspelt(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    for i, word in enumerate(words):
        if len(word) > 3 and rng.random() < 0.2:
            j = rng.randrange(len(word) - 1)
            words[i] = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
    return " ".join(words)


def _worker(job: tuple[list[str], int, str, int]) -> float:
    texts, batch_size, artefact, core = job
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})
    from triage.classifier.persistence import load_classifier_from

    clf = load_classifier_from(Path(artefact))
    clf.classify_many(texts[:200])
    start = time.perf_counter()
    for i in range(0, len(texts), batch_size):
        clf.classify_many(texts[i : i + batch_size])
    return time.perf_counter() - start


def _parallel(batch: list[str], batch_size: int, processes: int, artefact: Path) -> float:
    """Messages a second when the batch is shared out over processes (the slowest one decides)."""
    import multiprocessing

    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(processes))
    all_cores = sorted(range(os.cpu_count() or processes))
    cores = all_cores if len(all_cores) >= processes else cores
    shares = [(batch[i::processes], batch_size, str(artefact), cores[i % len(cores)]) for i in range(processes)]
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        seconds = pool.map(_worker, shares)
    return len(batch) / max(seconds)


if __name__ == "__main__":
    main()
