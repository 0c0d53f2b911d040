"""Use a fine-tuned run: ``Classifier.load(run_dir).predict(texts)``.

Predictions follow the ``transformers`` pipeline convention, one dict per text:
``{"label": str, "score": float, "probs": {label: float}}``. Texts are sorted by length and
batched so that almost no compute goes to padding; the results come back in input order.
Two backends run the same batches: ``torch`` (default) and ``onnx`` (ONNX Runtime, CPU, on the
graph ``bertclf export`` writes; see :mod:`bertclf.serve.onnx`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from bertclf.data.batching import check_max_length, snug_batches
from bertclf.environment import pick_device
from bertclf.errors import BertclfError
from bertclf.evaluate.metrics import softmax
from bertclf.models import cls_forward
from bertclf.models.saved import from_directory
from bertclf.runs.layout import check_run_dir, run_info
from bertclf.serve.onnx import OnnxModel

LONG_TEXT_MODES = ("truncate", "head_tail", "sliding")
BACKENDS = ("torch", "onnx")


def quantize_int8(model: torch.nn.Module) -> torch.nn.Module:
    """int8 dynamic quantization of every Linear layer (CPU): weights stored in int8,
    activations quantized on the fly. Smaller and faster, at a small accuracy cost."""
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():  # torch marks the eager API deprecated in favour of torchao
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def _special_tokens(tokenizer) -> tuple[list[int], list[int]]:
    """The ids a tokenizer puts before and after a text (BERT: [CLS] and [SEP])."""
    plain = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a")["input_ids"]
    for start in range(len(full) - len(plain) + 1):
        if full[start : start + len(plain)] == plain:
            return full[:start], full[start + len(plain) :]
    return [tokenizer.cls_token_id], [tokenizer.sep_token_id]


def _valid_unicode(text: str) -> str:
    """``text`` with lone surrogates (which no tokenizer accepts) replaced by U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text


class Classifier:
    """A fine-tuned text classifier loaded from a run directory.

    ``model`` is a torch model or an :class:`~bertclf.serve.onnx.OnnxModel`; ``info`` the
    run's ``bertclf.json`` (labels, config, profile, versions) when loaded from a run.
    """

    def __init__(
        self, model, tokenizer, max_length: int, device: torch.device,
        *, info: dict | None = None, quantized: bool = False,
    ) -> None:
        self.model = model.eval() if isinstance(model, torch.nn.Module) else model
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.device = device
        self.labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
        self.info = info or {}
        self.quantized = quantized

    @property
    def backend(self) -> str:
        return "onnx" if isinstance(self.model, OnnxModel) else "torch"

    @classmethod
    def load(
        cls, run_dir: str | Path, *, device: str | None = None, quantize: bool = False, backend: str = "torch",
    ) -> Classifier:
        """Load a run directory written by :func:`bertclf.train.fit`.

        ``quantize=True`` applies int8 dynamic quantization (CPU only). ``backend="onnx"`` runs
        the graph written by ``bertclf export`` (``--quantize`` for the int8 one) on ONNX Runtime.
        """
        if backend not in BACKENDS:
            raise BertclfError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        if backend == "onnx" and device not in (None, "cpu"):
            raise BertclfError(f"the onnx backend runs on the CPU, not {device}: use backend='torch' there")
        run_dir = check_run_dir(run_dir)
        info = run_info(run_dir)
        target = torch.device("cpu") if quantize or backend == "onnx" else pick_device(device)
        if backend == "onnx":
            model = OnnxModel.load(run_dir, quantize=quantize)
        else:
            model = from_directory(AutoModelForSequenceClassification, run_dir)
        tokenizer = from_directory(AutoTokenizer, run_dir)
        if model.config.num_labels != len(info["label_names"]):
            raise BertclfError(
                f"{run_dir}: the model has {model.config.num_labels} outputs but the run records "
                f"{len(info['label_names'])} labels; the directory is inconsistent, train it again"
            )
        if backend == "torch":
            model = quantize_int8(model) if quantize else model.to(target)
        return cls(model, tokenizer, info["config"]["max_length"], target, info=info, quantized=quantize)

    def predict(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        max_length: int | None = None,
        long_texts: str = "truncate",
        stride: int | None = None,
        still_wanted: Callable[[], Sequence[bool]] | None = None,
    ) -> list[dict | None]:
        """Classify ``texts``; one ``{"label", "score", "probs"}`` dict per text, in order.

        Texts longer than ``max_length`` tokens are truncated (``long_texts="truncate"``),
        represented by their first and last tokens (``"head_tail"``), or covered by
        overlapping windows whose probabilities are averaged (``"sliding"``).
        ``still_wanted``, if given, is asked before each batch of the model which texts are still
        wanted (one bool per text); the others are skipped and get ``None`` (the service uses it
        to do no more work for requests whose clients have left).
        """
        texts = self._check_texts(texts)
        max_length = max_length or self.max_length
        check_max_length(self.tokenizer, max_length)
        if long_texts not in LONG_TEXT_MODES:
            raise BertclfError(f"long_texts must be one of {', '.join(LONG_TEXT_MODES)}, got {long_texts!r}")
        if not texts:
            return []
        pieces, owner = self._pieces(texts, max_length, long_texts, stride)
        wanted = None if still_wanted is None else (lambda: np.asarray(still_wanted(), dtype=bool)[owner])
        piece_probs, done = self._probs(pieces, batch_size, wanted)
        probs = np.zeros((len(texts), len(self.labels)))
        np.add.at(probs, owner, piece_probs)
        pieces_per_text = np.bincount(owner, minlength=len(texts))
        probs /= pieces_per_text[:, None]
        complete = np.bincount(owner, weights=done, minlength=len(texts)) == pieces_per_text
        return [self._as_dict(row) if ok else None for row, ok in zip(probs, complete)]

    def predict_proba(self, texts: Sequence[str], **kwargs) -> np.ndarray:
        """Class probabilities as an array of shape (texts, classes)."""
        rows = [[p["probs"][label] for label in self.labels] for p in self.predict(texts, **kwargs)]
        return np.array(rows, dtype=np.float64).reshape(len(rows), len(self.labels))

    def _check_texts(self, texts: Sequence[str]) -> list[str]:
        if isinstance(texts, str):
            raise BertclfError("predict takes a list of texts, not a single string: use predict([text])")
        if not isinstance(texts, Iterable):
            raise BertclfError(f"predict takes a list of texts, got {type(texts).__name__}")
        texts = list(texts)
        bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
        if bad:
            raise BertclfError(
                f"{len(bad)} input(s) are not strings (positions {bad[:10]}, e.g. "
                f"{type(texts[bad[0]]).__name__}): convert them with str() or drop them"
            )
        return [_valid_unicode(t) for t in texts]

    def _pieces(self, texts, max_length, mode, stride) -> tuple[list[list[int]], np.ndarray]:
        """Token-id sequences to score, and for each the index of the text it belongs to."""
        prefix, suffix = _special_tokens(self.tokenizer)
        body = max_length - len(prefix) - len(suffix)  # room left after [CLS] and [SEP]
        if mode == "sliding" and stride is not None and not 1 <= stride <= body:
            raise BertclfError(
                f"stride={stride} must be between 1 and {body} tokens (max_length minus the "
                "special tokens), so that the windows move forward and skip no tokens"
            )
        ids = self.tokenizer(texts, add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
        pieces, owner = [], []
        for i, tokens in enumerate(ids):
            if len(tokens) <= body or mode == "truncate":
                windows = [tokens[:body]]
            elif mode == "head_tail":  # the first quarter and the last three quarters
                head = body // 4
                windows = [tokens[:head] + tokens[len(tokens) - (body - head):]]
            else:
                step = stride or body // 2
                windows = [tokens[s : s + body] for s in range(0, max(len(tokens) - body, 0) + step, step)]
            for window in windows:
                pieces.append(prefix + list(window) + suffix)
                owner.append(i)
        return pieces, np.array(owner, dtype=np.int64)

    def _probs(self, pieces: list[list[int]], batch_size: int,
               wanted: Callable[[], np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Softmax probabilities for token-id sequences, in snug batches of similar lengths, and
        which sequences were computed (``wanted()``, asked before each batch, skips the others)."""
        batches = snug_batches([len(p) for p in pieces], batch_size)
        out = np.zeros((len(pieces), len(self.labels)), dtype=np.float64)
        done = np.zeros(len(pieces), dtype=bool)
        pad = self.tokenizer.pad_token_id or 0
        for batch in batches:
            if wanted is not None:
                keep = wanted()
                batch = [i for i in batch if keep[i]]
                if not batch:
                    continue
            width = max(len(pieces[i]) for i in batch)
            input_ids = np.full((len(batch), width), pad, dtype=np.int64)
            mask = np.zeros_like(input_ids)
            for row, i in enumerate(batch):
                input_ids[row, : len(pieces[i])] = pieces[i]
                mask[row, : len(pieces[i])] = 1
            out[batch] = softmax(self._logits(input_ids, mask).astype(np.float64))
            done[batch] = True
        return out, done

    @torch.inference_mode()
    def _logits(self, input_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """One padded batch through the backend: logits as a float array."""
        if self.backend == "onnx":
            return self.model(input_ids, mask)
        input_ids, mask = torch.from_numpy(input_ids).to(self.device), torch.from_numpy(mask).to(self.device)
        if cls_forward.supports(self.model):  # the last layer at [CLS] only: the head reads nothing else
            return cls_forward.logits(self.model, input_ids, mask).float().cpu().numpy()
        return self.model(input_ids=input_ids, attention_mask=mask).logits.float().cpu().numpy()

    def _as_dict(self, probs: np.ndarray) -> dict:
        best = int(probs.argmax())
        return {
            "label": self.labels[best],
            "score": float(probs[best]),
            "probs": {label: float(p) for label, p in zip(self.labels, probs)},
        }
