"""Fine-tuning: the settings (:mod:`.config`), the explicit loop (:mod:`.loop`), what it
optimizes with (:mod:`.optim`), its checkpoints (:mod:`.checkpointing`) and what it does with the
run directory (:mod:`.reuse`).

>>> from bertclf import data, train
>>> result = train.fit(data.load("tweets"), "runs/tweets", train.TrainConfig.from_profile())
"""

from bertclf.train.config import MIN_STEPS, TrainConfig
from bertclf.train.loop import TrainResult, fit, resume

__all__ = ["MIN_STEPS", "TrainConfig", "TrainResult", "fit", "resume"]
