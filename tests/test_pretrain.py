"""MLM pretraining: the loss falls, frozen parameters stay frozen, an interrupt keeps the last
checkpoint and resuming ends exactly where an uninterrupted run ends."""

import pytest
import torch

from bertclf import cli
from bertclf.data.corpora import people_daily_lines
from bertclf.encoders import pretrain
from bertclf.errors import BertclfError
from bertclf.models.load import load_tokenizer

CONFIG = dict(steps=12, batch_size=8, block_size=32, learning_rate=2e-3, checkpoint_every=4)


@pytest.fixture(scope="module")
def corpus():
    return people_daily_lines()[:300]


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer()


def tiny_lm(tokenizer):
    return pretrain.new_masked_lm(tokenizer, layers=1, hidden=32, heads=2, max_positions=64)


def test_blocks_are_framed_and_unpadded(corpus, tokenizer):
    blocks = pretrain.pack_blocks(corpus, tokenizer, 32)
    assert blocks.shape[1] == 32 and len(blocks) > 100
    assert (blocks[:, 0] == tokenizer.cls_token_id).all() and (blocks[:, -1] == tokenizer.sep_token_id).all()
    assert not (blocks == tokenizer.pad_token_id).any()


def test_masked_lm_loss_falls_from_random_initialisation(corpus, tokenizer, tmp_path):
    result = pretrain.pretrain(tiny_lm(tokenizer), tokenizer, corpus, tmp_path,
                               pretrain.PretrainConfig(**{**CONFIG, "steps": 30}))
    first, last = sum(result.losses[:5]) / 5, sum(result.losses[-5:]) / 5
    assert first > last + 0.5, (first, last)
    assert abs(first - torch.log(torch.tensor(float(len(tokenizer))))) < 1.0  # starts near ln |V|
    assert (tmp_path / "model.safetensors").is_file() and not (tmp_path / pretrain.CHECKPOINT_FILE).exists()


def test_a_dataset_with_a_text_column_is_accepted(corpus, tokenizer, tmp_path):
    from datasets import Dataset

    texts = Dataset.from_dict({"text": corpus})
    config = pretrain.PretrainConfig(**{**CONFIG, "steps": 2})
    assert len(pretrain.pretrain(tiny_lm(tokenizer), tokenizer, texts, tmp_path, config).losses) == 2
    with pytest.raises(BertclfError, match="no 'text' column"):
        pretrain.pretrain(tiny_lm(tokenizer), tokenizer, texts.rename_column("text", "body"), tmp_path, config)


def test_embeddings_only_leaves_the_body_unchanged(corpus, tokenizer, tmp_path):
    model = tiny_lm(tokenizer)
    body = {k: v.clone() for k, v in model.bert.encoder.state_dict().items()}
    embeddings = model.get_input_embeddings().weight.detach().clone()
    pretrain.pretrain(model, tokenizer, corpus, tmp_path, pretrain.PretrainConfig(**{**CONFIG, "train": "embeddings"}))
    assert all(torch.equal(v, model.bert.encoder.state_dict()[k]) for k, v in body.items())
    assert not torch.equal(embeddings, model.get_input_embeddings().weight)


def test_body_only_keeps_the_word_embeddings_and_trains_the_rest(corpus, tokenizer, tmp_path):
    model = tiny_lm(tokenizer)
    layer = model.bert.encoder.layer[0].output.dense.weight.detach().clone()
    embeddings = model.get_input_embeddings().weight.detach().clone()
    pretrain.pretrain(model, tokenizer, corpus, tmp_path, pretrain.PretrainConfig(**{**CONFIG, "train": "body"}))
    assert torch.equal(embeddings, model.get_input_embeddings().weight)  # and the output layer tied to them
    assert not torch.equal(layer, model.bert.encoder.layer[0].output.dense.weight)


def test_interrupt_keeps_the_checkpoint_and_resume_matches(corpus, tokenizer, tmp_path, monkeypatch):
    config = pretrain.PretrainConfig(**CONFIG)
    reference = pretrain.pretrain(tiny_lm(tokenizer), tokenizer, corpus, tmp_path / "reference", config)

    real_loss, calls = pretrain.masked_lm_loss, {"n": 0}

    def interrupted_at_step_7(*args):
        calls["n"] += 1
        if calls["n"] == 7:
            raise KeyboardInterrupt
        return real_loss(*args)

    monkeypatch.setattr(pretrain, "masked_lm_loss", interrupted_at_step_7)
    with pytest.raises(KeyboardInterrupt):
        pretrain.pretrain(tiny_lm(tokenizer), tokenizer, corpus, tmp_path / "run", config)
    assert torch.load(tmp_path / "run" / pretrain.CHECKPOINT_FILE, weights_only=True)["step"] == 4
    monkeypatch.setattr(pretrain, "masked_lm_loss", real_loss)
    resumed = pretrain.pretrain(tiny_lm(tokenizer), tokenizer, corpus, tmp_path / "run", config, resume=True)
    assert resumed.losses == pytest.approx(reference.losses, abs=1e-5)


def test_bad_settings_are_clear_errors(tokenizer, tmp_path):
    with pytest.raises(BertclfError, match="train must be one of"):
        pretrain.PretrainConfig(train="head")
    with pytest.raises(BertclfError, match="no text to pretrain on"):
        pretrain.pack_blocks(["", "  "], tokenizer, 32)
    with pytest.raises(BertclfError, match="nothing to resume"):
        pretrain.pretrain(tiny_lm(tokenizer), tokenizer, ["一二三四五六七八九十"] * 20, tmp_path,
                          pretrain.PretrainConfig(**CONFIG), resume=True)


def test_command_line_pretrains_from_a_text_file_and_resumes(tmp_path, capsys, corpus):
    text = tmp_path / "corpus.txt"
    text.write_text("\n".join(corpus), encoding="utf-8")
    out = tmp_path / "lm"
    flags = ["--layers", "1", "--hidden", "32", "--heads", "2", "--steps", "6", "--batch-size", "4",
             "--block-size", "32", "--checkpoint-every", "3"]
    assert cli.main(["pretrain", "--text", str(text), "--out", str(out), *flags]) == 0
    assert "6 steps" in capsys.readouterr().out
    assert cli.main(["pretrain", "--out", str(tmp_path / "x"), *flags]) == 2
    assert "--text FILE" in capsys.readouterr().err
