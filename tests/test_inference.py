"""Classifier.load(run_dir).predict(texts): the pipeline convention, order, long texts, int8."""

import numpy as np
import pytest
from transformers import pipeline

from bertclf import Classifier


@pytest.fixture(scope="module")
def clf(tiny_run_dir):
    return Classifier.load(tiny_run_dir)


TEXTS = ["I love it", "meh", "the worst service I have ever had, never again", "ok", "great great great " * 5]


def test_predict_returns_one_pipeline_style_dict_per_text(clf):
    out = clf.predict(TEXTS)
    assert len(out) == len(TEXTS)
    for p in out:
        assert set(p) == {"label", "score", "probs"}
        assert p["label"] == max(p["probs"], key=p["probs"].get)
        assert p["score"] == pytest.approx(max(p["probs"].values()))
        assert sum(p["probs"].values()) == pytest.approx(1.0)


def test_predictions_match_transformers_pipeline_in_input_order(clf, tiny_run_dir):
    ours = clf.predict(TEXTS, batch_size=2)  # length sorting must not reorder results
    theirs = pipeline("text-classification", model=str(tiny_run_dir), device="cpu", top_k=None)(TEXTS)
    for mine, reference in zip(ours, theirs):
        for item in reference:
            assert mine["probs"][item["label"]] == pytest.approx(item["score"], abs=1e-5)


def test_batch_size_does_not_change_predictions(clf):
    a = clf.predict_proba(TEXTS, batch_size=1)
    b = clf.predict_proba(TEXTS, batch_size=64)
    assert np.allclose(a, b, atol=1e-5)


def test_texts_no_longer_wanted_are_skipped_from_the_next_model_call_on(clf):
    full = clf.predict(TEXTS, batch_size=1)  # one model call per text
    calls = []

    def still_wanted():  # after the second call, the client of text 2 leaves
        calls.append(None)
        return [True, True, len(calls) <= 2, True, True]

    answers = clf.predict(TEXTS, batch_size=1, still_wanted=still_wanted)
    assert len(calls) == len(TEXTS)  # asked before each model call
    assert [a is None for a in answers] == [False, False, True, False, False]  # text 2 comes 4th by length
    for mine, reference in zip(answers, full):
        assert mine is None or mine["probs"] == pytest.approx(reference["probs"], abs=1e-6)
    assert clf.predict(TEXTS, still_wanted=lambda: [False] * len(TEXTS)) == [None] * len(TEXTS)


def test_long_texts_modes(clf):
    long_text = "good " * 300 + "terrible " * 300
    truncated = clf.predict([long_text], max_length=32)[0]
    head_tail = clf.predict([long_text], max_length=32, long_texts="head_tail")[0]
    sliding = clf.predict([long_text], max_length=32, long_texts="sliding")[0]
    assert truncated["probs"] != sliding["probs"] and truncated["probs"] != head_tail["probs"]
    assert sum(sliding["probs"].values()) == pytest.approx(1.0)


def test_int8_quantized_classifier_agrees_with_fp32(tiny_run_dir, clf):
    quantized = Classifier.load(tiny_run_dir, quantize=True)
    fp32 = clf.predict_proba(TEXTS)
    int8 = quantized.predict_proba(TEXTS)
    assert np.abs(fp32 - int8).max() < 0.05


@pytest.mark.parametrize("model_name", ["tiny", "bundled-minilm"])
def test_the_last_layer_at_cls_only_gives_the_full_forwards_logits(model_name, tiny_model_dir):
    """predict computes the last layer at [CLS] only (bertclf.models.cls_forward): same logits, padded
    rows included, as the model's own forward."""
    import torch

    from bertclf.models import cls_forward
    from bertclf.models.load import load_classifier, load_tokenizer

    name = str(tiny_model_dir) if model_name == "tiny" else model_name
    model, tokenizer = load_classifier(name, ["a", "b", "c"]).eval(), load_tokenizer(name)
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    assert (batch["attention_mask"] == 0).any()  # some rows are padded
    with torch.inference_mode():
        full = model(**batch).logits
        at_cls = cls_forward.logits(model, batch["input_ids"], batch["attention_mask"])
    assert cls_forward.supports(model)
    torch.testing.assert_close(at_cls, full, rtol=1e-4, atol=1e-5)


def test_training_through_the_last_layer_at_cls_gives_the_full_forwards_gradients(tiny_model_dir):
    """fit trains through the [CLS]-only last layer: with dropout off, the loss and every parameter's
    gradient are the full forward's; and it counts fewer floating-point operations."""
    import torch
    import torch.nn.functional as F
    from torch.utils.flop_counter import FlopCounterMode

    from bertclf.models import cls_forward
    from bertclf.models.load import load_classifier, load_tokenizer

    model, tokenizer = load_classifier(str(tiny_model_dir), ["a", "b", "c"]).eval(), load_tokenizer(str(tiny_model_dir))
    batch = dict(tokenizer(TEXTS, padding=True, return_tensors="pt"))
    labels = torch.arange(len(TEXTS)) % 3

    def step(forward):
        model.zero_grad()
        with FlopCounterMode(display=False) as flops:
            loss = F.cross_entropy(forward(), labels)
            loss.backward()
        return loss, {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}, flops.get_total_flops()

    full_loss, full_grads, full_flops = step(lambda: model(**batch).logits)
    loss, grads, flops = step(lambda: cls_forward.classifier_logits(model, batch))
    torch.testing.assert_close(loss, full_loss, rtol=1e-5, atol=1e-6)
    assert grads.keys() == full_grads.keys()
    for name, grad in grads.items():
        torch.testing.assert_close(grad, full_grads[name], rtol=1e-4, atol=1e-6, msg=name)
    assert flops < full_flops
    model.train()  # with dropout on, the path runs and its loss is finite
    assert torch.isfinite(F.cross_entropy(cls_forward.classifier_logits(model, batch), labels))
