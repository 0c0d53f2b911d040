"""Fine-tuned encoder against TF-IDF + logistic regression, over several training seeds.

    python -m benchmarks.seeds                        # tweets, quick profile, seeds 0 1 2

Chapter 5 fine-tunes once (seed 0) and compares with the baseline on the same test tweets. A
single seed is a single draw: the batch order, the new head's weights and the dropout masks all
depend on it. This script repeats the chapter's `bertclf.train.fit` run (the profile's settings,
the same split) with each seed, fits the word TF-IDF baseline once (it has no seed), and compares
them with `bertclf.evaluate.compare`: per seed, and pooled (each test text scored by its mean correctness
over the seeds). Results go to benchmarks/results/seeds-DATASET.json (finished seeds are kept and
skipped when the script runs again) and seeds-DATASET.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from benchmarks.common import RESULTS_DIR, accuracy_meta, baseline_record, fit_record, provenance_markdown
from bertclf import data, train
from bertclf.book import paired_table
from bertclf.profiles import get_profile

BASELINE_NAME = "word TF-IDF + LR"


def result_files(dataset: str) -> tuple[Path, Path]:
    return RESULTS_DIR / f"seeds-{dataset}.json", RESULTS_DIR / f"seeds-{dataset}.md"


def fit_one(dsd, seed: int, work: Path) -> dict:
    config = train.TrainConfig.from_profile(seed=seed)
    start = time.perf_counter()
    result = train.fit(dsd, work / f"seed-{seed}", config)
    return fit_record(result, config, time.perf_counter() - start, row="fine-tuned", size="quick",
                      seed=seed, build_minutes=0.0)


def markdown(results: dict) -> str:
    meta = results["meta"]
    return "\n".join([
        f"# {meta['dataset']}: fine-tuned against {BASELINE_NAME}, {len(results['runs'])} seeds", "",
        *provenance_markdown(meta),
        paired_table(results, "quick").round(4).to_markdown(), "",
    ])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="tweets", choices=list(data.OFFLINE))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--work", type=Path, default=Path("runs/seeds"))
    args = parser.parse_args(argv)
    json_file, md_file = result_files(args.dataset)
    results = json.loads(json_file.read_text()) if json_file.is_file() else {"runs": {}, "baseline": {}}
    command = " ".join(["python -m benchmarks.seeds", *(argv if argv is not None else sys.argv[1:])])
    results["meta"] = accuracy_meta(results.get("meta"), command, dataset=args.dataset)
    model = get_profile().model
    results["baseline_name"], results["row_names"] = BASELINE_NAME, {"fine-tuned": f"fine-tuned {model}"}
    dsd = data.load(args.dataset, seed=0)  # the chapter's split and sizes
    if "quick" not in results["baseline"]:  # the baseline has no seed: fitted once
        results["baseline"]["quick"] = baseline_record(dsd, "word")
    for seed in args.seeds:
        key = f"fine-tuned/quick/{seed}"
        if key not in results["runs"]:
            results["runs"][key] = fit_one(dsd, seed, args.work / args.dataset)
            print(f"[seeds] seed {seed}: test accuracy {results['runs'][key]['test']['accuracy']:.4f}", flush=True)
        json_file.write_text(json.dumps(results, indent=1))
        md_file.write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
