"""bertclf: fine-tune BERT for text classification — data, models, training, evaluation, shipping.

>>> from bertclf import data, train, Classifier
>>> dsd = data.load("tweets")                       # bundled, offline
>>> result = train.fit(dsd, "runs/tweets")           # the profile's settings
>>> Classifier.load("runs/tweets").predict(["what a great day"])

The package follows the pipeline, one folder a stage: ``data`` → ``encoders`` (pretraining,
offline encoders) → ``models`` → ``train`` → ``runs`` (the run directory) → ``evaluate`` →
``serve``; ``book`` holds what the chapters share. Importing ``bertclf`` loads nothing heavy:
each name below is imported on first use.
"""

from importlib import import_module

__version__ = "0.1.0"

_NAMES = {  # name → the module that defines it
    "BertclfError": "bertclf.errors",
    "Classifier": "bertclf.serve.classifier",
    "describe": "bertclf.profiles",
    "get_profile": "bertclf.profiles",
}
_STAGES = ("book", "cli", "data", "encoders", "environment", "evaluate", "models", "profiles", "runs",
           "serve", "train")

__all__ = ["BertclfError", "Classifier", "describe", "get_profile", "__version__", *_STAGES]


def __getattr__(name: str):
    if name in _NAMES:
        return getattr(import_module(_NAMES[name]), name)
    if name in _STAGES:
        return import_module(f"bertclf.{name}")
    raise AttributeError(f"module 'bertclf' has no attribute {name!r}")
