"""A run directory is never lost or mixed up: a trained model is replaced only when asked, one
run at a time trains into a directory, and every run records a fingerprint of its data that
reuse, resume and evaluate check."""

import os
import shutil
import socket
import subprocess
import sys

import pytest
import torch

from bertclf import BertclfError, cli, data, environment, runs, train
from bertclf.runs.checkpoints import rng_state, set_rng_state


@pytest.fixture
def run_copy(tiny_run_dir, tmp_path):
    """A private copy of the shared tiny run (finished, with its last checkpoint)."""
    return shutil.copytree(tiny_run_dir, tmp_path / "run")


@pytest.fixture(scope="module")
def tweets():
    """The data the shared tiny run was trained on."""
    return data.load("tweets", train_size=200, eval_size=60)


def tiny_config(tiny_run_dir) -> train.TrainConfig:
    return train.TrainConfig(**runs.run_info(tiny_run_dir)["config"])


# --- never destroy a trained model ----------------------------------------------------------


def test_training_into_a_finished_run_is_refused_and_leaves_it_intact(run_copy, tweets, tiny_run_dir, capsys, cli_error):
    model = (run_copy / "model.safetensors").read_bytes()
    with pytest.raises(BertclfError, match="already holds a trained model: pass overwrite=True"):
        train.fit(tweets, run_copy, tiny_config(tiny_run_dir))
    line = cli_error("train", "--dataset", "tweets", "--train-size", "200", "--eval-size", "60",
                     "--model", tiny_run_dir, "--out", run_copy, "--no-baseline")
    assert "--overwrite" in line and "--out" in line
    assert (run_copy / "model.safetensors").read_bytes() == model
    assert (run_copy / runs.METRICS_FILE).is_file() and not runs.is_locked(run_copy)


def test_training_into_an_interrupted_run_names_resume(run_copy, tweets, tiny_run_dir):
    (run_copy / runs.METRICS_FILE).unlink()  # a checkpoint, no final metrics: interrupted
    with pytest.raises(BertclfError, match=f"interrupted run: continue it .*--resume {run_copy}.*--overwrite"):
        train.fit(tweets, run_copy, tiny_config(tiny_run_dir))


def test_overwrite_replaces_a_finished_run(run_copy, tiny_model_dir):
    dsd = data.load("tweets", train_size=64, eval_size=30)
    config = train.TrainConfig(model=str(tiny_model_dir), epochs=1, learning_rate=1e-3, max_length=32)
    result = train.fit(dsd, run_copy, config, overwrite=True)
    assert len(result.history) == 1 and runs.run_info(run_copy)["splits"]["train"]["rows"] == 64


# --- one run at a time ----------------------------------------------------------------------


HOLD_LOCK = """
import sys, time
from bertclf import runs
with runs.locked(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(120)
"""


def hold_lock(run_dir) -> subprocess.Popen:
    """Another process that holds ``run_dir``'s lock until killed."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(run_dir)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_a_directory_locked_by_a_live_process_is_refused(tmp_path, tweets, tiny_run_dir, capsys, cli_error):
    run_dir = tmp_path / "run"
    holder = hold_lock(run_dir)
    try:
        with pytest.raises(BertclfError, match=f"another run is writing into {run_dir} .*PID {holder.pid}"):
            train.fit(tweets, run_dir, tiny_config(tiny_run_dir))
        line = cli_error("train", "--dataset", "tweets", "--train-size", "200", "--model", tiny_run_dir,
                         "--out", run_dir, "--no-baseline")
        assert "another run is writing" in line and "--out" in line
        assert runs.is_locked(run_dir), "someone else's lock is left alone"
    finally:
        holder.kill()
        holder.wait()
    assert not (run_dir / runs.INFO_FILE).exists()


def test_the_lock_of_a_killed_run_is_free_at_once(tmp_path):
    holder = hold_lock(tmp_path)
    holder.kill()  # kill -9: no clean-up runs, the kernel drops the lock with the process
    holder.wait()
    assert not runs.is_locked(tmp_path)
    with runs.locked(tmp_path):
        assert (tmp_path / runs.LOCK_FILE).read_text() == f"{socket.gethostname()} {os.getpid()}"
        with pytest.raises(BertclfError, match="another run is writing"):
            with runs.locked(tmp_path):
                pass
    assert not runs.is_locked(tmp_path)


def test_taking_over_a_dead_runs_lock_removes_its_half_written_files(tmp_path):
    holder = hold_lock(tmp_path)
    holder.kill()
    holder.wait()
    (tmp_path / ".checkpoint.pt.x1y2.tmp").write_bytes(b"half a checkpoint")  # kill -9 while saving
    (tmp_path / ".model.a1b2").mkdir()
    (tmp_path / ".model.a1b2" / "model.safetensors").write_bytes(b"half a model")
    (tmp_path / runs.CHECKPOINT_FILE).write_bytes(b"kept")
    with runs.locked(tmp_path):
        assert sorted(p.name for p in tmp_path.iterdir()) == [runs.LOCK_FILE, runs.CHECKPOINT_FILE]


def test_the_lock_is_released_when_training_fails(tmp_path, tweets, tiny_model_dir):
    config = train.TrainConfig(model=str(tiny_model_dir), max_length=512)  # over the model's 128 positions
    with pytest.raises(BertclfError, match="max_length=512"):
        train.fit(tweets, tmp_path / "run", config)
    assert not runs.is_locked(tmp_path / "run")


# --- the data's fingerprint -----------------------------------------------------------------


def test_each_run_records_rows_and_a_fingerprint_of_each_split(tiny_run_dir, tweets):
    splits = runs.run_info(tiny_run_dir)["splits"]
    assert splits == data.fingerprints(tweets)
    assert {k: v["rows"] for k, v in splits.items()} == {"train": 200, "validation": 60, "test": 60}


def test_reuse_on_a_subset_of_the_data_is_refused_not_silently_reused(run_copy, tweets, tiny_run_dir):
    config = tiny_config(tiny_run_dir)
    assert train.fit(tweets, run_copy, config, reuse=True, evaluate_test=False).best_epoch >= 1  # same data
    subset = data.load("tweets", train_size=200, eval_size=60)
    subset["train"] = subset["train"].select(range(100))  # copies info.description, provenance included
    assert data.source(subset) == {}, "the recorded source no longer describes the data"
    with pytest.raises(BertclfError, match="train has 100 rows .*the run's had 200 .*overwrite=True"):
        train.fit(subset, run_copy, config, reuse=True)
    relabelled = subset.map(lambda row: {"label": 0})
    relabelled["train"] = tweets["train"]
    with pytest.raises(BertclfError, match="validation has 60 rows .*the run's had 60"):
        train.fit(relabelled, run_copy, config, reuse=True)


def test_reuse_with_another_config_names_the_difference(run_copy, tweets, tiny_run_dir):
    config = train.TrainConfig(**{**runs.run_info(tiny_run_dir)["config"], "learning_rate": 2e-3})
    with pytest.raises(BertclfError, match="learning_rate 0.001 in the run, 0.002 now.*overwrite=True"):
        train.fit(tweets, run_copy, config, reuse=True)


def test_resume_on_other_data_is_refused(run_copy, tiny_run_dir):
    other = data.load("tweets", train_size=200, eval_size=60, seed=1)  # same labels, other texts
    with pytest.raises(BertclfError, match="the data differ from the run's .*resume with the same data"):
        train.fit(other, run_copy, tiny_config(tiny_run_dir), resume=True)


def test_evaluate_refuses_data_rebuilt_differently_from_the_record(run_copy, capsys, cli_error):
    info = runs.read_json(run_copy / runs.INFO_FILE)
    info["splits"]["test"]["sha256"] = "0" * 64  # as if the source had changed since training
    runs.write_json(run_copy / runs.INFO_FILE, info)
    line = cli_error("evaluate", run_copy)
    assert "not the run's (test has 60 rows" in line and "--dataset/--csv" in line
    assert cli.main(["evaluate", str(run_copy), "--dataset", "tweets", "--train-size", "200",
                     "--eval-size", "60"]) == 0, "data passed explicitly are evaluated as they are"


# --- checkpoints across devices -------------------------------------------------------------


def test_checkpoints_load_onto_the_cpu_whatever_device_saved_them(run_copy, tweets, tiny_run_dir, monkeypatch):
    seen, real_load = [], torch.load

    def load(*args, **kwargs):
        seen.append(kwargs.get("map_location"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", load)
    result = train.fit(tweets, run_copy, tiny_config(tiny_run_dir), resume=True)  # finished: nothing left to train
    assert seen == ["cpu"] and result.history == runs.read_json(tiny_run_dir / runs.HISTORY_FILE)["epochs"]


def test_the_cuda_generators_are_checkpointed_when_cuda_is_in_use(monkeypatch):
    states = [torch.tensor([1], dtype=torch.uint8), torch.tensor([2], dtype=torch.uint8)]
    restored = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: states)
    monkeypatch.setattr(torch.cuda, "set_rng_state_all", restored.append)
    saved = rng_state()
    assert saved["cuda"] is states
    set_rng_state(saved)
    assert restored == [states]
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)  # resumed on a machine with one GPU
    set_rng_state(saved)
    assert restored == [states], "another GPU count cannot take the saved states"


def test_bf16_only_where_the_gpu_has_it_natively(monkeypatch):
    # a T4: bf16 "supported" through emulation only
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: including_emulation)
    assert environment.mixed_precision(torch.device("cuda")) == "fp16"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)  # an A100
    assert environment.mixed_precision(torch.device("cuda")) == "bf16"
    assert environment.mixed_precision(torch.device("cpu")) == "no"


# --- nothing is unpickled that bertclf did not write ------------------------------------------


class Payload:
    """What a hostile checkpoint holds: unpickling it would create a file (or run anything else)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_checkpoint_that_would_run_code_is_refused_and_runs_nothing(run_copy, tweets, tiny_run_dir, tmp_path, capsys, cli_error):
    marker = tmp_path / "the payload ran"
    saved = torch.load(run_copy / runs.CHECKPOINT_FILE, weights_only=True)
    torch.save({**saved, "extra": Payload(marker)}, run_copy / runs.CHECKPOINT_FILE)
    with pytest.raises(BertclfError, match="not written by this bertclf.*can run code"):
        runs.load_checkpoint(run_copy / runs.CHECKPOINT_FILE)
    line = cli_error("train", "--resume", run_copy)
    assert "can run code" in line and not marker.exists()


def test_a_checkpoint_holds_only_tensors_and_plain_values(run_copy):
    saved = torch.load(run_copy / runs.CHECKPOINT_FILE, weights_only=True)  # raises on anything else
    assert {"model", "optimizer", "scheduler", "state", "rng"} <= saved.keys()
    set_rng_state(saved["rng"])


def test_atomic_writes_reach_the_disk_before_and_after_the_rename(tmp_path, monkeypatch):
    """'Never half-written' holds after a power cut too: the new file is flushed before it replaces
    the old one, and the directory entry after."""
    import os

    from bertclf.runs import atomic

    flushed, real_fsync = [], os.fsync

    def fsync(handle):
        flushed.append(os.readlink(f"/proc/self/fd/{handle}"))
        real_fsync(handle)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    runs.write_json(tmp_path / "metrics.json", {"accuracy": 1.0})
    assert flushed[0].startswith(str(tmp_path / ".metrics.json.")) and flushed[1] == str(tmp_path)


def test_a_run_directory_has_the_permissions_of_plain_files(tiny_run_dir):
    """People share run directories: every file the run wrote (the weights, written through a private
    temporary file, too) has the mode ``open`` gives under the umask, not the owner-only 0600."""
    import os

    umask = os.umask(0)
    os.umask(umask)
    modes = {p.name: p.stat().st_mode & 0o777 for p in tiny_run_dir.iterdir() if p.is_file()}
    assert "model.safetensors" in modes
    assert modes == dict.fromkeys(modes, 0o666 & ~umask)
