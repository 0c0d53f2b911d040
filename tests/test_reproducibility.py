"""Runs reproduce: a run directory records its seed, data, config, profile and versions, and
training again from that record on CPU gives identical metrics and losses."""

import dataclasses

import pytest

from bertclf import data, runs, train
from bertclf.environment import versions
from bertclf.profiles import get_profile


def without_timings(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k != "train_seconds"}


def test_run_directory_records_seed_versions_profile_data_and_config(tiny_run_dir):
    info = runs.run_info(tiny_run_dir)
    assert isinstance(info["seed"], int) and info["seed"] == info["config"]["seed"]
    assert info["profile"] == get_profile().name
    assert info["versions"] == versions()
    assert {"python", "bertclf", "torch", "transformers", "datasets", "accelerate"} <= set(info["versions"])
    assert info["data"]["dataset"] == "tweets" and info["data"]["seed"] == info["seed"]
    assert {"train_size", "eval_size"} <= set(info["data"])
    assert set(info["config"]) == {f.name for f in dataclasses.fields(train.TrainConfig)}
    assert info["label_names"] == ["negative", "neutral", "positive"]


@pytest.fixture(scope="module")
def rerun(tiny_run_dir, tmp_path_factory):
    """The shared tiny run trained again from nothing but what its directory records."""
    info = runs.run_info(tiny_run_dir)
    dsd = data.reload(info["data"])
    result = train.fit(dsd, tmp_path_factory.mktemp("rerun") / "run", train.TrainConfig(**info["config"]))
    return result.run_dir


def test_the_same_seed_gives_identical_metrics_on_cpu(tiny_run_dir, rerun):
    first = runs.read_json(tiny_run_dir / runs.METRICS_FILE)
    again = runs.read_json(rerun / runs.METRICS_FILE)
    assert without_timings(again) == without_timings(first)  # exactly equal, not approximately
    losses = runs.read_json(tiny_run_dir / runs.HISTORY_FILE)["step_losses"]
    assert runs.read_json(rerun / runs.HISTORY_FILE)["step_losses"] == losses
    assert (rerun / "model.safetensors").read_bytes() == (tiny_run_dir / "model.safetensors").read_bytes()


def test_another_seed_gives_another_run(tiny_run_dir, tmp_path):
    info = runs.run_info(tiny_run_dir)
    config = train.TrainConfig(**{**info["config"], "seed": info["seed"] + 1, "epochs": 1})
    result = train.fit(data.reload(info["data"]), tmp_path / "run", config, evaluate_test=False)
    first_epoch = runs.read_json(tiny_run_dir / runs.HISTORY_FILE)["step_losses"][: len(result.step_losses)]
    assert result.step_losses != first_epoch


def test_the_same_seed_gives_the_same_split_and_another_seed_another():
    a, b = data.load("tweets", seed=3, train_size=100, eval_size=30), data.load("tweets", seed=3, train_size=100, eval_size=30)
    c = data.load("tweets", seed=4, train_size=100, eval_size=30)
    for split in ("train", "validation", "test"):
        assert a[split]["text"] == b[split]["text"] and a[split]["label"] == b[split]["label"]
    assert a["train"]["text"] != c["train"]["text"]
