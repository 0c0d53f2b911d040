"""Fine-tuning, written out as the explicit loop the article describes.

For each epoch: for each length-bucketed batch, forward → cross-entropy → backward → clip
gradients → AdamW step → learning-rate schedule step (linear warmup, then linear decay);
after each epoch, evaluate on the validation split, keep the best weights and stop early when
validation stops improving. A checkpoint every few minutes or steps and after each epoch lets an
interrupted run resume exactly where it was. Finally, score the best weights on the test split.

The loop runs through Hugging Face Accelerate, so the same code uses a GPU with mixed
precision when one is present, and ``accelerate launch`` / ``torchrun`` spread it over several
processes, GPUs or machines.
"""

from __future__ import annotations

import math
import random
import textwrap
import time
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from accelerate import Accelerator
from accelerate.utils import broadcast, gather_object
from datasets import Dataset, DatasetDict
from safetensors.torch import load_file
from bertclf.progress import progress
from torch.utils.data import DataLoader
from transformers import get_linear_schedule_with_warmup

from bertclf import data as data_module
from bertclf import runs
from bertclf.batching import LengthBucketBatchSampler, encode, make_loader
from bertclf.errors import BertclfError, TrainingDiverged
from bertclf.evaluate import Evaluation, evaluate_model
from bertclf.model_card import write_run_card
from bertclf.modeling import load_classifier, load_tokenizer, max_positions
from bertclf.profiles import BUNDLED_CHINESE_MODEL, BUNDLED_MODEL, Profile, get_profile, mixed_precision, pick_device, set_seed, versions


# the profiles' floor on optimizer steps: a 300-text CSV gets 104 steps (13 epochs), not 16;
# 2,000 texts or more in batches of 32 already take 126 steps in the profiles' 2 epochs
MIN_STEPS = 100
# how often a run saves, not what it learns: a finished run is reused whatever these were
CHECKPOINTING = ("checkpoint_steps", "checkpoint_minutes", "keep_checkpoints")


@dataclass
class TrainConfig:
    """Hyper-parameters of one fine-tuning run (the article's defaults where it gives one)."""

    model: str = BUNDLED_MODEL  # Hub id, local directory, or the bundled MiniLM
    epochs: int = 3
    learning_rate: float = 2e-5  # the article's "small learning rate"
    embedding_learning_rate: float | None = None  # word embeddings' own rate (None: learning_rate)
    batch_size: int = 32
    eval_batch_size: int = 64
    max_length: int = 128  # tokens per text, [CLS] and [SEP] included
    warmup_ratio: float = 0.1  # share of steps with a linearly rising learning rate
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0  # gradient clipping
    patience: int = 2  # early stopping: epochs without a better validation score
    select_by: str = "accuracy"  # or "macro_f1": the validation metric that picks the best epoch
    min_steps: int = 0  # a floor: small data trains more epochs, and early stopping waits, until this many steps
    class_weights: str | None = None  # "balanced": the loss weighs each class by n / (classes × its count)
    bucket: bool = True  # length-bucketed batches (False: plain dynamic padding)
    checkpoint_steps: int = 500  # a checkpoint every this many optimizer steps …
    checkpoint_minutes: float = 5.0  # … or minutes, whichever comes first: all an interrupt can lose
    keep_checkpoints: int = 2  # the newest checkpoints kept while training (resume falls back on a damaged one)
    seed: int = 0
    device: str | None = None  # None: cuda if present, else cpu

    @classmethod
    def from_profile(cls, profile: Profile | None = None, *, language: str = "en", **overrides) -> TrainConfig:
        """The profile's model and sizes for ``language`` (``"en"``, or ``"zh"``: the profile's
        Chinese encoder and length), with ``overrides`` on top (``None`` values ignored).

        The floor of ``MIN_STEPS`` optimizer steps stretches the profile's epochs on small data;
        an ``epochs`` given here is kept as given (unless ``min_steps`` is given too)."""
        p = profile or get_profile()
        chinese = language == "zh"
        settings = dict(
            model=p.chinese_model if chinese else p.model, epochs=p.epochs, learning_rate=p.learning_rate,
            batch_size=p.batch_size, max_length=p.chinese_max_length if chinese else p.max_length,
            min_steps=MIN_STEPS if overrides.get("epochs") is None else 0,
        )
        settings.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**settings)

    def __str__(self) -> str:
        """The settings wrapped to a printed page (``repr`` keeps the one-line form)."""
        settings = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self))
        return textwrap.fill(settings, 92, initial_indent="TrainConfig(", subsequent_indent="    ",
                             break_long_words=False) + ")"

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "eval_batch_size", "max_length", "patience", "checkpoint_steps",
                     "keep_checkpoints"):
            if int(getattr(self, name)) < 1:
                raise BertclfError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if not self.checkpoint_minutes > 0:
            raise BertclfError(f"checkpoint_minutes must be more than 0, got {self.checkpoint_minutes}")
        if self.min_steps < 0:
            raise BertclfError(f"min_steps must be 0 or more, got {self.min_steps}")
        for name in ("learning_rate", "embedding_learning_rate"):
            rate = getattr(self, name)
            if rate is not None and not 0 < rate < 1:
                raise BertclfError(f"{name} must be between 0 and 1, got {rate}")
        if self.select_by not in ("accuracy", "macro_f1"):
            raise BertclfError(f"select_by must be 'accuracy' or 'macro_f1', got {self.select_by!r}")
        if self.class_weights not in (None, "balanced"):
            raise BertclfError(f"class_weights must be None or 'balanced', got {self.class_weights!r}")


@dataclass
class TrainResult:
    """What :func:`fit` returns: where the run is, its history and its final scores."""

    run_dir: Path
    history: list[dict]  # one row per epoch
    step_losses: list[float]  # training loss of every optimizer step
    best_epoch: int
    validation: dict[str, float]
    test: Evaluation | None = field(default=None, repr=False)

    @property
    def test_metrics(self) -> dict[str, float]:
        return self.test.summary() if self.test else {}


def fit(
    dsd: DatasetDict | Dataset,
    out_dir: str | Path,
    config: TrainConfig | None = None,
    *,
    text_column: str = "text",
    label_column: str = "label",
    data_info: dict | None = None,
    resume: bool = False,
    reuse: bool = False,
    overwrite: bool = False,
    evaluate_test: bool = True,
) -> TrainResult:
    """Fine-tune ``config.model`` on ``dsd`` and write the run directory ``out_dir``.

    ``dsd`` is any ``DatasetDict`` or ``Dataset`` with a text and a label column (string,
    integer or ``ClassLabel`` labels); splits it lacks are carved from train, seeded and
    stratified (:func:`bertclf.data.as_splits`).
    Where ``dsd`` came from (``data.source``, or ``data_info`` if given) and a fingerprint of each
    split's contents are recorded, so that ``bertclf evaluate`` and :func:`resume` reload the
    same splits and refuse other data. With ``resume=True`` training continues from the run's
    last checkpoint and ends with the same metrics as an uninterrupted run. With ``reuse=True``
    a finished run in ``out_dir`` with the same config and data is loaded instead of trained
    again (the book's chapters share runs this way). A directory that holds a trained model is
    replaced only with ``overwrite=True``, and only one run at a time trains into it.
    """
    config = config or TrainConfig.from_profile()
    data_info = data_info or data_module.source(dsd)
    dsd = data_module.as_splits(dsd, text_column, label_column, seed=config.seed)
    splits = data_module.fingerprints(dsd)
    run_dir = Path(out_dir)
    if config.model == BUNDLED_CHINESE_MODEL:
        from bertclf.chinese import check_unseen

        check_unseen(data_info)
    if reuse and not resume and _reusable(run_dir, config, splits, overwrite):
        print(f"[bertclf] reusing the finished run in {run_dir} (same config and data)")
        return _load_finished(run_dir, dsd, config, evaluate_test)
    accelerator = Accelerator(
        cpu=pick_device(config.device).type == "cpu",
        mixed_precision=mixed_precision(pick_device(config.device)),
    )
    with runs.locked(run_dir) if accelerator.is_main_process else nullcontext():
        if not (resume or overwrite):
            _refuse_to_replace(run_dir)
        return _train(dsd, run_dir, config, accelerator, data_info, splits, resume, evaluate_test)


def _train(dsd, run_dir, config, accelerator, data_info, splits, resume, evaluate_test) -> TrainResult:
    """:func:`fit` once the run directory is locked and free to write."""
    names = data_module.label_names(dsd)
    set_seed(config.seed)
    tokenizer = load_tokenizer(config.model)
    model = load_classifier(config.model, names)
    if config.max_length > max_positions(model):
        raise BertclfError(
            f"max_length={config.max_length} exceeds the model's {max_positions(model)} position "
            f"embeddings: use --max-length {max_positions(model)} or less"
        )
    train_loader = make_loader(
        encode(dsd["train"], tokenizer, config.max_length), tokenizer, config.batch_size,
        shuffle=True, bucket=config.bucket, seed=config.seed,
    )
    optimizer = torch.optim.AdamW(
        _parameter_groups(model, config.weight_decay, config.embedding_learning_rate),
        lr=config.learning_rate, fused=_fused_adamw(config.device),
    )
    epochs = _planned_epochs(config, len(train_loader), accelerator)
    # counted in unsharded batches: under N processes Accelerate steps the schedule N times per step
    total_steps = epochs * len(train_loader)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total_steps), total_steps)
    weights = _class_weights(config, dsd["train"], len(names))
    weights = weights.to(accelerator.device) if weights is not None else None
    state, rng, newest = _TrainState(), None, False
    if resume:
        state, rng, newest = _restore(run_dir, names, splits, model, optimizer, scheduler, accelerator)
    elif accelerator.is_main_process:
        _start_run_dir(run_dir, config, names, data_info, splits, tokenizer, model)
    accelerator.wait_for_everyone()
    checkpoints = _Checkpoints(run_dir, config, accelerator, state if resume else None, newest)
    plain_loader = train_loader
    model, optimizer, train_loader, scheduler = accelerator.prepare(model, optimizer, train_loader, scheduler)

    with runs.sigterm_as_interrupt(), _report_interrupt(run_dir, state, checkpoints):
        for epoch in range(state.epoch, epochs):
            if state.bad_epochs >= config.patience and state.step >= config.min_steps:
                break
            _order_epoch(plain_loader, epoch, config.seed)
            row = _train_one_epoch(
                model, train_loader, optimizer, scheduler, accelerator, config, state, epoch, epochs, weights,
                checkpoints, rng,
            )
            rng = None
            validation = evaluate_model(
                model, tokenizer, dsd["validation"], max_length=config.max_length,
                batch_size=config.eval_batch_size, accelerator=accelerator, desc="validation",
            ).summary()
            row.update({f"val_{k}": v for k, v in validation.items()})
            state.history.append(row)
            _keep_best(run_dir, accelerator, model, tokenizer, config, state, validation, epoch)
            state.epoch = epoch + 1
            checkpoints.save(accelerator.unwrap_model(model), optimizer, scheduler, state)
            if accelerator.is_main_process:
                runs.write_json(run_dir / runs.HISTORY_FILE, {"epochs": state.history, "step_losses": state.step_losses})
            accelerator.wait_for_everyone()

    model = accelerator.unwrap_model(model)
    model.load_state_dict(load_file(run_dir / "model.safetensors"))  # the best epoch's weights, every one
    test = None
    if evaluate_test:
        test = evaluate_model(
            model, tokenizer, dsd["test"], max_length=config.max_length,
            batch_size=config.eval_batch_size, accelerator=accelerator, desc="test",
        )
    result = TrainResult(run_dir, state.history, state.step_losses, state.best_epoch, state.best_validation, test)
    if accelerator.is_main_process:
        runs.write_json(run_dir / runs.METRICS_FILE, {
            "best_epoch": result.best_epoch,
            "validation": result.validation,
            "test": result.test_metrics,
            "train_seconds": sum(r["seconds"] for r in state.history),
        })
        write_run_card(run_dir)
        runs.keep_checkpoints(run_dir, 1)  # finished: the older ones are no longer needed
    accelerator.wait_for_everyone()
    return result


def _reusable(run_dir: Path, config: TrainConfig, splits: dict, overwrite: bool) -> bool:
    """Whether ``run_dir`` holds a finished run of this config on this data; a finished run of
    another config or on other data is an error, unless ``overwrite`` (then: train again)."""
    try:
        info = runs.run_info(run_dir)
    except BertclfError:
        return False
    if not (run_dir / runs.METRICS_FILE).is_file():
        return False
    known = {f.name for f in fields(TrainConfig)}
    then = asdict(TrainConfig(**{k: v for k, v in info["config"].items() if k in known}))  # new fields: defaults
    differences = [
        f"{k} {then[k]!r} in the run, {v!r} now" for k, v in asdict(config).items()
        if then[k] != v and k not in CHECKPOINTING
    ]
    if "splits" not in info:
        differences.append("the run records no fingerprint of its data (an older bertclf)")
    differences += runs.data_differences(info.get("splits", {}), splits)
    if not differences:
        return True
    if overwrite:
        return False
    raise BertclfError(
        f"{run_dir} holds a finished run with other settings or data ({'; '.join(differences)}): "
        "pass overwrite=True (CLI: --overwrite) to train it again, or choose another directory"
    )


def _refuse_to_replace(run_dir: Path) -> None:
    """Training afresh deletes a directory's model and checkpoint: refuse where there is one."""
    if runs.checkpoints(run_dir) and not (run_dir / runs.METRICS_FILE).is_file():
        raise BertclfError(
            f"{run_dir} holds an interrupted run: continue it with resume=True (CLI: bertclf train --resume "
            f"{run_dir}), or pass overwrite=True (CLI: --overwrite) to start it over"
        )
    if (run_dir / runs.METRICS_FILE).is_file() or (run_dir / "model.safetensors").is_file():
        raise BertclfError(
            f"{run_dir} already holds a trained model: pass overwrite=True (CLI: --overwrite) to replace it, "
            "or choose another directory (CLI: --out)"
        )


def _planned_epochs(config: TrainConfig, steps_per_epoch: int, accelerator: Accelerator) -> int:
    """``config.epochs``, or more where that many epochs take fewer than ``config.min_steps``
    optimizer steps (small data). Early stopping waits for the floor: on a small validation split a
    few flat epochs say little, and the best epoch's weights are kept whatever comes after it."""
    epochs = max(config.epochs, math.ceil(config.min_steps / steps_per_epoch))
    if epochs > config.epochs:
        accelerator.print(
            f"[bertclf] {steps_per_epoch} steps an epoch: up to {epochs} epochs, not {config.epochs}, for at "
            f"least min_steps={config.min_steps} steps (the best epoch on validation is kept)"
        )
    return epochs


def _class_weights(config: TrainConfig, train: Dataset, classes: int) -> torch.Tensor | None:
    """With ``class_weights="balanced"``: n / (classes × count) per class, scikit-learn's formula."""
    if config.class_weights is None:
        return None
    counts = np.bincount(train["label"], minlength=classes)
    return torch.tensor(len(train) / (classes * np.maximum(counts, 1)), dtype=torch.float)


def _load_finished(run_dir: Path, dsd: DatasetDict, config: TrainConfig, evaluate_test: bool) -> TrainResult:
    """A :class:`TrainResult` from a finished run directory (test split scored again)."""
    from bertclf.inference import Classifier

    history = runs.read_json(run_dir / runs.HISTORY_FILE)
    metrics = runs.read_json(run_dir / runs.METRICS_FILE)
    test = None
    if evaluate_test:
        clf = Classifier.load(run_dir, device=config.device)
        test = evaluate_model(clf.model, clf.tokenizer, dsd["test"], max_length=config.max_length,
                              batch_size=config.eval_batch_size, desc="test")
    return TrainResult(run_dir, history["epochs"], history["step_losses"], metrics["best_epoch"],
                       metrics["validation"], test)


@dataclass
class _TrainState:
    epoch: int = 0  # epochs finished
    step: int = 0  # optimizer steps taken
    history: list[dict] = field(default_factory=list)
    step_losses: list[float] = field(default_factory=list)
    best_score: float = -math.inf
    best_epoch: int = 0
    best_validation: dict = field(default_factory=dict)
    bad_epochs: int = 0
    epoch_step: int = 0  # batches done of the unfinished epoch (a mid-epoch checkpoint)
    epoch_totals: dict = field(default_factory=dict)  # its samples, tokens and seconds so far


def _parameter_groups(model: torch.nn.Module, weight_decay: float, embedding_lr: float | None = None) -> list[dict]:
    """Weight decay on weight matrices only, not on biases and LayerNorm (BERT's recipe); the
    word embeddings in a group of their own when they get their own learning rate."""
    words = model.get_input_embeddings().weight if embedding_lr else None
    decay, no_decay = [], []
    for param in model.parameters():
        if param is not words:
            (no_decay if param.ndim < 2 else decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if words is not None:
        groups.append({"params": [words], "weight_decay": 0.0, "lr": embedding_lr})
    return groups


def _fused_adamw(device: str | None) -> bool | None:
    """Use torch's fused AdamW (one kernel over all parameters) on CPU and CUDA.

    The default for-each-parameter update reads and writes every weight and both moments in
    many separate passes: for MiniLM's 23M parameters on one CPU core, 95 ms per step against
    15 ms fused, about 8% of a whole training step. ``transformers.Trainer`` uses the fused one too.
    """
    return True if pick_device(device).type in ("cpu", "cuda") else None


def _order_epoch(loader: DataLoader, epoch: int, seed: int) -> None:
    """Make ``epoch``'s batch order depend on the seed and the epoch alone, so that a resumed run
    replays it: the bucketing sampler's epoch, or the seed of plain shuffling's generator."""
    if isinstance(loader.batch_sampler, LengthBucketBatchSampler):
        loader.batch_sampler.epoch = epoch
    else:
        loader.generator.manual_seed(seed * 1_000_003 + epoch)


_TOTALS = ("samples", "real_tokens", "seconds", "cpu_seconds")  # an epoch's, kept across a mid-epoch resume


def _train_one_epoch(
    model, loader, optimizer, scheduler, accelerator, config, state, epoch, epochs, weights,
    checkpoints, rng=None
) -> dict:
    """One pass over the training data (``weights``: the loss's class weights, or None),
    checkpointing when due; from a mid-epoch checkpoint, the rest of the pass (``rng``: the
    checkpoint's random state). Returns the epoch's loss and throughput."""
    model.train()
    done, totals = state.epoch_step, dict(state.epoch_totals) or dict.fromkeys(_TOTALS, 0)
    batches = accelerator.skip_first_batches(loader, done) if done else loader
    bar = progress(batches, initial=done, total=len(loader), desc=f"epoch {epoch + 1}/{epochs}",
                   disable=not accelerator.is_local_main_process)
    start, cpu_start = time.perf_counter(), time.process_time()
    for batch in bar:
        # only now: starting the loader drew from it before the checkpoint too
        if rng is not None:
            _set_rng_state(rng)
            rng = None
        labels = batch.pop("labels")
        with accelerator.autocast():
            logits = model(**batch).logits
            loss = F.cross_entropy(logits.float(), labels, weight=weights)
        if not torch.isfinite(loss):
            raise TrainingDiverged(
                f"the loss became {loss.item()} at epoch {epoch + 1}, step {state.step + 1}; "
                f"last good checkpoint: {checkpoints.last}. Lower the learning rate (--lr) "
                f"or check the data"
            )
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(model.parameters(), config.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        state.step += 1
        state.epoch_step += 1
        state.step_losses.append(loss.item())
        totals["samples"] += len(labels) * accelerator.num_processes
        totals["real_tokens"] += int(batch["attention_mask"].sum()) * accelerator.num_processes
        bar.set_postfix(loss=f"{np.mean(state.step_losses[-50:]):.3f}",
                        lr=f"{scheduler.get_last_lr()[0]:.1e}")
        # the epoch's end saves anyway
        if checkpoints.due(state.step) and state.epoch_step < len(loader):
            totals = _with_time(totals, start, cpu_start)
            state.epoch_totals = dict(totals)
            checkpoints.save(accelerator.unwrap_model(model), optimizer, scheduler, state)
            # saving is not training time
            start, cpu_start = time.perf_counter(), time.process_time()
    totals = _with_time(totals, start, cpu_start)
    losses = state.step_losses[len(state.step_losses) - state.epoch_step:]
    state.epoch_step, state.epoch_totals = 0, {}
    return {
        "epoch": epoch + 1,
        "train_loss": float(np.mean(losses)),
        "seconds": totals["seconds"],
        "cpu_seconds": totals["cpu_seconds"],  # this process's CPU time (all its threads)
        "samples_per_second": totals["samples"] / totals["seconds"],
        "real_tokens_per_second": totals["real_tokens"] / totals["seconds"],
    }


def _with_time(totals: dict, start: float, cpu_start: float) -> dict:
    """``totals`` plus the wall and CPU seconds since ``start`` and ``cpu_start``."""
    return {**totals, "seconds": totals["seconds"] + time.perf_counter() - start,
            "cpu_seconds": totals["cpu_seconds"] + time.process_time() - cpu_start}


def _keep_best(run_dir, accelerator, model, tokenizer, config, state, validation,
               epoch) -> None:
    """Save the model if this epoch's validation score is the best so far; count bad epochs."""
    score = validation[config.select_by]
    if score > state.best_score:
        state.best_score, state.best_epoch, state.best_validation = score, epoch + 1, validation
        state.bad_epochs = 0
        if accelerator.is_main_process:
            runs.save_model(run_dir, accelerator.unwrap_model(model), tokenizer)
    else:
        state.bad_epochs += 1


def _start_run_dir(run_dir: Path, config: TrainConfig, names: list[str], data_info, splits, tokenizer, model) -> None:
    """Create the run directory and record everything needed to reproduce the run."""
    run_dir.mkdir(parents=True, exist_ok=True)
    runs.keep_checkpoints(run_dir, 0)
    for stale in (runs.METRICS_FILE, runs.HISTORY_FILE, "model.safetensors"):
        (run_dir / stale).unlink(missing_ok=True)
    runs.write_json(run_dir / runs.INFO_FILE, {
        "label_names": names,
        "config": asdict(config),
        "data": data_info or {},
        "splits": splits,  # rows and sha256 of each split's texts and labels
        "seed": config.seed,
        "profile": get_profile().name,
        "versions": versions(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    })
    tokenizer.save_pretrained(run_dir)
    model.config.save_pretrained(run_dir)


class _Checkpoints:
    """When to checkpoint (``config.checkpoint_steps`` steps or ``config.checkpoint_minutes`` after
    the last one), and which is the last good one. One file per checkpoint rather than
    ``accelerator.save_state``'s directory: it is replaced atomically and kept by renaming."""

    def __init__(self, run_dir: Path, config: TrainConfig, accelerator, restored: _TrainState | None, newest: bool):
        self.run_dir, self.config, self.accelerator = run_dir, config, accelerator
        self.step, self.time = (restored.step if restored else 0), time.monotonic()
        self.previous = self.step if newest else None  # the step of checkpoint.pt, if it is intact
        self.saved = _position(restored) if restored else None

    @property
    def last(self) -> str:
        """The last good checkpoint, for messages."""
        return f"{self.run_dir / runs.CHECKPOINT_FILE} ({self.saved})" if self.saved else "none yet"

    def due(self, step: int) -> bool:
        """Whether to checkpoint after ``step``; under several processes the main one's clock decides for all."""
        if step - self.step >= self.config.checkpoint_steps:
            return True
        late = time.monotonic() - self.time >= 60 * self.config.checkpoint_minutes
        if self.accelerator.num_processes == 1:
            return late
        return bool(broadcast(torch.tensor([int(late)], device=self.accelerator.device)).item())

    def save(self, model, optimizer, scheduler, state: _TrainState) -> None:
        """Everything needed to continue from here, in one atomic file (called by every process)."""
        rngs = gather_object([_rng_state()])  # every process's: each draws its own dropout masks
        if self.accelerator.is_main_process:
            runs.save_checkpoint(self.run_dir, {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "state": asdict(state),
                "rng": rngs[0],
                "rngs": rngs,
            }, self.previous, self.config.keep_checkpoints)
        self.step = self.previous = state.step
        self.time, self.saved = time.monotonic(), _position(state)


def _position(state: _TrainState) -> str:
    """Where a checkpoint of ``state`` is: "epoch 1", or "step 70, epoch 2 batch 20"."""
    if not state.epoch_step:
        return f"epoch {state.epoch}"
    return f"step {state.step}, epoch {state.epoch + 1} batch {state.epoch_step}"


def _rng_state() -> dict:
    """Every random generator training draws from, CUDA's too when it is in use."""
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    """Restore :func:`_rng_state`; CUDA's only on as many GPUs as it was saved from."""
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available() and torch.cuda.device_count() == len(state["cuda"]):
        torch.cuda.set_rng_state_all(state["cuda"])


def _restore(
    run_dir: Path, names, splits, model, optimizer, scheduler, accelerator
) -> tuple[_TrainState, dict | None, bool]:
    """Load the last good checkpoint of ``run_dir`` into model, optimizer, scheduler and RNGs, after
    checking that the data are the run's (``splits``: their fingerprints). Returns the training
    state, the RNG state still to set (a mid-epoch checkpoint: once the epoch's loader has started)
    and whether the checkpoint is the newest one, ``checkpoint.pt``."""
    info = runs.read_json(run_dir / runs.INFO_FILE)
    if info["label_names"] != names:
        raise BertclfError(
            f"the run was trained on labels {info['label_names']}, the data has {names}: resume with the same data"
        )
    differences = runs.data_differences(info.get("splits", {}), splits)
    if differences:
        raise BertclfError(f"the data differ from the run's ({'; '.join(differences)}): resume with the same data")
    saved, path = _last_good_checkpoint(run_dir, accelerator)
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    known = {f.name for f in fields(_TrainState)}
    state = _TrainState(**{k: v for k, v in saved["state"].items() if k in known})
    rngs = saved.get("rngs", [])  # this process's, when as many processes saved it (older runs: the main one's)
    rng = rngs[accelerator.process_index] if len(rngs) == accelerator.num_processes else saved["rng"]
    if not state.epoch_step:
        _set_rng_state(rng)
        rng = None
    return state, rng, path.name == runs.CHECKPOINT_FILE


def _last_good_checkpoint(run_dir: Path, accelerator) -> tuple[dict, Path]:
    """The newest checkpoint that loads, and its path; damaged newer ones are named and passed over
    (an older checkpoint of the same run replays the same steps)."""
    found = runs.checkpoints(run_dir)
    if not found:
        raise BertclfError(
            f"nothing to resume in {run_dir}: no {runs.CHECKPOINT_FILE} (a run saves one every few minutes "
            "and after each epoch); train without --resume"
        )
    damaged = []
    for path in found:
        try:
            saved = runs.load_checkpoint(path)
        except BertclfError as error:
            damaged.append(str(error))
            continue
        if damaged:
            accelerator.print(f"[bertclf] {'; '.join(damaged)}: resuming from {path}, the last good checkpoint")
        return saved, path
    raise BertclfError(
        f"{'; '.join(damaged)}, and no intact checkpoint is left: start over with overwrite=True (CLI: --overwrite)"
    )


@contextmanager
def _report_interrupt(run_dir: Path, state: _TrainState, checkpoints: _Checkpoints):
    """On Ctrl-C/SIGTERM, say what was kept and how to continue, then re-raise."""
    try:
        yield
    except KeyboardInterrupt:
        kept = f"the checkpoint of {checkpoints.saved}" if checkpoints.saved else "nothing yet (no checkpoint saved)"
        print(f"\n[bertclf] interrupted at step {state.step}; {run_dir} keeps {kept}. "
              f"Continue with: bertclf train --resume {run_dir}")
        raise


def resume(
    run_dir: str | Path,
    dsd: DatasetDict | Dataset | None = None,
    *,
    text_column: str = "text",
    label_column: str = "label",
    **checkpointing,
) -> TrainResult:
    """Continue an interrupted run from its last checkpoint, with the data it recorded
    (or ``dsd``, with :func:`fit`'s ``text_column``/``label_column``: a run trained on an
    in-memory ``DatasetDict`` records no source). ``checkpointing``: new ``checkpoint_steps``,
    ``checkpoint_minutes`` or ``keep_checkpoints`` (``None``: the run's); the rest is the run's."""
    info = runs.read_json(Path(run_dir) / runs.INFO_FILE) if (Path(run_dir) / runs.INFO_FILE).is_file() else None
    if info is None:
        raise BertclfError(f"{run_dir} is not a bertclf run directory (no {runs.INFO_FILE}): check the path")
    other = sorted(set(checkpointing) - set(CHECKPOINTING))
    if other:
        raise BertclfError(f"resume changes only {', '.join(CHECKPOINTING)}, not {', '.join(other)}: train a new run")
    config = replace(TrainConfig(**info["config"]), **{k: v for k, v in checkpointing.items() if v is not None})
    dsd = dsd if dsd is not None else data_module.reload(info["data"])
    return fit(dsd, run_dir, config, data_info=info["data"], resume=True,
               text_column=text_column, label_column=label_column)
