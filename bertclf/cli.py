"""The ``bertclf`` command: ``train``, ``evaluate`` and ``predict`` on the package's functions.

Bad input prints one line, ``bertclf: error: …``, and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bertclf.errors import BertclfError


def _add_data_arguments(parser: argparse.ArgumentParser, required: bool) -> None:
    source = parser.add_mutually_exclusive_group(required=required)
    source.add_argument("--dataset", help="a named data set, e.g. tweets, chinese_reviews, sst2")
    source.add_argument("--csv", type=Path, help="your own CSV/TSV/JSON(L) file")
    parser.add_argument("--text-column", default="text", help="column holding the text (default: text)")
    parser.add_argument("--label-column", default="label", help="column holding the label (default: label)")
    parser.add_argument("--drop-bad-rows", action="store_true", help="drop rows with empty texts/labels (warn)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the split, the head and the batches")
    parser.add_argument("--train-size", type=int, help="cap on training examples (default: the profile's)")
    parser.add_argument("--eval-size", type=int, help="cap on validation/test examples (default: the profile's)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bertclf", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="fine-tune on a data set or CSV, then test")
    _add_data_arguments(train, required=False)
    train.add_argument("--out", type=Path, help="run directory (default: runs/<data set>)")
    train.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue an interrupted run")
    train.add_argument("--model", help="Hub id or local directory (default: the profile's)")
    train.add_argument("--epochs", type=int)
    train.add_argument("--lr", type=float, dest="learning_rate")
    train.add_argument("--batch-size", type=int)
    train.add_argument("--max-length", type=int)
    train.add_argument("--patience", type=int, help="early stopping: epochs without improvement")
    train.add_argument("--device", help="cpu, cuda, cuda:1 … (default: cuda if present)")
    train.add_argument("--no-baseline", action="store_true", help="skip the TF-IDF baseline")

    evaluate = commands.add_parser("evaluate", help="score a run on its test split")
    evaluate.add_argument("run_dir", type=Path)
    _add_data_arguments(evaluate, required=False)
    evaluate.add_argument("--split", default="test", choices=["train", "validation", "test"])

    predict = commands.add_parser("predict", help="classify texts (arguments, --file, or stdin)")
    predict.add_argument("run_dir", type=Path)
    predict.add_argument("texts", nargs="*", help="texts to classify")
    predict.add_argument("--file", type=Path, help="read one text per line")
    predict.add_argument("--long-texts", default="truncate", choices=["truncate", "head_tail", "sliding"])
    predict.add_argument("--quantize", action="store_true", help="int8 dynamic quantization (CPU)")
    predict.add_argument("--json", action="store_true", help="print one JSON object per line")
    return parser


def _load_data(args: argparse.Namespace):
    from bertclf import data

    sizes = {k: v for k, v in (("train_size", args.train_size), ("eval_size", args.eval_size)) if v is not None}
    if args.csv:
        return data.load_csv(
            args.csv, args.text_column, args.label_column,
            seed=args.seed, drop_bad_rows=args.drop_bad_rows, **sizes,
        )
    return data.load(args.dataset, seed=args.seed, **sizes)


def cmd_train(args: argparse.Namespace) -> None:
    from bertclf import baseline, data, train
    from bertclf.profiles import describe

    if args.resume:  # with the recorded data, or --dataset/--csv for a run that records none
        result = train.resume(args.resume, _load_data(args) if (args.dataset or args.csv) else None)
        dsd = None
    else:
        if not (args.dataset or args.csv):
            raise BertclfError("say what to train on: --dataset NAME (e.g. tweets) or --csv PATH")
        dsd = _load_data(args)
        config = train.TrainConfig.from_profile(
            model=args.model, epochs=args.epochs, learning_rate=args.learning_rate,
            batch_size=args.batch_size, max_length=args.max_length, patience=args.patience,
            device=args.device, seed=args.seed,
        )
        out = args.out or Path("runs") / (args.dataset or args.csv.stem)
        print(describe(train_size=len(dsd["train"]), data=args.dataset or args.csv), flush=True)
        result = train.fit(dsd, out, config)
    test = result.test_metrics
    print(f"run directory: {result.run_dir} (best epoch {result.best_epoch})")
    line = f"test accuracy {test['accuracy']:.4f}  macro-F1 {test['macro_f1']:.4f}"
    if dsd is not None and not args.no_baseline:
        analyzer = "char" if args.dataset and "chin" in args.dataset else "word"
        base = baseline.fit_baseline(dsd, analyzer=analyzer)
        verdict = "beats" if test["accuracy"] > base["accuracy"] else "does NOT beat"
        line += (f"  |  TF-IDF + logistic regression on the same {len(dsd['train'])} training texts: "
                 f"accuracy {base['accuracy']:.4f}  macro-F1 {base['macro_f1']:.4f}  → fine-tuned model {verdict} it")
    print(line)


def cmd_evaluate(args: argparse.Namespace) -> None:
    from bertclf import data, runs
    from bertclf.evaluate import evaluate_model
    from bertclf.inference import Classifier

    info = runs.run_info(args.run_dir)
    dsd = _load_data(args) if (args.dataset or args.csv) else data.reload(info["data"])
    if data.label_names(dsd) != info["label_names"]:
        raise BertclfError(
            f"the run predicts {info['label_names']} but the data has labels {data.label_names(dsd)}: "
            "evaluate on the data set it was trained on"
        )
    clf = Classifier.load(args.run_dir)
    result = evaluate_model(clf.model, clf.tokenizer, dsd[args.split], max_length=clf.max_length)
    print(json.dumps({args.split: result.summary()}, indent=2))
    print(result.report().round(3).to_string())
    print(result.confusion().to_string())


def _read_texts(args: argparse.Namespace) -> list[str]:
    if args.texts:
        return args.texts
    if args.file:
        if not args.file.is_file():
            raise BertclfError(f"file not found: {args.file}")
        raw, where = args.file.read_bytes(), str(args.file)
    elif sys.stdin.isatty():
        raise BertclfError('no texts: pass them as arguments, with --file PATH, or on stdin')
    else:
        stdin = getattr(sys.stdin, "buffer", None)  # a StringIO (tests, notebooks) has none
        raw, where = (stdin.read() if stdin else sys.stdin.read().encode("utf-8", "replace")), "stdin"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BertclfError(
            f"{where} is not UTF-8 (byte {error.start}): re-save it as UTF-8, e.g. "
            "iconv -f latin1 -t utf-8 in.txt > out.txt"
        ) from None
    return [line for line in text.splitlines() if line.strip()]


def cmd_predict(args: argparse.Namespace) -> None:
    from bertclf.inference import Classifier

    texts = _read_texts(args)
    if not texts:
        raise BertclfError("no texts to classify: the input was empty")
    clf = Classifier.load(args.run_dir, quantize=args.quantize)
    for text, prediction in zip(texts, clf.predict(texts, long_texts=args.long_texts)):
        if args.json:
            print(json.dumps({"text": text, **prediction}, ensure_ascii=False))
        else:
            print(f"{prediction['label']}\t{prediction['score']:.3f}\t{text}")


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        COMMANDS[args.command](args)
    except BertclfError as error:
        print(f"bertclf: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
