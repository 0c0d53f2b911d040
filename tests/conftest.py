"""Shared fixtures: a tiny random BERT (fast to train on 2 CPU cores) and offline settings."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

# Tiny models run fastest on one thread; on a busy 2-core machine two threads can be
# hundreds of times slower (they spin waiting for each other). BERTCLF_TEST_THREADS overrides.
torch.set_num_threads(int(os.environ.get("BERTCLF_TEST_THREADS", "1")))


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A tiny randomly initialised BERT classifier with the bundled tokenizer, saved to disk.

    Pass ``TrainConfig(model=str(tiny_model_dir), ...)`` to train in a second or two.
    """
    from transformers import BertConfig, BertForSequenceClassification

    from bertclf.models.load import load_tokenizer

    path = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = load_tokenizer()
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128,
    )
    BertForSequenceClassification(config).save_pretrained(path)
    tokenizer.model_max_length = config.max_position_embeddings
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_run_dir(tiny_model_dir, tmp_path_factory):
    """A finished run of the tiny model on 200 real tweets (2 epochs), shared by the tests."""
    from bertclf import data, train

    dsd = data.load("tweets", train_size=200, eval_size=60)
    config = train.TrainConfig(model=str(tiny_model_dir), epochs=2, learning_rate=1e-3, max_length=48)
    result = train.fit(dsd, tmp_path_factory.mktemp("runs") / "tiny", config)
    return result.run_dir


@pytest.fixture
def cli_error(capsys):
    """Run the CLI in-process; assert exit status 2, one ``bertclf: error:`` line and no traceback;
    return that line."""
    from bertclf import cli

    def run(*argv) -> str:
        capsys.readouterr()
        code = cli.main([str(a) for a in argv])
        err = capsys.readouterr().err
        assert code == 2, err
        assert "Traceback" not in err
        lines = [line for line in err.splitlines() if line.startswith("bertclf: error:")]
        assert len(lines) == 1, err
        return lines[0]

    return run
