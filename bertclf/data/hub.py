"""Data sets on the Hugging Face Hub (or in a local mirror of it): the registry of the names
``data.load`` knows, and turning any loaded ``Dataset``/``DatasetDict`` into text/label frames."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from datasets import ClassLabel, Dataset, DatasetDict

from bertclf.errors import BertclfError


@dataclass(frozen=True)
class HubSpec:
    """Where a full-profile data set lives on the Hub and which columns hold text and label."""

    repo: str
    config: str | None
    text_column: str
    label_column: str
    language: str = "en"
    label_names: tuple[str, ...] | None = None  # names of integer labels the Hub stores as plain ints


HUB: dict[str, HubSpec] = {
    "sst2": HubSpec("stanfordnlp/sst2", None, "sentence", "label"),
    "imdb": HubSpec("stanfordnlp/imdb", "plain_text", "text", "label"),
    "ag_news": HubSpec("fancyzhx/ag_news", None, "text", "label"),
    # ChnSentiCorp's parquet files store the label as int64 (0 negative, 1 positive), not a ClassLabel
    "chnsenticorp": HubSpec("lansinuote/ChnSentiCorp", None, "text", "label", language="zh",
                            label_names=("negative", "positive")),
    "intent": HubSpec("clinc/clinc_oos", "plus", "text", "intent"),
    "sms_spam": HubSpec("ucirvine/sms_spam", None, "sms", "label"),
}


def hub_frames(key: str, spec: HubSpec, offline: str) -> dict[str, pd.DataFrame | None]:
    """The splits of a Hub data set (or of its copy in ``BERTCLF_MIRROR``) as ``text``/``label``
    frames with class names as labels, keyed ``train``/``validation``/``test`` (``None``: the
    split exists but has no labels). ``offline``: the names that work offline, for the error."""
    from bertclf.mirror import load_hub_dataset

    try:
        loaded = load_hub_dataset(spec.repo, spec.config)
    except BertclfError:
        raise
    except Exception as error:  # offline, missing, or a Hub-side failure
        raise BertclfError(
            f"data set {key!r} comes from the Hugging Face Hub ({spec.repo}) and could not be "
            f"loaded ({type(error).__name__}: {str(error).splitlines()[0][:160]}). "
            "Offline? Use a local mirror (BERTCLF_MIRROR, see the README), the quick profile's "
            f"bundled data sets ({offline}) or your own file with load_csv"
        ) from None
    return split_frames(key, spec, loaded)


def split_frames(key: str, spec: HubSpec, loaded) -> dict[str, pd.DataFrame | None]:
    """``text``/``label`` frames of a loaded ``DatasetDict``'s train/validation/test splits."""
    if isinstance(loaded, Dataset):
        loaded = DatasetDict({"train": loaded})
    if "train" not in loaded:
        raise BertclfError(f"data set {key!r} has no 'train' split (splits: {', '.join(loaded)})")
    frames: dict[str, pd.DataFrame | None] = {}
    for name in ("train", "validation", "test"):
        if name not in loaded:
            continue
        split = loaded[name]
        missing = [c for c in (spec.text_column, spec.label_column) if c not in split.column_names]
        if missing:
            raise BertclfError(
                f"data set {key!r}, split {name!r}: column(s) {', '.join(map(repr, missing))} not found; "
                f"columns: {', '.join(map(repr, split.column_names))}: name them with text_column=/label_column= "
                "(CLI: --text-column/--label-column)"
            )
        feature = split.features[spec.label_column]
        part = split.select_columns([spec.text_column, spec.label_column]).to_pandas()
        part.columns = ["text", "label"]
        if pd.api.types.is_integer_dtype(part["label"]):
            part = part[part["label"] >= 0]  # -1: no label (SST-2's test split, IMDB's unsupervised)
            names = feature.names if isinstance(feature, ClassLabel) else spec.label_names
            if names is not None:
                outside = sorted(set(part["label"][part["label"] >= len(names)]))
                if outside:
                    raise BertclfError(
                        f"data set {key!r}, split {name!r}: label id(s) {outside[:5]} are beyond its {len(names)} "
                        f"class names {list(names)[:10]}: the labels and the class names disagree; fix the label "
                        "column or the data set's ClassLabel names"
                    )
                part = part.assign(label=[names[i] for i in part["label"]])
        frames[name] = part.reset_index(drop=True) if len(part) else None
    if frames["train"] is None:
        raise BertclfError(f"data set {key!r}: its 'train' split has no labelled rows")
    return frames
