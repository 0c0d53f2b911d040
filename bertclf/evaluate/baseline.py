"""The bar BERT has to clear: TF-IDF features + logistic regression (a bag-of-words model)."""

from __future__ import annotations

import numpy as np
from datasets import DatasetDict
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import Pipeline, make_pipeline


def tfidf_logreg(analyzer: str = "word") -> Pipeline:
    """Word 1–2-grams (``analyzer="word"``) or character 1–3-grams (``"char"``, for Chinese)."""
    ngrams = (1, 2) if analyzer == "word" else (1, 3)
    vectorizer = TfidfVectorizer(analyzer=analyzer, ngram_range=ngrams, sublinear_tf=True,
                                 min_df=1)
    return make_pipeline(vectorizer, LogisticRegression(max_iter=2000, C=4.0))


def baseline_predictions(dsd: DatasetDict, analyzer: str = "word", split: str = "test") -> np.ndarray:
    """Fit on ``train``; the predicted class ids of ``split`` (for paired comparisons)."""
    model = tfidf_logreg(analyzer).fit(dsd["train"]["text"], dsd["train"]["label"])
    return model.predict(dsd[split]["text"])


def fit_baseline(dsd: DatasetDict, analyzer: str = "word",
                 split: str = "test") -> dict[str, float]:
    """Fit on ``train``, score on ``split``: accuracy and macro-F1."""
    predicted = baseline_predictions(dsd, analyzer, split)
    truth = dsd[split]["label"]
    return {"accuracy": accuracy_score(truth, predicted),
            "macro_f1": f1_score(truth, predicted, average="macro")}
