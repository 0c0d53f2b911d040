"""``bertclf train`` and ``bertclf evaluate``: data in, a run directory out, and its scores."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bertclf.errors import BertclfError


def _load_data(args: argparse.Namespace):
    from bertclf import data

    sizes = {k: v for k, v in (("train_size", args.train_size), ("eval_size", args.eval_size)) if v is not None}
    given = {"validation": args.validation_csv, "test": args.test_csv}
    if args.csv:
        files = {"train": args.csv, **{k: v for k, v in given.items() if v}} if any(given.values()) else args.csv
        return data.load_csv(
            files, args.text_column, args.label_column, split_column=args.split_column,
            seed=args.seed, drop_bad_rows=args.drop_bad_rows, **sizes,
        )
    if any(given.values()) or args.split_column:
        raise BertclfError("--validation-csv, --test-csv and --split-column go with --csv (the training file)")
    return data.load(args.dataset, seed=args.seed, text_column=args.text_column,
                     label_column=args.label_column, **sizes)


# what a run records and --resume keeps: giving one of these with --resume is an error, not a no-op
RUN_SETTINGS = ("out", "overwrite", "model", "epochs", "learning_rate", "batch_size", "max_length", "patience",
                "min_steps", "class_weights", "train_word_embeddings", "device", "seed", "train_size", "eval_size")


def given(args: argparse.Namespace, command: str, names: tuple[str, ...]) -> list[str]:
    """The options among ``names`` set on the command line (as their flags, e.g. ``--lr``)."""
    from bertclf.cli.parser import build_parser, flag

    defaults = vars(build_parser().parse_args([command]))
    return [flag(name) for name in names if getattr(args, name) != defaults.get(name)]


def _config(args: argparse.Namespace, language: str):
    """The run's settings: the profile's for ``language``, with the command line's on top."""
    from bertclf import train

    return train.TrainConfig.from_profile(
        language=language, model=args.model, epochs=args.epochs, learning_rate=args.learning_rate,
        batch_size=args.batch_size, max_length=args.max_length, patience=args.patience,
        min_steps=args.min_steps, class_weights=args.class_weights, device=args.device, seed=args.seed,
        checkpoint_steps=args.checkpoint_steps, checkpoint_minutes=args.checkpoint_minutes,
        keep_checkpoints=args.keep_checkpoints, freeze_word_embeddings=False if args.train_word_embeddings else None,
    )


def choose_config(args: argparse.Namespace, texts):
    """The run's settings and the language they were chosen for: the language of the training
    ``texts`` (:func:`bertclf.data.language.detect_language`: ``en``, ``zh`` or ``other``) picks
    the profile's English, Chinese or multilingual encoder and length; ``--model`` and
    ``--max-length`` still override them."""
    from bertclf.data.language import detect_language

    language = detect_language(texts)
    return _config(args, language), language


def baseline_analyzer(language: str) -> str:
    """The TF-IDF baseline's analyzer: words for English, character n-grams otherwise (Chinese
    has no spaces; for other languages words split by spaces miss their inflections)."""
    return "word" if language == "en" else "char"


def cmd_train(args: argparse.Namespace) -> None:
    from bertclf import data as data_module
    from bertclf import train
    from bertclf.evaluate import baseline
    from bertclf.profiles import describe
    from bertclf.runs.card import write_run_card

    if args.resume:  # with the recorded data, or --dataset/--csv for a run that records none
        changed = given(args, "train", RUN_SETTINGS)
        if changed:
            raise BertclfError(
                f"--resume continues {args.resume} with the settings it recorded, so {', '.join(changed)} would be "
                "ignored: drop them (only --checkpoint-steps, --checkpoint-minutes and --keep-checkpoints may change), "
                "or train a new run into another --out"
            )
        result = train.resume(
            args.resume, _load_data(args) if (args.dataset or args.csv) else None,
            checkpoint_steps=args.checkpoint_steps, checkpoint_minutes=args.checkpoint_minutes,
            keep_checkpoints=args.keep_checkpoints,
        )
        dsd = None
    else:
        if not (args.dataset or args.csv):
            raise BertclfError("say what to train on: --dataset NAME (e.g. tweets) or --csv PATH")
        _config(args, "en")  # settings are checked before any data loads
        dsd = _load_data(args)
        if data_module.split_note(dsd):  # Hub sets: which splits are official, which carved
            print(f"[bertclf] {data_module.split_note(dsd)}", flush=True)
        config, language = choose_config(args, dsd["train"]["text"])  # its language picks the encoder
        out = args.out or Path("runs") / (args.dataset or args.csv.stem)
        print(describe(model=config.model, epochs=config.epochs, lr=f"{config.learning_rate:g}",
                       batch=config.batch_size, max_length=config.max_length, train_size=len(dsd["train"]),
                       data=args.dataset or args.csv, language=language), flush=True)
        result = train.fit(dsd, out, config, overwrite=args.overwrite)
    test = result.test_metrics
    print(f"run directory: {result.run_dir} (best epoch {result.best_epoch})")
    line = f"test accuracy {test['accuracy']:.4f}  macro-F1 {test['macro_f1']:.4f}"
    if dsd is not None and not args.no_baseline:
        analyzer = baseline_analyzer(language)
        base = baseline.fit_baseline(dsd, analyzer=analyzer)
        write_run_card(result.run_dir, baseline=base)
        verdict = "beats" if test["accuracy"] > base["accuracy"] else "does NOT beat"
        line += (f"  |  {analyzer} n-gram TF-IDF + logistic regression on the same {len(dsd['train'])} training texts: "
                 f"accuracy {base['accuracy']:.4f}  macro-F1 {base['macro_f1']:.4f}  → fine-tuned model {verdict} it")
    print(line)


def cmd_evaluate(args: argparse.Namespace) -> None:
    from bertclf import data, runs
    from bertclf.evaluate.metrics import evaluate_model
    from bertclf.serve.classifier import Classifier

    info = runs.run_info(args.run_dir)
    given = bool(args.dataset or args.csv)  # else: rebuilt from the run's record, so it must match it
    dsd = _load_data(args) if given else data.reload(info["data"])
    if data.label_names(dsd) != info["label_names"]:
        raise BertclfError(
            f"the run predicts {info['label_names']} but the data has labels {data.label_names(dsd)}: "
            "evaluate on the data set it was trained on"
        )
    recorded = {} if given else info.get("splits", {})
    differences = runs.data_differences(recorded, {args.split: data.fingerprint(dsd[args.split])})
    if differences:
        raise BertclfError(
            f"the data rebuilt from the run's record are not the run's ({differences[0]}): its source changed "
            "since; to evaluate on the data as they are now, pass them with --dataset/--csv"
        )
    clf = Classifier.load(args.run_dir)
    result = evaluate_model(clf.model, clf.tokenizer, dsd[args.split], max_length=clf.max_length)
    print(json.dumps({args.split: result.summary()}, indent=2))
    print(result.report().round(3).to_string())
    print(result.confusion().to_string())
