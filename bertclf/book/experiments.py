"""Experiments the chapters run through one call, so that a cell shows the idea rather than the
plumbing: fine-tuning on several tasks, the tweets' annotator agreement, a small BERT pretrained
from zero, a model with its pretraining taken away."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bertclf.book.show import runs_dir
from bertclf.data.sources import read_tweets_csv
from bertclf.encoders.chinese import ChineseRecipe, chinese_encoder_dir, pretraining_texts
from bertclf.encoders.pretrain import PretrainConfig, new_masked_lm, pretrain
from bertclf.environment import set_seed
from bertclf.models.load import load_pretrained, load_tokenizer
from bertclf.models.names import resolve


def run_tasks(tasks: dict[str, str], watch: dict[str, str]) -> pd.DataFrame:
    """Fine-tune the profile's model on each data set of ``tasks`` (``data.load`` name →
    application), reusing finished runs in :func:`runs_dir`, fit the bag-of-words baseline on
    the same training texts, display each task's most confused pairs, and return one row per
    task: sizes, both scores, the recall of the class to ``watch`` and the ECE."""
    from IPython.display import display

    from bertclf import data, train
    from bertclf.evaluate import baseline

    rows = []
    for name, task in tasks.items():
        dsd = data.load(name)
        result = train.fit(dsd, runs_dir(name), train.TrainConfig.from_profile(), reuse=True)
        bar = baseline.fit_baseline(dsd)
        report, watched = result.test.report(), watch.get(name)
        rows.append({
            "application": task, "classes": len(data.label_names(dsd)),
            "train": len(dsd["train"]), "test": len(dsd["test"]),
            "baseline accuracy": bar["accuracy"], "baseline macro-F1": bar["macro_f1"],
            "fine-tuned accuracy": result.test.accuracy, "fine-tuned macro-F1": result.test.macro_f1,
            "class to watch": watched or "",
            "its recall": report.loc[watched, "recall"] if watched in report.index else np.nan,
            "ECE": result.test_metrics["ece"],
        })
        print(f"{name}: most confused pairs")
        display(result.test.most_confused(3))
    return pd.DataFrame(rows).set_index("application")


def tweet_agreement() -> pd.Series:
    """Each bundled tweet's annotator agreement (text → the share of crowd annotators who chose
    its label, averaged over duplicate rows): a column of the raw file that ``data.load`` drops."""
    raw = read_tweets_csv()
    return raw.assign(text=raw["text"].str.strip()).groupby("text")["confidence"].mean()


def pretrain_from_zero(out_dir: str | Path, *, steps: int, layers: int = 4, hidden: int = 256, heads: int = 4,
                       learning_rate: float = 5e-4, recipe: ChineseRecipe | None = None):
    """A small BERT pretrained with MLM from random weights on the encoder's text, with its
    tokenizer: the "from zero" alternative to vocabulary transfer."""
    recipe = recipe or ChineseRecipe()
    tokenizer = load_tokenizer(str(chinese_encoder_dir(recipe)))
    model = new_masked_lm(tokenizer, layers=layers, hidden=hidden, heads=heads, seed=recipe.seed)
    config = PretrainConfig(steps=steps, batch_size=recipe.mlm_batch_size, block_size=recipe.mlm_block_size,
                            learning_rate=learning_rate, seed=recipe.seed, checkpoint_every=max(steps // 4, 1))
    return pretrain(model, tokenizer, pretraining_texts(recipe), out_dir, config, desc="MLM from zero")


def save_random_copy(name: str, out_dir: str | Path, seed: int = 0) -> Path:
    """``name``'s architecture and tokenizer with randomly initialised weights, saved to
    ``out_dir``: the same model without its pretraining, to measure what pretraining buys."""
    from transformers import AutoConfig, AutoModel

    set_seed(seed)
    out_dir = Path(out_dir)
    AutoModel.from_config(load_pretrained(AutoConfig, name)).save_pretrained(out_dir)
    load_tokenizer(name).save_pretrained(out_dir)
    return out_dir
