"""Chinese sentiment, offline: which encoder beats character TF-IDF + logistic regression?

    python -m benchmarks.chinese_transfer                     # quick-profile size, 3 seeds of the main row
    python -m benchmarks.chinese_transfer --sizes all --rows main --seeds 0

Every row is fine-tuned with the same `bertclf.train.fit` settings (the quick profile's Chinese
settings) on the same `chinese_reviews` training texts (split seed 0), and scored on the same
test texts. Rows: the baseline; the English MiniLM as is; MiniLM with the new vocabulary at
random; dictionary-initialised (`bundled-minilm-zh`); dictionary-initialised + MLM-adapted; a
small BERT pretrained from zero on the same text; the multilingual encoder (`bundled-e5-small`,
pretrained on about 100 languages, Chinese among them) with the profile's frozen word
embeddings, and the same with a third epoch (`ROW_SETTINGS`). Each row is compared with the
baseline by a paired bootstrap and McNemar's test on the test texts (seeds averaged per text).
`--trials` scores other settings for an encoder on validation only (`TRIALS`), among them two
changes to e5 itself: mean pooling, and MLM adaptation first (`benchmarks.encoder_variants`). Results are
written after every run to benchmarks/results/chinese_transfer.json (finished runs are kept and
skipped when the script runs again) and summarised in chinese_transfer.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from benchmarks import encoder_variants
from benchmarks.common import RESULTS_DIR, accuracy_meta, baseline_record, fit_record, provenance_markdown
from bertclf import data, train
from bertclf.book import paired_table, pretrain_from_zero, trials_table
from bertclf.encoders import chinese
from bertclf.encoders.pretrain import PretrainConfig
from bertclf.models.names import resolve

JSON_FILE = RESULTS_DIR / "chinese_transfer.json"
FROM_ZERO_STEPS = 300
MLM_STEPS = 120  # about the same minutes of CPU as FROM_ZERO_STEPS
ROWS = {
    "english": ("English MiniLM as is", "bundled-minilm"),
    "random": ("new vocabulary, random rows", chinese.with_recipe(init="random", mlm_steps=0)),
    "main": ("dictionary-initialised (bundled-minilm-zh)", chinese.ChineseRecipe()),
    "mlm": (f"dictionary-initialised + MLM-adapted ({MLM_STEPS} steps)", chinese.with_recipe(mlm_steps=MLM_STEPS)),
    "zero": (f"small BERT pretrained from zero ({FROM_ZERO_STEPS} MLM steps)", "from-zero"),
    "e5": ("multilingual e5-small, word embeddings frozen (bundled-e5-small)", "bundled-e5-small"),
    "e5-3": ("multilingual e5-small, word embeddings frozen, 3 epochs (profile: 2)", "bundled-e5-small"),
}
ROW_SETTINGS = {"e5-3": {"epochs": 3}}  # a row's fine-tuning settings where they differ from the profile's
# MLM adaptation of e5 before fine-tuning: one pass over the training reviews' 5,805 blocks of 128
# tokens in batches of 32, at a learning rate for a pretrained model (not tuned); the word embeddings
# (and the output layer tied to them) stay as pretrained, as fine-tuning keeps them
E5_MLM = PretrainConfig(steps=180, batch_size=32, block_size=128, learning_rate=5e-5, train="body", checkpoint_every=60)
# Fine-tuning settings tried for an encoder against the profile's (quick size, seed 0), scored on
# validation only: the profile's settings are kept unless a trial beats them there by half a point
TRIALS = {
    "main": {
        "3 epochs (profile: 2)": {"epochs": 3},
        "learning rate 1e-4 (profile: 5e-5)": {"learning_rate": 1e-4},
        "word embeddings at learning rate 1e-3": {"embedding_learning_rate": 1e-3},
        "max_length 256 (profile: 128, which cuts 9% of the training reviews)": {"max_length": 256},
    },
    "e5": {
        "3 epochs (profile: 2)": {"epochs": 3},
        "learning rate 1e-4 (profile: 5e-5)": {"learning_rate": 1e-4},
        "word embeddings trained too (profile: frozen)": {"freeze_word_embeddings": False},
        "mean of the last layer's tokens (profile: [CLS])": {"encoder": "mean-pooled"},
        f"MLM-adapted on the training reviews first ({E5_MLM.steps} steps)": {"encoder": "mlm-adapted"},
    },
}


def encoder(row: str, work: Path) -> tuple[str, float]:
    """The model directory of ``row`` and the seconds it took to build (0 for a bundled model)."""
    start = time.perf_counter()
    spec = ROWS[row][1]
    if isinstance(spec, chinese.ChineseRecipe):  # its build time, as recorded when it was built
        directory = chinese.chinese_encoder_dir(spec)
        return str(directory), json.loads((directory / chinese.RECIPE_FILE).read_text())["build_seconds"]
    if spec == "from-zero":
        out = work / "from-zero"
        if not (out / "model.safetensors").is_file():
            pretrain_from_zero(out, steps=FROM_ZERO_STEPS)
        return str(out), time.perf_counter() - start
    return spec, 0.0


def load_results() -> dict:
    return json.loads(JSON_FILE.read_text()) if JSON_FILE.is_file() else {"runs": {}, "baseline": {}}


def save(results: dict) -> None:
    JSON_FILE.parent.mkdir(parents=True, exist_ok=True)
    JSON_FILE.write_text(json.dumps(results, indent=1))
    (RESULTS_DIR / "chinese_transfer.md").write_text(markdown(results))


def variant(row: str, model: str, name: str, work: Path) -> str:
    """The model directory of ``row``'s encoder ``model`` changed as ``name`` says (:mod:`benchmarks.encoder_variants`)."""
    base = resolve(model)
    if name == "mean-pooled":
        return str(encoder_variants.mean_pooled(base, work / f"{row}-mean-pooled"))
    return str(encoder_variants.mlm_adapted(base, work / f"{row}-mlm-{E5_MLM.steps}", E5_MLM))


def run_one(row: str, size: str, seed: int, dsd, work: Path) -> dict:
    model, build_seconds = encoder(row, work)
    config = train.TrainConfig.from_profile(language="zh", model=model, seed=seed, **ROW_SETTINGS.get(row, {}))
    start = time.perf_counter()
    result = train.fit(dsd, work / f"{row}-{size}-{seed}", config)
    return fit_record(result, config, time.perf_counter() - start, row=row, size=size, seed=seed,
                      build_minutes=build_seconds / 60)


def run_trial(row: str, name: str, dsd, work: Path) -> dict:
    """One validation-only fine-tuning of ``row``'s encoder with the settings ``TRIALS[row][name]``
    (``encoder``: the encoder itself changed, see :func:`variant`, with the row's fine-tuning settings)."""
    overrides = dict(TRIALS[row][name])
    slug = "-".join(f"{key}={value}" for key, value in overrides.items())
    start = time.perf_counter()
    changed = overrides.pop("encoder", None)
    base = encoder(row, work)[0]
    model = variant(row, base, changed, work) if changed else base
    build_minutes = (time.perf_counter() - start) / 60
    config = train.TrainConfig.from_profile(language="zh", model=base, seed=0)
    config = replace(config, model=model, **overrides)  # the row's frozen word embeddings stay frozen
    start = time.perf_counter()
    result = train.fit(dsd, work / f"trial-{row}-{slug}", config, evaluate_test=False)
    return {"overrides": TRIALS[row][name], "best_epoch": result.best_epoch, "validation": result.validation,
            "history": result.history, "fit_minutes": (time.perf_counter() - start) / 60,
            "build_minutes": build_minutes}


def markdown(results: dict) -> str:
    meta = results["meta"]
    out = ["# Chinese sentiment offline: encoders against the character baseline", "",
           *provenance_markdown(meta)]
    for size in ("quick", "all"):
        if size in results["baseline"]:
            out += [f"## Training texts: {results['baseline'][size]['train_size']} ({size})", "",
                    paired_table(results, size).round(4).to_markdown(), ""]
    for row in results.get("trials", {}):
        out += [f"## Fine-tuning settings tried on validation: {results['row_names'][row]} (quick size, seed 0)", "",
                trials_table(results, row).round(4).to_markdown(), ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--sizes", nargs="+", default=["quick"], choices=["quick", "all"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--main-seeds", nargs="+", type=int, default=[0, 1, 2], help="seeds of the main row")
    parser.add_argument("--trials", action="store_true", help="also run the validation-only TRIALS of --rows")
    parser.add_argument("--work", type=Path, default=Path("runs/chinese_transfer"))
    args = parser.parse_args(argv)
    results = load_results()
    results["row_names"] = {row: name for row, (name, _) in ROWS.items()}
    command = " ".join(["python -m benchmarks.chinese_transfer", *(argv if argv is not None else sys.argv[1:])])
    results["meta"] = accuracy_meta(results.get("meta"), command)
    for size in args.sizes:
        dsd = data.load("chinese_reviews", seed=0, train_size=None if size == "all" else "profile", eval_size=None)
        if size not in results["baseline"]:
            results["baseline"][size] = baseline_record(dsd, "char")
            save(results)
        for row in args.rows:
            for seed in (args.main_seeds if row == "main" else args.seeds):
                key = f"{row}/{size}/{seed}"
                if key not in results["runs"]:
                    results["runs"][key] = run_one(row, size, seed, dsd, args.work)
                    save(results)
                    print(f"[chinese_transfer] {key}: test accuracy {results['runs'][key]['test']['accuracy']:.4f}", flush=True)
        if args.trials and size == "quick":
            for row in (row for row in args.rows if row in TRIALS):
                done = results.setdefault("trials", {}).setdefault(row, {})
                for name in (name for name in TRIALS[row] if name not in done):
                    done[name] = run_trial(row, name, dsd, args.work)
                    save(results)
    print(markdown(results))


if __name__ == "__main__":
    main()
