"""bertclf: fine-tune BERT for text classification — data, model, training, evaluation, plots.

>>> from bertclf import data, train, Classifier
>>> dsd = data.load("tweets")                       # bundled, offline
>>> result = train.fit(dsd, "runs/tweets")           # the profile's settings
>>> Classifier.load("runs/tweets").predict(["what a great day"])
"""

from bertclf.errors import BertclfError
from bertclf.inference import Classifier
from bertclf.profiles import describe, get_profile

__version__ = "0.1.0"
__all__ = ["BertclfError", "Classifier", "describe", "get_profile", "__version__"]
