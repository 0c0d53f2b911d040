"""The ``bertclf`` command: ``pretrain``, ``build-encoder``, ``train``, ``evaluate``, ``predict``,
``export`` and ``serve``.

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
    source.add_argument("--dataset", help="a named data set (e.g. tweets, chinese_reviews, sst2) or a save_to_disk directory")
    source.add_argument("--csv", type=Path, help="your own CSV/TSV/JSON(L) file (the training file with the two below)")
    parser.add_argument("--validation-csv", type=Path, help="with --csv: your validation file (else carved from --csv)")
    parser.add_argument("--test-csv", type=Path, help="with --csv: your test file, kept as the test split")
    parser.add_argument("--split-column", help="with --csv: column saying train/validation/test for each row")
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
    train.add_argument("--overwrite", action="store_true", help="replace the trained model already in --out")
    train.add_argument("--model", help="Hub id or local directory (default: the profile's)")
    train.add_argument("--epochs", type=int)
    train.add_argument("--lr", type=float, dest="learning_rate")
    train.add_argument("--batch-size", type=int)
    train.add_argument("--max-length", type=int)
    train.add_argument("--patience", type=int, help="early stopping: epochs without improvement")
    train.add_argument("--min-steps", type=int, help="train at least this many optimizer steps: more epochs on small data, early stopping waits (default: 100, or 0 with --epochs)")
    train.add_argument("--class-weights", choices=["balanced"], help="weigh the loss against class imbalance")
    train.add_argument("--device", help="cpu, cuda, cuda:1 … (default: cuda if present)")
    train.add_argument("--checkpoint-steps", type=int, help="a checkpoint every this many optimizer steps (default: 500) …")
    train.add_argument("--checkpoint-minutes", type=float, help="… or minutes, whichever comes first (default: 5)")
    train.add_argument("--keep-checkpoints", type=int, help="newest checkpoints kept while training (default: 2)")
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
    predict.add_argument("--backend", default="torch", choices=["torch", "onnx"], help="onnx: run `bertclf export` first")
    predict.add_argument("--json", action="store_true", help="print one JSON object per line")

    export = commands.add_parser("export", help="write the run's ONNX graph (RUN_DIR/onnx) for --backend onnx")
    export.add_argument("run_dir", type=Path)
    export.add_argument("--quantize", action="store_true", help="also write the int8 graph (ONNX Runtime quantizer)")

    serve = commands.add_parser("serve", help="an HTTP service: POST /predict, GET /health, /metadata, /docs")
    serve.add_argument("run_dir", type=Path)
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: this machine only)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--backend", default="torch", choices=["torch", "onnx"], help="onnx: run `bertclf export` first")
    serve.add_argument("--quantize", action="store_true", help="int8 (with onnx: the graph of `export --quantize`)")
    serve.add_argument("--max-batch", type=int, default=32, help="texts per model call; 1: one request at a time")
    serve.add_argument("--max-wait-ms", type=float, default=5.0, help="how long a batch waits for more requests")
    serve.add_argument("--max-queue", type=int, default=256, help="waiting requests before answering 503")
    serve.add_argument("--max-texts", type=int, default=64, help="texts per request before answering 413")
    serve.add_argument("--max-chars", type=int, default=10_000, help="characters per text before answering 413")
    serve.add_argument("--threads", type=int, help="CPU threads for the model (default: torch's, one per core)")
    _add_pretrain_parsers(commands)
    return parser


def _add_pretrain_parsers(commands) -> None:
    pretrain = commands.add_parser("pretrain", help="masked-language-model pretraining on plain text")
    text = pretrain.add_mutually_exclusive_group()
    text.add_argument("--text", type=Path, nargs="+", help="plain UTF-8 text files, one text per line")
    text.add_argument("--corpus", choices=["people_daily"], help="a bundled corpus (People's Daily, Jan. 1998)")
    pretrain.add_argument("--out", type=Path, help="output model directory (required unless --resume)")
    pretrain.add_argument("--resume", type=Path, metavar="OUT_DIR", help="continue an interrupted run")
    pretrain.add_argument("--model", help="start from this encoder (directory, Hub id or bundled-minilm)")
    pretrain.add_argument("--tokenizer", default="bundled-minilm", help="tokenizer for a new model (default: bundled-minilm)")
    pretrain.add_argument("--layers", type=int, default=4, help="new model: transformer layers")
    pretrain.add_argument("--hidden", type=int, default=256, help="new model: hidden size")
    pretrain.add_argument("--heads", type=int, default=4, help="new model: attention heads")
    pretrain.add_argument("--steps", type=int, default=1000)
    pretrain.add_argument("--batch-size", type=int, default=32)
    pretrain.add_argument("--block-size", type=int, default=128, help="tokens per training block")
    pretrain.add_argument("--lr", type=float, default=5e-4, dest="learning_rate")
    pretrain.add_argument("--train", default="all", choices=["all", "embeddings"], help="which parameters learn")
    pretrain.add_argument("--checkpoint-every", type=int, default=100, help="steps between checkpoints")
    pretrain.add_argument("--seed", type=int, default=0)
    pretrain.add_argument("--device", help="cpu, cuda … (default: cuda if present)")

    build = commands.add_parser("build-encoder", help="build (or locate) the offline Chinese encoder")
    build.add_argument("language", choices=["zh"])


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


def cmd_train(args: argparse.Namespace) -> None:
    from bertclf import data as data_module
    from bertclf import train
    from bertclf.data.language import detect_language
    from bertclf.evaluate import baseline
    from bertclf.profiles import describe
    from bertclf.runs.card import write_run_card

    if args.resume:  # with the recorded data, or --dataset/--csv for a run that records none
        result = train.resume(
            args.resume, _load_data(args) if (args.dataset or args.csv) else None,
            checkpoint_steps=args.checkpoint_steps, checkpoint_minutes=args.checkpoint_minutes,
            keep_checkpoints=args.keep_checkpoints,
        )
        dsd = None
    else:
        if not (args.dataset or args.csv):
            raise BertclfError("say what to train on: --dataset NAME (e.g. tweets) or --csv PATH")
        dsd = _load_data(args)
        if data_module.split_note(dsd):  # Hub sets: which splits are official, which carved
            print(f"[bertclf] {data_module.split_note(dsd)}", flush=True)
        language = detect_language(dsd["train"]["text"])  # Chinese text → the Chinese encoder
        config = train.TrainConfig.from_profile(
            language=language, model=args.model, epochs=args.epochs, learning_rate=args.learning_rate,
            batch_size=args.batch_size, max_length=args.max_length, patience=args.patience,
            min_steps=args.min_steps, class_weights=args.class_weights, device=args.device, seed=args.seed,
            checkpoint_steps=args.checkpoint_steps, checkpoint_minutes=args.checkpoint_minutes,
            keep_checkpoints=args.keep_checkpoints,
        )
        out = args.out or Path("runs") / (args.dataset or args.csv.stem)
        print(describe(model=config.model, max_length=config.max_length, train_size=len(dsd["train"]),
                       data=args.dataset or args.csv, language=language), flush=True)
        result = train.fit(dsd, out, config, overwrite=args.overwrite)
    test = result.test_metrics
    print(f"run directory: {result.run_dir} (best epoch {result.best_epoch})")
    line = f"test accuracy {test['accuracy']:.4f}  macro-F1 {test['macro_f1']:.4f}"
    if dsd is not None and not args.no_baseline:
        analyzer = "char" if language == "zh" else "word"
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
    from bertclf.serve.classifier import Classifier

    texts = _read_texts(args)
    if not texts:
        raise BertclfError("no texts to classify: the input was empty")
    clf = Classifier.load(args.run_dir, quantize=args.quantize, backend=args.backend)
    for text, prediction in zip(texts, clf.predict(texts, long_texts=args.long_texts)):
        if args.json:
            print(json.dumps({"text": text, **prediction}, ensure_ascii=False))
        else:
            print(f"{prediction['label']}\t{prediction['score']:.3f}\t{text}")


def cmd_export(args: argparse.Namespace) -> None:
    from bertclf.serve.export import export_onnx

    for path in export_onnx(args.run_dir, quantize=args.quantize):
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    print(f"use it: bertclf predict {args.run_dir} TEXT --backend onnx{' --quantize' if args.quantize else ''}")


def cmd_serve(args: argparse.Namespace) -> None:
    from bertclf.serve.onnx import require

    uvicorn, _ = require("uvicorn", "fastapi")
    import torch

    from bertclf.serve.classifier import Classifier
    from bertclf.serve.http import create_app

    if args.threads:
        torch.set_num_threads(args.threads)
    clf = Classifier.load(args.run_dir, quantize=args.quantize, backend=args.backend)
    app = create_app(clf, max_batch=args.max_batch, max_wait_ms=args.max_wait_ms, max_queue=args.max_queue,
                     max_texts=args.max_texts, max_chars=args.max_chars)
    print(f"serving {args.run_dir} ({clf.backend}{', int8' if clf.quantized else ''}, "
          f"{torch.get_num_threads()} thread(s)) on http://{args.host}:{args.port} (docs: /docs)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


def cmd_pretrain(args: argparse.Namespace) -> None:
    from bertclf import runs
    from bertclf.encoders import pretrain
    from bertclf.models.load import load_tokenizer
    from bertclf.models.names import resolve

    out = args.resume or args.out
    if out is None:
        raise BertclfError("say where to save the model: --out DIR (or --resume DIR)")
    settings = vars(args) if not args.resume else runs.read_json(out / pretrain.ARGS_FILE)
    texts = _pretraining_texts(settings)
    if settings["model"]:
        tokenizer = load_tokenizer(settings["model"])
        model = pretrain.load_masked_lm(resolve(settings["model"]), tokenizer)
    else:
        tokenizer = load_tokenizer(settings["tokenizer"])
        model = pretrain.new_masked_lm(tokenizer, layers=settings["layers"], hidden=settings["hidden"],
                                       heads=settings["heads"], seed=settings["seed"])
    config = pretrain.PretrainConfig(**{k: settings[k] for k in (
        "steps", "batch_size", "block_size", "learning_rate", "train", "checkpoint_every", "seed", "device")})
    if not args.resume:
        Path(out).mkdir(parents=True, exist_ok=True)
        runs.write_json(Path(out) / pretrain.ARGS_FILE, {k: str(v) if isinstance(v, Path) else v
                                                          for k, v in settings.items() if k != "func"})
    result = pretrain.pretrain(model, tokenizer, texts, out, config, resume=bool(args.resume))
    print(f"saved {out}: {len(result.losses)} steps, final loss {sum(result.losses[-20:]) / len(result.losses[-20:]):.3f}")


def _pretraining_texts(settings: dict) -> list[str]:
    if settings.get("corpus") == "people_daily":
        from bertclf.data.corpora import people_daily_lines

        return people_daily_lines()
    if not settings.get("text"):
        raise BertclfError("say what text to pretrain on: --text FILE [FILE …] or --corpus people_daily")
    texts = []
    for path in map(Path, settings["text"]):
        if not path.is_file():
            raise BertclfError(f"file not found: {path}")
        texts += [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    return texts


def cmd_build_encoder(args: argparse.Namespace) -> None:
    from bertclf.encoders.chinese import chinese_encoder_dir

    print(chinese_encoder_dir())


COMMANDS = {
    "pretrain": cmd_pretrain, "build-encoder": cmd_build_encoder,
    "train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict, "export": cmd_export, "serve": cmd_serve,
}


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
