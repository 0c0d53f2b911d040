"""Pretraining with the Masked Language Model objective, written out as a plain loop.

Each step takes a batch of fixed-length blocks of running text, lets
``DataCollatorForLanguageModeling`` choose 15% of the tokens (of those: 80% become
``[MASK]``, 10% a random token, 10% stay as they are; chapter 2 measures the recipe), runs
the encoder, and computes the vocabulary logits **only at the chosen positions**: with a
vocabulary of tens of thousands of tokens, the output layer at every position would cost
more than the whole encoder. Loss: cross-entropy against the original tokens.

It starts from random weights (:func:`new_masked_lm`, a config of layers, hidden size and
heads) or from an existing encoder (:func:`load_masked_lm`), and can train only part of the
model (``train="embeddings"``: the word embeddings and the MLM head, the body frozen, as in
Artetxe et al. 2020; ``train="body"``: everything but the word embeddings, for an encoder
fine-tuned with them frozen). It runs on Accelerate like :func:`bertclf.train.fit`, shows a progress
bar, checkpoints atomically every ``checkpoint_every`` steps and resumes exactly: every
step's randomness (masking, dropout, batch) is a function of the seed and the step number.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from accelerate import Accelerator
from datasets import Dataset
from transformers import (
    BertConfig,
    BertForMaskedLM,
    BertModel,
    DataCollatorForLanguageModeling,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    get_linear_schedule_with_warmup,
)

from bertclf.environment import mixed_precision, pick_device, quiet_transformers, set_seed
from bertclf.errors import BertclfError
from bertclf.models.saved import from_directory
from bertclf.progress import progress
from bertclf.runs.atomic import write_json
from bertclf.runs.checkpoints import interruptible, last_good_checkpoint, restore_training, save_checkpoint
from bertclf.runs.layout import save_model
from bertclf.runs.lock import locked

CHECKPOINT_FILE = "pretrain_checkpoint.pt"
HISTORY_FILE = "pretrain_history.json"
ARGS_FILE = "pretrain_args.json"  # the command line of `bertclf pretrain`, for --resume
TRAINABLE = ("all", "embeddings", "body")


@dataclass
class PretrainConfig:
    """Hyper-parameters of one MLM pretraining run."""

    steps: int = 1000  # optimizer steps (each: batch_size blocks of block_size tokens)
    batch_size: int = 32
    block_size: int = 128  # tokens per block, [CLS] and [SEP] included
    learning_rate: float = 5e-4
    warmup_ratio: float = 0.06
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    mlm_probability: float = 0.15
    train: str = "all"  # "all"; "embeddings": word embeddings + MLM head, the body frozen; "body": all but the word embeddings
    checkpoint_every: int = 100  # steps between checkpoints (bounds the work an interrupt loses)
    seed: int = 0
    device: str | None = None

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "checkpoint_every"):
            if int(getattr(self, name)) < 1:
                raise BertclfError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if self.block_size < 8:
            raise BertclfError(f"block_size must be at least 8 tokens, got {self.block_size}")
        if self.train not in TRAINABLE:
            raise BertclfError(f"train must be one of {TRAINABLE}, got {self.train!r}")
        if not 0 < self.mlm_probability < 1:
            raise BertclfError(f"mlm_probability must be between 0 and 1, got {self.mlm_probability}")


@dataclass
class PretrainResult:
    """The trained model, where it was saved, and the loss of every step."""

    model: PreTrainedModel = field(repr=False)
    out_dir: Path
    losses: list[float]
    seconds: float


def new_masked_lm(tokenizer: PreTrainedTokenizerBase, *, layers: int = 4, hidden: int = 256,
                  heads: int = 4, max_positions: int = 512, seed: int = 0) -> BertForMaskedLM:
    """A randomly initialised BERT with an MLM head, sized for ``tokenizer``'s vocabulary."""
    if hidden % heads:
        raise BertclfError(f"hidden size {hidden} must be divisible by the number of heads {heads}")
    set_seed(seed)
    config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, num_hidden_layers=layers,
        num_attention_heads=heads, intermediate_size=4 * hidden, max_position_embeddings=max_positions,
        pad_token_id=tokenizer.pad_token_id,
    )
    return BertForMaskedLM(config)


def load_masked_lm(model_dir: str | Path, tokenizer: PreTrainedTokenizerBase | None = None) -> BertForMaskedLM:
    """An existing encoder with an MLM head (a new, random one if the checkpoint has none)."""
    with quiet_transformers():  # "newly initialised head" is expected here
        model = (from_directory(BertForMaskedLM, model_dir) if Path(model_dir).is_dir()
                 else BertForMaskedLM.from_pretrained(str(model_dir)))
    if tokenizer is not None and len(tokenizer) != model.get_input_embeddings().num_embeddings:
        model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    return model


def save_with_pooler(model: BertForMaskedLM, base: str | Path, out_dir: str | Path) -> None:
    """Save ``model`` to ``out_dir`` with the pooler of the encoder in ``base``, so that a classifier
    built on it starts from the pooler it would have had on ``base`` (a masked LM has none)."""
    pooler = from_directory(BertModel, base).pooler.state_dict()
    state = {k: v for k, v in model.state_dict().items() if k != "cls.predictions.decoder.weight"}
    state.update({f"bert.pooler.{k}": v for k, v in pooler.items()})
    model.save_pretrained(out_dir, state_dict=state)


def pack_blocks(texts: Iterable[str], tokenizer: PreTrainedTokenizerBase, block_size: int) -> torch.Tensor:
    """Tokenize ``texts``, join them with ``[SEP]`` and cut the stream into blocks of
    ``block_size`` tokens, each framed by ``[CLS]`` … ``[SEP]`` (no padding anywhere)."""
    texts = [t for t in texts if t and t.strip()]
    if not texts:
        raise BertclfError("no text to pretrain on: give at least one non-empty text")
    stream: list[int] = []
    for start in range(0, len(texts), 1000):
        for ids in tokenizer(texts[start : start + 1000], add_special_tokens=False, verbose=False)["input_ids"]:
            stream += ids + [tokenizer.sep_token_id]
    body = block_size - 2
    if len(stream) < body:
        raise BertclfError(f"the text has {len(stream)} tokens, fewer than one block of {block_size}: add text or lower block_size")
    chunks = torch.tensor(stream[: len(stream) // body * body]).view(-1, body)
    cls = torch.full((len(chunks), 1), tokenizer.cls_token_id)
    sep = torch.full((len(chunks), 1), tokenizer.sep_token_id)
    return torch.cat([cls, chunks, sep], dim=1)


def choose_trainable(model: PreTrainedModel, which: str) -> int:
    """Freeze all but the chosen parameters (:data:`TRAINABLE`); returns how many train. The
    output layer is tied to the word embeddings: ``"body"`` keeps both, and trains its bias."""
    embeddings = model.get_input_embeddings().weight
    head = {id(p) for p in _mlm_head(model).parameters()}
    for param in model.parameters():
        if which == "body":
            param.requires_grad = param is not embeddings
        else:
            param.requires_grad = which == "all" or param is embeddings or id(param) in head
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _mlm_head(model: PreTrainedModel) -> torch.nn.Module:
    head = getattr(model, "cls", None)
    if head is None:
        raise BertclfError(f"{type(model).__name__} is not a BERT masked LM: use BertForMaskedLM")
    return head


def masked_lm_loss(model: PreTrainedModel, input_ids: torch.Tensor,
                   labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy at the masked positions only (``labels != -100``)."""
    hidden = model.base_model(input_ids=input_ids).last_hidden_state
    chosen = labels != -100
    logits = _mlm_head(model)(hidden[chosen])
    return F.cross_entropy(logits.float(), labels[chosen])


def pretrain(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: Iterable[str] | Dataset | torch.Tensor,
    out_dir: str | Path,
    config: PretrainConfig | None = None,
    *,
    resume: bool = False,
    overwrite: bool = False,
    desc: str = "MLM",
    command_line: dict | None = None,
) -> PretrainResult:
    """Pretrain ``model`` with MLM on ``texts`` (strings, a ``Dataset`` with a ``text`` column, or
    blocks from :func:`pack_blocks`) and save it to ``out_dir``.

    ``out_dir`` receives a normal ``transformers`` directory (model with its MLM head, tokenizer)
    and ``pretrain_history.json``; with ``resume=True`` training continues from its last checkpoint.
    One process at a time writes into ``out_dir``, and a finished model there is replaced only
    with ``overwrite=True``. ``command_line``: the settings of ``bertclf pretrain``, recorded for
    ``--resume``.
    """
    config = config or PretrainConfig()
    out_dir = Path(out_dir)
    if isinstance(texts, Dataset):
        if "text" not in texts.column_names:
            raise BertclfError(f"the Dataset has no 'text' column (columns: {texts.column_names}): rename the text column")
        texts = list(texts["text"])
    blocks = texts if isinstance(texts, torch.Tensor) else pack_blocks(texts, tokenizer, config.block_size)
    with locked(out_dir, "pretraining"):
        if not resume:
            _refuse_to_replace(out_dir, overwrite)
        if command_line is not None:
            write_json(out_dir / ARGS_FILE, command_line)
        return _pretrain(model, tokenizer, blocks, out_dir, config, resume, desc)


def _refuse_to_replace(out_dir: Path, overwrite: bool) -> None:
    """A finished model or an interrupted run in ``out_dir`` is kept unless ``overwrite``."""
    if (out_dir / CHECKPOINT_FILE).is_file() and not overwrite:
        raise BertclfError(f"{out_dir} holds an interrupted pretraining run: continue it with --resume {out_dir}, "
                           "or pass overwrite=True (CLI: --overwrite) to start it over")
    if (out_dir / HISTORY_FILE).is_file() and not overwrite:
        raise BertclfError(f"{out_dir} already holds a pretrained model: pass overwrite=True (CLI: --overwrite) "
                           "to replace it, or choose another directory (CLI: --out)")
    (out_dir / CHECKPOINT_FILE).unlink(missing_ok=True)


def _pretrain(model, tokenizer, blocks: torch.Tensor, out_dir: Path, config: PretrainConfig, resume: bool,
              desc: str) -> PretrainResult:
    """:func:`pretrain` once ``out_dir`` is locked and free to write, on ``blocks`` of token ids."""
    device = pick_device(config.device)
    accelerator = Accelerator(cpu=device.type == "cpu", mixed_precision=mixed_precision(device))
    choose_trainable(model, config.train)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * config.steps), config.steps)
    step, losses, seconds = 0, [], 0.0
    if resume:
        step, losses, seconds = _restore(out_dir, model, optimizer, scheduler)
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
    model.train()
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=config.mlm_probability)
    bar = progress(total=config.steps, initial=step, desc=desc, disable=not accelerator.is_local_main_process)
    start = time.perf_counter() - seconds
    with interruptible(lambda: _interrupted(out_dir)):
        while step < config.steps:
            set_seed(config.seed * 1_000_003 + step)  # this step's batch, masks and dropout
            batch = collator([{"input_ids": row} for row in blocks[_batch_rows(len(blocks), config, step)]])
            with accelerator.autocast():
                loss = masked_lm_loss(model, batch["input_ids"].to(accelerator.device),
                                      batch["labels"].to(accelerator.device))
            if not torch.isfinite(loss):
                raise BertclfError(f"the MLM loss became {loss.item()} at step {step + 1}: lower the learning rate")
            accelerator.backward(loss)
            accelerator.clip_grad_norm_(params, config.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            losses.append(loss.item())
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
            if step % config.checkpoint_every == 0 and step < config.steps:
                save_checkpoint(out_dir, {
                    "model": accelerator.unwrap_model(model).state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "step": step, "losses": losses,
                    "seconds": time.perf_counter() - start,
                }, None, 1, name=CHECKPOINT_FILE)
    bar.close()
    seconds = time.perf_counter() - start
    model = accelerator.unwrap_model(model)
    for param in model.parameters():
        param.requires_grad = True
    save_model(out_dir, model, tokenizer)
    write_json(out_dir / HISTORY_FILE, {"config": asdict(config), "losses": losses, "seconds": seconds})
    (out_dir / CHECKPOINT_FILE).unlink(missing_ok=True)
    return PretrainResult(model, out_dir, losses, seconds)


def _interrupted(out_dir: Path) -> str:
    """What an interrupt kept, and how to continue."""
    kept = "its last checkpoint" if (out_dir / CHECKPOINT_FILE).is_file() else "nothing yet"
    return f"pretraining interrupted; {out_dir} keeps {kept}. Continue with: bertclf pretrain --resume {out_dir}"


def _batch_rows(n_blocks: int, config: PretrainConfig, step: int) -> torch.Tensor:
    """The block indices of ``step``: a seeded permutation per pass over the blocks."""
    per_pass = max(n_blocks // config.batch_size, 1)
    pass_number, position = divmod(step, per_pass)
    order = torch.randperm(n_blocks, generator=torch.Generator().manual_seed(config.seed * 7919 + pass_number))
    return order[position * config.batch_size : (position + 1) * config.batch_size]


def _restore(out_dir: Path, model, optimizer, scheduler) -> tuple[int, list[float], float]:
    """Load the last checkpoint into model, optimizer and schedule: its step, losses and seconds."""
    saved, _ = last_good_checkpoint(out_dir, name=CHECKPOINT_FILE, command="pretrain",
                                    start_over="delete it and start again without --resume",
                                    required=("model", "optimizer", "scheduler", "step", "losses", "seconds"))
    restore_training(saved, model, optimizer, scheduler)
    return saved["step"], saved["losses"], saved["seconds"]


def perplexity(losses: list[float], last: int = 50) -> float:
    """exp of the mean loss over the ``last`` steps."""
    return math.exp(float(np.mean(losses[-last:])))
