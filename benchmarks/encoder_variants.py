"""Two changes to an encoder itself, tried on validation in ``benchmarks.chinese_transfer``.

- **Mean pooling**: e5 was trained to be read as the mean of its last layer's token vectors, not
  at [CLS]. :class:`MeanPooledClassifier` is ``BertForSequenceClassification`` with that one
  change: the pooler (dense + tanh), dropout and linear layer read the mean over the real
  tokens. A copy of the encoder's directory with its own ``model_type`` loads as this class, so
  ``bertclf.train.fit`` trains it through its usual forward (not the [CLS]-only one).
- **MLM adaptation**: the encoder is first trained with ``bertclf.encoders.pretrain`` on the
  training reviews (never validation or test), then fine-tuned as usual; it keeps its pooler.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    BertConfig,
    BertModel,
    BertPreTrainedModel,
)
from transformers.modeling_outputs import SequenceClassifierOutput

from bertclf import data
from bertclf.encoders.pretrain import PretrainConfig, load_masked_lm, pretrain, save_with_pooler
from bertclf.models.load import load_tokenizer


class MeanPooledConfig(BertConfig):
    model_type = "bertclf-mean-pooled-bert"


class MeanPooledClassifier(BertPreTrainedModel):
    """BERT classifier whose head reads the mean of the last layer over the attention mask."""

    config_class = MeanPooledConfig

    def __init__(self, config: MeanPooledConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config)  # the same parameter names as BertForSequenceClassification
        self.dropout = torch.nn.Dropout(config.classifier_dropout or config.hidden_dropout_prob)
        self.classifier = torch.nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None, **_):
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        pooled = self.bert.pooler.activation(self.bert.pooler.dense(mean))
        logits = self.classifier(self.dropout(pooled))
        loss = None if labels is None else F.cross_entropy(logits, labels)
        return SequenceClassifierOutput(loss=loss, logits=logits)


AutoConfig.register(MeanPooledConfig.model_type, MeanPooledConfig)
AutoModelForSequenceClassification.register(MeanPooledConfig, MeanPooledClassifier)


def mean_pooled(encoder_dir: str | Path, out: Path) -> Path:
    """A copy of ``encoder_dir`` that loads as :class:`MeanPooledClassifier` (weights shared)."""
    if not (out / "config.json").is_file():
        out.mkdir(parents=True, exist_ok=True)
        for path in Path(encoder_dir).iterdir():
            if path.name != "config.json" and path.is_file():
                shutil.copy2(path, out / path.name)
        config = json.loads((Path(encoder_dir) / "config.json").read_text())
        config |= {"model_type": MeanPooledConfig.model_type, "architectures": [MeanPooledClassifier.__name__]}
        (out / "config.json").write_text(json.dumps(config, indent=1))
    return out


def mlm_adapted(encoder_dir: str | Path, out: Path, config: PretrainConfig) -> Path:
    """``encoder_dir`` after MLM on every training review of ``chinese_reviews`` (split seed 0)."""
    if not (out / "model.safetensors").is_file() or (out / "pretrain_checkpoint.pt").is_file():
        reviews = data.load("chinese_reviews", seed=0, train_size=None, eval_size=None)["train"]
        tokenizer = load_tokenizer(str(encoder_dir))
        model = load_masked_lm(encoder_dir, tokenizer)
        result = pretrain(model, tokenizer, reviews, out, config, resume=(out / "pretrain_checkpoint.pt").is_file(),
                          desc="MLM adaptation")
        save_with_pooler(result.model, encoder_dir, out)
    return out
