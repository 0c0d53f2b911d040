"""``bertclf pretrain`` and ``bertclf build-encoder``: encoders before fine-tuning."""

from __future__ import annotations

import argparse
from pathlib import Path

from bertclf.errors import BertclfError

# what `bertclf pretrain` records for --resume; giving one of these with --resume is an error
PRETRAIN_SETTINGS = ("out", "overwrite", "text", "corpus", "model", "tokenizer", "layers", "hidden", "heads", "steps",
                     "batch_size", "block_size", "learning_rate", "train", "checkpoint_every", "seed", "device")
CONFIG_FIELDS = ("steps", "batch_size", "block_size", "learning_rate", "train", "checkpoint_every", "seed", "device")


def cmd_pretrain(args: argparse.Namespace) -> None:
    from bertclf.encoders import pretrain

    out = args.resume or args.out
    if out is None:
        raise BertclfError("say where to save the model: --out DIR (or --resume DIR)")
    settings = _recorded(args, pretrain.ARGS_FILE) if args.resume else vars(args)
    config = pretrain.PretrainConfig(**{k: settings[k] for k in CONFIG_FIELDS})  # checked before text loads
    texts = _pretraining_texts(settings)
    model, tokenizer = _model(settings)
    record = None if args.resume else {k: str(v) if isinstance(v, Path) else v for k, v in settings.items()}
    result = pretrain.pretrain(model, tokenizer, texts, out, config, resume=bool(args.resume),
                               overwrite=bool(settings.get("overwrite")), command_line=record)
    print(f"saved {out}: {len(result.losses)} steps, final loss {sum(result.losses[-20:]) / len(result.losses[-20:]):.3f}")


def _recorded(args: argparse.Namespace, args_file: str) -> dict:
    """The settings an interrupted ``bertclf pretrain`` recorded; an error if others are given now."""
    from bertclf.cli.training import given
    from bertclf.runs.atomic import read_json

    changed = given(args, "pretrain", PRETRAIN_SETTINGS)
    if changed:
        raise BertclfError(f"--resume continues {args.resume} with the settings it recorded, so {', '.join(changed)} "
                           "would be ignored: drop them, or start a new run with --out")
    path = Path(args.resume) / args_file
    if not path.is_file():
        raise BertclfError(f"{args.resume} is not a `bertclf pretrain` directory (no {args_file}): check the path, "
                           "or start one with --out")
    return read_json(path)


def _model(settings: dict):
    """The encoder to pretrain (an existing one, or a new random one) and its tokenizer."""
    from bertclf.encoders import pretrain
    from bertclf.models.load import load_tokenizer
    from bertclf.models.names import resolve

    if settings["model"]:
        tokenizer = load_tokenizer(settings["model"])
        return pretrain.load_masked_lm(resolve(settings["model"]), tokenizer), tokenizer
    tokenizer = load_tokenizer(settings["tokenizer"])
    return pretrain.new_masked_lm(tokenizer, layers=settings["layers"], hidden=settings["hidden"],
                                  heads=settings["heads"], seed=settings["seed"]), tokenizer


def _pretraining_texts(settings: dict) -> list[str]:
    if settings.get("corpus") == "people_daily":
        from bertclf.data.corpora import people_daily_lines

        return people_daily_lines()
    if not settings.get("text"):
        raise BertclfError("say what text to pretrain on: --text FILE [FILE …] or --corpus people_daily")
    texts = []
    for path in map(Path, settings["text"]):
        if not path.is_file():
            raise BertclfError(f"file not found: {path} (check the path; it is relative to {Path.cwd()})")
        try:
            text = path.read_text(encoding="utf-8-sig")  # a byte-order mark is not text
        except UnicodeDecodeError as error:
            raise BertclfError(f"{path} is not UTF-8 (byte {error.start}): re-save it as UTF-8, e.g. "
                               "iconv -f latin1 -t utf-8 in.txt > out.txt") from None
        texts += [line for line in text.splitlines() if line.strip()]
    return texts


def cmd_build_encoder(args: argparse.Namespace) -> None:
    if args.language == "zh":
        from bertclf.encoders.chinese import chinese_encoder_dir as encoder_dir
    else:
        from bertclf.encoders.multilingual import multilingual_encoder_dir as encoder_dir
    print(encoder_dir())
