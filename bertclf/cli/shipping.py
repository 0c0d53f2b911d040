"""``bertclf predict``, ``bertclf export`` and ``bertclf serve``: using a finished run."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bertclf.errors import BertclfError


def _read_texts(args: argparse.Namespace) -> list[str]:
    if args.texts:
        return args.texts
    if args.file:
        if args.file.is_dir():
            raise BertclfError(f"{args.file} is a directory: pass a text file, one text per line")
        if not args.file.is_file():
            raise BertclfError(f"file not found: {args.file} (check the path; it is relative to {Path.cwd()})")
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
    from bertclf.serve.http import check_limits, create_app

    check_limits(max_batch=args.max_batch, max_queue=args.max_queue, max_texts=args.max_texts,  # before the slow load
                 max_chars=args.max_chars, max_wait_ms=args.max_wait_ms, timeout_s=args.timeout)
    if not 0 < args.port < 65536:
        raise BertclfError(f"--port {args.port} is not a TCP port: use 1-65535 (e.g. 8000)")
    if args.threads is not None and args.threads < 1:
        raise BertclfError(f"--threads must be at least 1, got {args.threads}")
    if args.threads:
        torch.set_num_threads(args.threads)
    clf = Classifier.load(args.run_dir, quantize=args.quantize, backend=args.backend)
    app = create_app(clf, max_batch=args.max_batch, max_wait_ms=args.max_wait_ms, max_queue=args.max_queue,
                     max_texts=args.max_texts, max_chars=args.max_chars, timeout_s=args.timeout)
    print(f"serving {args.run_dir} ({clf.backend}{', int8' if clf.quantized else ''}, "
          f"{torch.get_num_threads()} thread(s)) on http://{args.host}:{args.port} (docs: /docs)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
