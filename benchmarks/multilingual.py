"""The multilingual encoder on a third language: Indonesian comments, word embeddings frozen or trained.

    python -m benchmarks.multilingual                 # seed 0, both rows
    python -m benchmarks.multilingual --seeds 0 1 2

`bundled-e5-small` has 117.5M parameters (the encoder), 96M of them in its 250,002 word-embedding rows, most of
which a data set in one language never uses. Both rows fine-tune it with the quick profile's
settings for language "other" on the same `indonesian_comments` training texts (split seed 0);
they differ only in `freeze_word_embeddings`. The profile's choice is the better row on
*validation*; test is scored for the record. Each row is compared with character TF-IDF + logistic
regression on the same texts (paired bootstrap and McNemar on the test comments, seeds averaged
per comment). Minutes are training time from each run's history. Results go to
benchmarks/results/multilingual.json (finished runs are kept and skipped) and multilingual.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks.common import RESULTS_DIR, accuracy_meta, baseline_record, fit_record, provenance_markdown
from bertclf import data, train
from bertclf.book import paired_table

JSON_FILE = RESULTS_DIR / "multilingual.json"
SIZE = "all"  # every deduplicated comment: 1,033 to train on
ROWS = {
    "frozen": ("bundled-e5-small, word embeddings frozen", {"freeze_word_embeddings": True}),
    "trained": ("bundled-e5-small, word embeddings trained", {"freeze_word_embeddings": False}),
}


def run_one(row: str, seed: int, dsd, work: Path) -> dict:
    """One fine-tuning run of ``row`` (reused when ``work`` already holds it finished)."""
    config = train.TrainConfig.from_profile(language="other", seed=seed, **ROWS[row][1])
    run_dir = work / f"{row}-{seed}"
    result = train.fit(dsd, run_dir, config, reuse=True)
    seconds = sum(len(dsd["train"]) / epoch["samples_per_second"] for epoch in result.history)
    checkpoint = run_dir / "checkpoint.pt"
    checkpoint_mb = checkpoint.stat().st_size / 1e6 if checkpoint.is_file() else None  # None: removed since
    return fit_record(result, config, seconds, row=row, size=SIZE, seed=seed, build_minutes=0.0,
                      checkpoint_mb=checkpoint_mb)


def checkpoint_mb(results: dict, row: str) -> float | None:
    """The largest checkpoint ``row``'s runs left (``None`` where none was measured)."""
    sizes = [r["checkpoint_mb"] for r in results["runs"].values() if r["row"] == row and r["checkpoint_mb"]]
    return max(sizes, default=None)


def markdown(results: dict) -> str:
    meta = results["meta"]
    table = paired_table(results, SIZE)
    table["checkpoint MB"] = table.index.map({name: checkpoint_mb(results, row)
                                              for row, name in results["row_names"].items()})
    return "\n".join([
        "# The multilingual encoder on Indonesian comments: word embeddings frozen or trained", "",
        *provenance_markdown(meta),
        f"## Training texts: {results['baseline'][SIZE]['train_size']} (all)", "",
        table.round(4).to_markdown(), ""])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--work", type=Path, default=Path("runs/multilingual"))
    args = parser.parse_args(argv)
    results = json.loads(JSON_FILE.read_text()) if JSON_FILE.is_file() else {"runs": {}, "baseline": {}}
    results["row_names"] = {row: name for row, (name, _) in ROWS.items()}
    command = " ".join(["python -m benchmarks.multilingual", *(argv if argv is not None else sys.argv[1:])])
    results["meta"] = accuracy_meta(results.get("meta"), command)
    dsd = data.load("indonesian_comments", seed=0, train_size=None, eval_size=None)
    results["baseline"].setdefault(SIZE, baseline_record(dsd, "char"))
    for row in args.rows:
        for seed in args.seeds:
            key = f"{row}/{SIZE}/{seed}"
            if key not in results["runs"]:
                results["runs"][key] = run_one(row, seed, dsd, args.work)
                JSON_FILE.write_text(json.dumps(results, indent=1))
    JSON_FILE.write_text(json.dumps(results, indent=1))
    (RESULTS_DIR / "multilingual.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
