"""Figures for the book and for your own runs (matplotlib + seaborn). Each returns its Axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from bertclf.evaluate.metrics import Evaluation


def _axes(ax, size=(6, 4)):
    return ax if ax is not None else plt.subplots(figsize=size)[1]


def training_curves(
    history: list[dict], step_losses: list[float] | None = None, axes=None, select_by: str = "accuracy"
):
    """Training loss per step (smoothed) and validation loss/scores per epoch, with the epoch
    whose weights were kept (best ``select_by``, as in training: the first of equal scores)."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 4))
    left, right = axes
    epochs = pd.DataFrame(history)
    if step_losses:
        steps = pd.Series(step_losses)
        per_epoch = len(steps) / len(epochs)
        x = np.arange(1, len(steps) + 1) / per_epoch
        left.plot(x, steps, alpha=0.25, color="tab:blue", label="train loss (step)")
        left.plot(x, steps.rolling(20, min_periods=1).mean(), color="tab:blue", label="train loss (smoothed)")
    left.plot(epochs["epoch"], epochs["val_loss"], "o-", color="tab:orange", label="validation loss")
    left.set(xlabel="epoch", ylabel="cross-entropy", title="Loss")
    left.legend()
    for metric in ("val_accuracy", "val_macro_f1"):
        right.plot(epochs["epoch"], epochs[metric], "o-", label=metric.replace("val_", "validation "))
    best = epochs.loc[epochs[f"val_{select_by}"].idxmax()]
    right.axvline(best["epoch"], color="grey", ls="--", lw=1, label=f"best epoch ({int(best['epoch'])})")
    right.set(xlabel="epoch", ylabel="score", title="Validation", xticks=epochs["epoch"])
    right.legend()
    plt.tight_layout()
    return axes


def confusion_matrix(evaluation: Evaluation, normalize: str | None = "true", ax=None, title: str = ""):
    """Heatmap of the confusion matrix (rows: true class; normalised per row by default)."""
    ax = _axes(ax, (5, 4))
    matrix = evaluation.confusion(normalize=normalize)
    sns.heatmap(matrix, annot=True, fmt=".2f" if normalize else "d", cmap="Blues", cbar=False, ax=ax)
    ax.set_title(title or ("Confusion matrix (row-normalised)" if normalize else "Confusion matrix"))
    return ax


def attention_heatmap(attention: np.ndarray, tokens: list[str], ax=None, title: str = "Attention"):
    """One head's attention weights: row i shows where token i looks."""
    ax = _axes(ax, (7, 6))
    sns.heatmap(attention, xticklabels=tokens, yticklabels=tokens, cmap="viridis", square=True, ax=ax)
    ax.set(xlabel="key (attended to)", ylabel="query", title=title)
    return ax


def length_histogram(lengths: list[int], max_length: int | None = None, ax=None, title: str = "Tokens per text"):
    """Distribution of token counts, with the truncation limit marked."""
    ax = _axes(ax)
    sns.histplot(lengths, bins=40, ax=ax)
    if max_length:
        share = np.mean(np.asarray(lengths) > max_length)
        ax.axvline(max_length, color="red", ls="--", label=f"max_length={max_length} ({share:.1%} truncated)")
        ax.legend()
    ax.set(xlabel="tokens", title=title)
    return ax


def reliability_diagram(evaluation: Evaluation, bins: int = 10, ax=None):
    """Accuracy against confidence per bin; the diagonal is perfect calibration."""
    ax = _axes(ax, (5, 5))
    confidence = evaluation.probs.max(axis=1)
    correct = evaluation.preds == evaluation.labels
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    frame = pd.DataFrame({"bin": which, "confidence": confidence, "correct": correct})
    table = frame.groupby("bin").agg(confidence=("confidence", "mean"), accuracy=("correct", "mean"), n=("correct", "size"))
    ax.plot([0, 1], [0, 1], ls="--", color="grey", label="perfect calibration")
    ax.plot(table["confidence"], table["accuracy"], "o-", label="model")
    ax.set(xlabel="confidence", ylabel="accuracy", xlim=(0, 1), ylim=(0, 1),
           title=f"Reliability (ECE={evaluation.summary()['ece']:.3f})")
    ax.legend()
    return ax


def bar_comparison(scores: dict[str, float], ax=None, title: str = "", xlabel: str = "accuracy"):
    """Horizontal bars comparing named scores (e.g. baseline vs fine-tuned)."""
    ax = _axes(ax, (6, 0.6 * len(scores) + 1))
    names, values = list(scores), list(scores.values())
    sns.barplot(x=values, y=names, ax=ax, orient="h")
    for i, v in enumerate(values):
        ax.text(v, i, f" {v:.3f}", va="center")
    ax.set(xlabel=xlabel, title=title, xlim=(0, max(values) * 1.15))
    return ax


def loss_curve(losses: list[float], ax=None, title: str = "MLM pretraining", window: int = 20):
    """Per-step loss (faint) and its moving average, with ln |V| of a uniform guess if given."""
    ax = _axes(ax, (6, 3.5))
    steps = pd.Series(losses, index=np.arange(1, len(losses) + 1))
    ax.plot(steps, alpha=0.25, color="tab:blue", label="step")
    ax.plot(steps.rolling(window, min_periods=1).mean(), color="tab:blue", label=f"moving average ({window})")
    ax.set(xlabel="optimizer step", ylabel="cross-entropy at masked positions", title=title)
    ax.legend()
    return ax


def pipeline_diagram(stages: list[tuple[str, str, str, bool]], ax=None, title: str = ""):
    """A top-to-bottom flow chart, one rounded box per stage: ``(title, what happens, shape,
    highlighted)``. The shape is written beside the box; highlighted stages (e.g. a step a text
    leaves out) get a dashed orange box."""
    from matplotlib.patches import FancyBboxPatch

    ax = _axes(ax, (10, 1.05 * len(stages)))
    ax.set(xlim=(0, 10), ylim=(0, len(stages)))
    ax.axis("off")
    for k, (name, detail, shape, highlighted) in enumerate(stages):
        y = len(stages) - k - 0.5
        ax.add_patch(FancyBboxPatch(
            (0.2, y - 0.33), 5.6, 0.66, boxstyle="round,pad=0.02,rounding_size=0.12", linewidth=1.6,
            facecolor="#fdebd7" if highlighted else "#dce9f7", edgecolor="#d9822b" if highlighted else "#3a6ea5",
            linestyle="--" if highlighted else "-"))
        ax.text(3.0, y + 0.12, name, ha="center", va="center", fontsize=11, weight="bold")
        ax.text(3.0, y - 0.16, detail, ha="center", va="center", fontsize=8.5)
        ax.text(6.1, y, shape, ha="left", va="center", family="monospace", fontsize=9.5)
        if k:
            ax.annotate("", xy=(3.0, y + 0.34), xytext=(3.0, y + 0.66), arrowprops=dict(arrowstyle="->", lw=1.5))
    ax.set_title(title)
    return ax


def throughput_bars(results: list[dict], machine: str = ""):
    """One panel per benchmark result (``benchmarks/results/*.json``): real tokens per second
    for training results, texts per second for prediction ones, per CPU second where the
    result judged its targets on CPU time. ``bertclf`` rows are blue. Returns the figure."""
    rows = (len(results) + 1) // 2
    fig, axes = plt.subplots(rows, 2, figsize=(12, 3.2 * rows), squeeze=False)
    for ax in axes.flat[len(results):]:
        ax.axis("off")
    for ax, r in zip(axes.flat, results):
        by_cpu = r["settings"].get("targets_judged_by") == "CPU time"
        runs = list(r["runs"].values())
        if r["benchmark"] == "train":
            values = [row["real_tokens"] / row["epoch_cpu_seconds" if by_cpu else "epoch_seconds"] for row in runs]
        else:
            values = [row["texts"] / row["cpu_seconds" if by_cpu else "seconds"] for row in runs]
        labels = [row["label"] for row in runs]
        colors = ["tab:blue" if label.startswith("bertclf") else "tab:gray" for label in labels]
        ax.barh(labels[::-1], values[::-1], color=colors[::-1])
        for y, v in enumerate(values[::-1]):
            ax.text(v, y, f" {v:,.0f}", va="center", fontsize=8)
        per = "CPU second" if by_cpu else "second"
        ax.set_xlabel(f"real tokens per {per} (training)" if r["benchmark"] == "train" else f"texts per {per} (prediction)")
        ax.set_title(f"{r['title']}, {r['settings'].get('threads', '?')} torch thread(s)", fontsize=10)
        ax.margins(x=0.2)
    fig.suptitle(machine, fontsize=9)
    fig.tight_layout()
    return fig
