"""Metrics on held-out data: accuracy, macro-F1, per-class report, confusion matrix,
top-loss examples, most-confused pairs and calibration."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from accelerate import Accelerator
from datasets import Dataset
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, f1_score

from bertclf.data.batching import encode, make_loader
from bertclf.errors import BertclfError
from bertclf.models.cls_forward import classifier_logits
from bertclf.progress import progress


@torch.inference_mode()
def predict_logits(
    model: torch.nn.Module,
    loader: torch.utils.data.DataLoader,
    accelerator: Accelerator | None = None,
    desc: str = "evaluate",
) -> tuple[np.ndarray, np.ndarray]:
    """Logits and labels for every example of ``loader``, in the loader's order.

    Under Accelerate each process scores its shard and ``gather_for_metrics`` collects them,
    dropping the padding examples added to even out the last batch: each example counts once.
    """
    model.eval()
    device = accelerator.device if accelerator else next(model.parameters()).device
    show = accelerator is None or accelerator.is_local_main_process
    all_logits, all_labels = [], []
    for batch in progress(loader, desc=desc, leave=False, disable=not show):
        batch = {k: v.to(device) for k, v in batch.items()}
        labels = batch.pop("labels")
        logits = classifier_logits(getattr(model, "module", model), batch).float()
        if accelerator:
            logits, labels = accelerator.gather_for_metrics((logits, labels))
        all_logits.append(logits.cpu())
        all_labels.append(labels.cpu())
    return torch.cat(all_logits).numpy(), torch.cat(all_labels).numpy()


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, computed stably."""
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


@dataclass
class Evaluation:
    """Everything measured on one labelled split."""

    label_names: list[str]
    labels: np.ndarray  # true class ids
    probs: np.ndarray  # (n, classes) softmax probabilities
    texts: list[str] | None = None

    @property
    def preds(self) -> np.ndarray:
        return self.probs.argmax(axis=1)

    @property
    def losses(self) -> np.ndarray:
        """Per-example cross-entropy, −log p(true class)."""
        return -np.log(np.clip(self.probs[np.arange(len(self.labels)), self.labels], 1e-12, None))

    @property
    def accuracy(self) -> float:
        return float(accuracy_score(self.labels, self.preds))

    @property
    def macro_f1(self) -> float:
        return float(f1_score(self.labels, self.preds, average="macro"))

    @property
    def loss(self) -> float:
        return float(self.losses.mean())

    def summary(self) -> dict[str, float]:
        """Accuracy, macro-F1, mean loss and expected calibration error."""
        return {
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "loss": self.loss,
            "ece": expected_calibration_error(self.probs, self.labels),
        }

    def report(self) -> pd.DataFrame:
        """Per-class precision, recall, F1 and support (scikit-learn's report as a table)."""
        ids = list(range(len(self.label_names)))
        table = classification_report(
            self.labels, self.preds, labels=ids, target_names=self.label_names,
            output_dict=True, zero_division=0,
        )
        return pd.DataFrame(table).T

    def confusion(self, normalize: str | None = None) -> pd.DataFrame:
        """Confusion matrix: rows are true classes, columns predicted ones."""
        ids = list(range(len(self.label_names)))
        matrix = confusion_matrix(self.labels, self.preds, labels=ids, normalize=normalize)
        return pd.DataFrame(
            matrix,
            index=pd.Index(self.label_names, name="true"),
            columns=pd.Index(self.label_names, name="predicted"),
        )

    def top_losses(self, k: int = 10) -> pd.DataFrame:
        """The ``k`` examples the model got most confidently wrong (highest loss)."""
        order = np.argsort(-self.losses)[:k]
        names = np.array(self.label_names)
        return pd.DataFrame(
            {
                "text": [self.texts[i] for i in order] if self.texts else order,
                "true": names[self.labels[order]],
                "predicted": names[self.preds[order]],
                "p(predicted)": self.probs[order].max(axis=1).round(3),
                "loss": self.losses[order].round(3),
            }
        )

    def most_confused(self, k: int = 5) -> pd.DataFrame:
        """The ``k`` most frequent (true, predicted) mistakes."""
        matrix = self.confusion()
        pairs = [
            (t, p, int(matrix.loc[t, p]))
            for t in matrix.index
            for p in matrix.columns
            if t != p and matrix.loc[t, p] > 0
        ]
        pairs.sort(key=lambda row: -row[2])
        return pd.DataFrame(pairs[:k], columns=["true", "predicted", "count"])


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """ECE: the gap between confidence and accuracy, averaged over confidence bins."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        in_bin = (confidence > lo) & (confidence <= hi)
        if in_bin.any():
            ece += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(ece)


def check_labels(model: torch.nn.Module, names: list[str]) -> None:
    """Refuse data whose classes are not the ones the model's head was trained to predict."""
    config = getattr(getattr(model, "module", model), "config", None)
    if config is None:
        return
    predicts = [str(config.id2label[i]) for i in range(config.num_labels)]
    generic = predicts == [f"LABEL_{i}" for i in range(config.num_labels)]
    if len(predicts) != len(names) or (not generic and predicts != list(names)):
        raise BertclfError(
            f"the model predicts {len(predicts)} labels {predicts} but the data has {len(names)} "
            f"labels {list(names)}: evaluate it on data with the labels it was trained on"
        )


def evaluate_model(
    model: torch.nn.Module,
    tokenizer,
    split: Dataset,
    *,
    max_length: int,
    batch_size: int = 64,
    accelerator: Accelerator | None = None,
    desc: str = "evaluate",
) -> Evaluation:
    """Score ``model`` on a labelled split (``text``/``label`` columns)."""
    check_labels(model, split.features["label"].names)
    encoded = encode(split, tokenizer, max_length)
    loader = make_loader(encoded, tokenizer, batch_size, shuffle=False)
    order = np.concatenate(loader.batch_sampler.batches(0))  # dataset row of each output
    if accelerator:
        loader = accelerator.prepare_data_loader(loader)
    logits, labels = predict_logits(model, loader, accelerator, desc=desc)
    unsorted = np.empty_like(logits)
    unsorted[order] = logits  # undo the length sort so rows line up with the split
    assert (labels[np.argsort(order)] == np.asarray(split["label"])).all()
    return Evaluation(split.features["label"].names, np.asarray(split["label"]), softmax(unsorted), split["text"])
