"""A forward pass that computes only what the classifier reads: the last layer at [CLS] alone.

A BERT classifier's head reads one vector, the last layer's output at [CLS] (through the pooler).
Every other position of the last layer is computed and thrown away. That layer's [CLS] output
still needs the keys and values of every token (attention looks at all of them), but its query,
attention output, feed-forward block and layer norms are needed at position 0 only. Skipping
the rest saves 10 of the 12 ``hidden²`` weight products per token of one layer: about 14% of a
6-layer MiniLM's forward FLOPs, 7% of BERT-base's 12 layers. The logits are the same as the
full forward's, up to float rounding (``tests/test_inference.py`` checks it).

Training reads the same single vector (the loss is computed from the logits alone), so the same
shortcut gives the same gradients for a seventh less arithmetic; only the dropout masks of the
skipped positions, which would have multiplied values nobody reads, are not drawn.
:func:`logits` is what ``Classifier.predict``, the ONNX export, evaluation and the training loop
run for BERT classifiers (:func:`classifier_logits` chooses); other architectures take their
usual forward.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from transformers import BertForSequenceClassification
from transformers.masking_utils import create_bidirectional_mask


def classifier_logits(model: torch.nn.Module, batch: dict) -> torch.Tensor:
    """The logits of a batch (``input_ids``, ``attention_mask`` …): through :func:`logits` where
    ``model`` supports it, else through the model's own forward. A model wrapped for several
    processes (``DistributedDataParallel``) keeps its own forward, which synchronises gradients."""
    if supports(model) and not batch.get("token_type_ids", torch.zeros(1)).any():
        return logits(model, batch["input_ids"], batch["attention_mask"])
    return model(**batch).logits


def supports(model: torch.nn.Module) -> bool:
    """Whether ``model`` is a BERT encoder classifier whose head reads [CLS] only."""
    return isinstance(model, BertForSequenceClassification) and not model.config.is_decoder


def logits(model: BertForSequenceClassification, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The classifier's logits, shape (batch, labels), with the last layer computed at [CLS] only."""
    bert = model.bert
    hidden = bert.embeddings(input_ids=input_ids)
    mask = create_bidirectional_mask(config=bert.config, inputs_embeds=hidden, attention_mask=attention_mask)
    *body, last = bert.encoder.layer
    for layer in body:
        hidden = layer(hidden, mask)
    cls = _last_layer_at_cls(last, hidden, mask)
    return model.classifier(model.dropout(bert.pooler(cls)))


def _last_layer_at_cls(layer: torch.nn.Module, hidden: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """A ``BertLayer`` evaluated at position 0 only: shape (batch, 1, hidden)."""
    attention = layer.attention.self
    batch, length, _ = hidden.shape

    def heads(x: torch.Tensor) -> torch.Tensor:  # (batch, positions, hidden) -> (batch, heads, positions, head size)
        return x.view(batch, x.shape[1], -1, attention.attention_head_size).transpose(1, 2)

    cls = hidden[:, :1]
    query, key, value = heads(attention.query(cls)), heads(attention.key(hidden)), heads(attention.value(hidden))
    row = None if mask is None else mask[:, :, :1, :]  # [CLS]'s row of the (batch, 1, length, length) mask
    dropout = attention.dropout.p if attention.training else 0.0  # BERT's dropout on the attention weights
    context = F.scaled_dot_product_attention(query, key, value, attn_mask=row, dropout_p=dropout,
                                             scale=attention.scaling)
    context = context.transpose(1, 2).reshape(batch, 1, -1)
    return layer.feed_forward_chunk(layer.attention.output(context, cls))
