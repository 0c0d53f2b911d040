"""The command line's arguments: one subcommand each for pretraining, building the offline
encoder, training, evaluating, predicting, exporting and serving."""

from __future__ import annotations

import argparse
from pathlib import Path

from bertclf.serve.batcher import MAX_WAIT_MS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bertclf", description="Fine-tune BERT for text classification.")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="fine-tune on a data set or CSV, then test")
    _add_data_arguments(train, required=False)
    train.add_argument("--out", type=Path, help="run directory (default: runs/<data set>)")
    train.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue an interrupted run")
    train.add_argument("--overwrite", action="store_true", help="replace the trained model already in --out")
    train.add_argument("--model", help="Hub id or local directory (default: the profile's)")
    train.add_argument("--epochs", type=int)
    train.add_argument(flag("learning_rate"), type=float, dest="learning_rate")
    train.add_argument("--batch-size", type=int)
    train.add_argument("--max-length", type=int)
    train.add_argument("--patience", type=int, help="early stopping: epochs without improvement")
    train.add_argument("--min-steps", type=int, help="train at least this many optimizer steps: more epochs on small data, early stopping waits (default: 100, or 0 with --epochs)")
    train.add_argument("--class-weights", choices=["balanced"], help="weigh the loss against class imbalance")
    train.add_argument("--train-word-embeddings", action="store_true",
                       help="train the multilingual encoder's word embeddings too (default: frozen; 2x the checkpoint)")
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
    serve.add_argument("--max-wait-ms", type=float, default=MAX_WAIT_MS,
                       help="under load, how long a batch may wait for the clients the last batch answered "
                            f"(default {MAX_WAIT_MS:g}; 0: take only what is already waiting). A lone request "
                            "on an idle service never waits")
    serve.add_argument("--max-queue", type=int, default=256, help="waiting requests before answering 503")
    serve.add_argument("--max-texts", type=int, default=64, help="texts per request before answering 413")
    serve.add_argument("--max-chars", type=int, default=10_000, help="characters per text before answering 413")
    serve.add_argument("--timeout", type=float, default=30.0, help="seconds a request may wait for its answer before 504")
    serve.add_argument("--threads", type=int, help="CPU threads for the model (default: torch's, one per core)")
    _add_pretrain_parsers(commands)
    return parser


# options whose flag is not their name with dashes (dest → flag): every other flag is its dest with dashes
SHORT_FLAGS = {"learning_rate": "--lr"}


def flag(dest: str) -> str:
    """The command-line flag of option ``dest`` (``learning_rate`` → ``--lr``, ``max_length`` → ``--max-length``)."""
    return SHORT_FLAGS.get(dest, "--" + dest.replace("_", "-"))


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


def _add_pretrain_parsers(commands) -> None:
    pretrain = commands.add_parser("pretrain", help="masked-language-model pretraining on plain text")
    text = pretrain.add_mutually_exclusive_group()
    text.add_argument("--text", type=Path, nargs="+", help="plain UTF-8 text files, one text per line")
    text.add_argument("--corpus", choices=["people_daily"], help="a bundled corpus (People's Daily, Jan. 1998)")
    pretrain.add_argument("--out", type=Path, help="output model directory (required unless --resume)")
    pretrain.add_argument("--resume", type=Path, metavar="OUT_DIR", help="continue an interrupted run")
    pretrain.add_argument("--overwrite", action="store_true", help="replace the pretrained model already in --out")
    pretrain.add_argument("--model", help="start from this encoder (directory, Hub id or bundled-minilm)")
    pretrain.add_argument("--tokenizer", default="bundled-minilm", help="tokenizer for a new model (default: bundled-minilm)")
    pretrain.add_argument("--layers", type=int, default=4, help="new model: transformer layers")
    pretrain.add_argument("--hidden", type=int, default=256, help="new model: hidden size")
    pretrain.add_argument("--heads", type=int, default=4, help="new model: attention heads")
    pretrain.add_argument("--steps", type=int, default=1000)
    pretrain.add_argument("--batch-size", type=int, default=32)
    pretrain.add_argument("--block-size", type=int, default=128, help="tokens per training block")
    pretrain.add_argument(flag("learning_rate"), type=float, default=5e-4, dest="learning_rate")
    pretrain.add_argument("--train", default="all", choices=["all", "embeddings", "body"],
                          help="which parameters learn (body: all but the word embeddings)")
    pretrain.add_argument("--checkpoint-every", type=int, default=100, help="steps between checkpoints")
    pretrain.add_argument("--seed", type=int, default=0)
    pretrain.add_argument("--device", help="cpu, cuda … (default: cuda if present)")

    build = commands.add_parser("build-encoder", help="build (or locate) an offline encoder: Chinese or multilingual")
    build.add_argument("language", choices=["zh", "multilingual"])
