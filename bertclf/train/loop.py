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

import time
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from accelerate import Accelerator
from datasets import Dataset, DatasetDict
from safetensors.torch import load_file
from torch.utils.data import DataLoader
from transformers import get_linear_schedule_with_warmup

from bertclf.data.batching import LengthBucketBatchSampler, encode, make_loader
from bertclf.data.provenance import fingerprints, source
from bertclf.data.sources import reload
from bertclf.data.splits import as_splits, label_names
from bertclf.environment import mixed_precision, pick_device, set_seed
from bertclf.errors import BertclfError, TrainingDiverged
from bertclf.evaluate.metrics import Evaluation, evaluate_model
from bertclf.models.cls_forward import classifier_logits
from bertclf.models.load import load_classifier, load_tokenizer, max_positions
from bertclf.profiles import BUNDLED_CHINESE_MODEL
from bertclf.progress import progress
from bertclf.runs.atomic import read_json, write_json
from bertclf.runs.card import write_run_card
from bertclf.runs.checkpoints import interruptible, keep_checkpoints, set_rng_state
from bertclf.runs.layout import HISTORY_FILE, INFO_FILE, METRICS_FILE, save_model
from bertclf.runs.lock import locked
from bertclf.train.checkpointing import Checkpoints, TrainState, restore
from bertclf.train.config import CHECKPOINTING, TrainConfig
from bertclf.train.optim import class_weights, fused_adamw, parameter_groups, planned_epochs
from bertclf.train.reuse import refuse_to_replace, reusable, start_run_dir


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
    data_info = data_info or source(dsd)
    dsd = as_splits(dsd, text_column, label_column, seed=config.seed)
    splits = fingerprints(dsd)
    run_dir = Path(out_dir)
    if config.model == BUNDLED_CHINESE_MODEL:
        from bertclf.encoders.chinese import check_unseen

        check_unseen(data_info)
    if reuse and not resume and reusable(run_dir, config, splits, overwrite):
        print(f"[bertclf] reusing the finished run in {run_dir} (same config and data)")
        return load_finished(run_dir, dsd, config, evaluate_test)
    accelerator = Accelerator(
        cpu=pick_device(config.device).type == "cpu",
        mixed_precision=mixed_precision(pick_device(config.device)),
    )
    with locked(run_dir) if accelerator.is_main_process else nullcontext():
        if not (resume or overwrite):
            refuse_to_replace(run_dir)
        return _train(dsd, run_dir, config, accelerator, data_info, splits, resume, evaluate_test)


def _train(dsd, run_dir, config, accelerator, data_info, splits, resume, evaluate_test) -> TrainResult:
    """:func:`fit` once the run directory is locked and free to write."""
    names = label_names(dsd)
    set_seed(config.seed)
    tokenizer = load_tokenizer(config.model)
    model = load_classifier(config.model, names)
    model.get_input_embeddings().weight.requires_grad_(not config.freeze_word_embeddings)
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
        parameter_groups(model, config.weight_decay, config.embedding_learning_rate),
        lr=config.learning_rate, fused=fused_adamw(config.device),
    )
    epochs = planned_epochs(config, len(train_loader), accelerator)
    # counted in unsharded batches: under N processes Accelerate steps the schedule N times per step
    total_steps = epochs * len(train_loader)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total_steps), total_steps)
    weights = class_weights(config, dsd["train"], len(names))
    weights = weights.to(accelerator.device) if weights is not None else None
    state, rng, newest = TrainState(), None, False
    if resume:
        state, rng, newest = restore(run_dir, names, splits, model, optimizer, scheduler, accelerator)
    elif accelerator.is_main_process:
        start_run_dir(run_dir, config, names, data_info, splits, tokenizer, model)
    accelerator.wait_for_everyone()
    checkpoints = Checkpoints(run_dir, config, accelerator, state if resume else None, newest)
    plain_loader = train_loader
    model, optimizer, train_loader, scheduler = accelerator.prepare(model, optimizer, train_loader, scheduler)

    with interruptible(lambda: _interrupted(run_dir, state, checkpoints)):
        for epoch in range(state.epoch, epochs):
            if state.bad_epochs >= config.patience and state.step >= config.min_steps:
                break
            _order_epoch(plain_loader, epoch, config.seed)
            row = train_one_epoch(
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
            keep_best(run_dir, accelerator, model, tokenizer, config, state, validation, epoch)
            state.epoch = epoch + 1
            checkpoints.save(accelerator.unwrap_model(model), optimizer, scheduler, state)
            if accelerator.is_main_process:
                write_json(run_dir / HISTORY_FILE, {"epochs": state.history, "step_losses": state.step_losses})
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
        write_json(run_dir / METRICS_FILE, {
            "best_epoch": result.best_epoch,
            "validation": result.validation,
            "test": result.test_metrics,
            "train_seconds": sum(r["seconds"] for r in state.history),
        })
        write_run_card(run_dir)
        keep_checkpoints(run_dir, 1)  # finished: the older ones are no longer needed
    accelerator.wait_for_everyone()
    return result


def _order_epoch(loader: DataLoader, epoch: int, seed: int) -> None:
    """Make ``epoch``'s batch order depend on the seed and the epoch alone, so that a resumed run
    replays it: the bucketing sampler's epoch, or the seed of plain shuffling's generator."""
    if isinstance(loader.batch_sampler, LengthBucketBatchSampler):
        loader.batch_sampler.epoch = epoch
    else:
        loader.generator.manual_seed(seed * 1_000_003 + epoch)


_TOTALS = ("samples", "real_tokens", "seconds", "cpu_seconds")  # an epoch's, kept across a mid-epoch resume


def train_one_epoch(
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
            set_rng_state(rng)
            rng = None
        labels = batch.pop("labels")
        with accelerator.autocast():
            logits = classifier_logits(model, batch)  # the last layer at [CLS] only
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


def keep_best(run_dir, accelerator, model, tokenizer, config, state, validation,
               epoch) -> None:
    """Save the model if this epoch's validation score is the best so far; count bad epochs."""
    score = validation[config.select_by]
    if score > state.best_score:
        state.best_score, state.best_epoch, state.best_validation = score, epoch + 1, validation
        state.bad_epochs = 0
        if accelerator.is_main_process:
            save_model(run_dir, accelerator.unwrap_model(model), tokenizer)
    else:
        state.bad_epochs += 1


def load_finished(run_dir: Path, dsd: DatasetDict, config: TrainConfig, evaluate_test: bool) -> TrainResult:
    """A :class:`TrainResult` from a finished run directory (test split scored again)."""
    from bertclf.serve.classifier import Classifier

    history = read_json(run_dir / HISTORY_FILE)
    metrics = read_json(run_dir / METRICS_FILE)
    test = None
    if evaluate_test:
        clf = Classifier.load(run_dir, device=config.device)
        test = evaluate_model(clf.model, clf.tokenizer, dsd["test"], max_length=config.max_length,
                              batch_size=config.eval_batch_size, desc="test")
    return TrainResult(run_dir, history["epochs"], history["step_losses"], metrics["best_epoch"],
                       metrics["validation"], test)


def _interrupted(run_dir: Path, state: TrainState, checkpoints: Checkpoints) -> str:
    """What an interrupt kept, and how to continue."""
    kept = f"the checkpoint of {checkpoints.saved}" if checkpoints.saved else "nothing yet (no checkpoint saved)"
    return (f"interrupted at step {state.step}; {run_dir} keeps {kept}. "
            f"Continue with: bertclf train --resume {run_dir}")


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
    info = read_json(Path(run_dir) / INFO_FILE) if (Path(run_dir) / INFO_FILE).is_file() else None
    if info is None:
        raise BertclfError(f"{run_dir} is not a bertclf run directory (no {INFO_FILE}): check the path")
    other = sorted(set(checkpointing) - set(CHECKPOINTING))
    if other:
        raise BertclfError(f"resume changes only {', '.join(CHECKPOINTING)}, not {', '.join(other)}: train a new run")
    config = replace(TrainConfig(**info["config"]), **{k: v for k, v in checkpointing.items() if v is not None})
    dsd = dsd if dsd is not None else reload(info["data"])
    return fit(dsd, run_dir, config, data_info=info["data"], resume=True,
               text_column=text_column, label_column=label_column)
