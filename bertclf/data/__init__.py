"""Labelled text data sets as leakage-free ``datasets.DatasetDict`` objects.

Every loader ends in the same pipeline: check the texts and labels (:mod:`.clean`), drop exact
duplicate texts and texts that carry conflicting labels, then split stratified and seeded into
train/validation/test so that no text appears in two splits (:mod:`.splits`). Named data sets
come from :mod:`.sources` (bundled, Hub, saved directories), your files from :mod:`.files`; each
result records where it came from (:mod:`.provenance`). :mod:`.batching` turns splits into
padded tensor batches, :mod:`.language` tells which language a set of texts is in.
"""

from bertclf.data.clean import check_rows, deduplicate
from bertclf.data.files import load_csv, read_table
from bertclf.data.hub import HUB, HubSpec
from bertclf.data.provenance import cleaning_stats, fingerprint, fingerprints, source, split_note
from bertclf.data.sources import OFFLINE, known_names, load, reload
from bertclf.data.splits import SPLIT_FRACTIONS, as_splits, from_frame, from_splits, label_names, overlap, split

__all__ = [
    "HUB", "OFFLINE", "SPLIT_FRACTIONS", "HubSpec", "as_splits", "check_rows", "cleaning_stats", "deduplicate",
    "fingerprint", "fingerprints", "from_frame", "from_splits", "known_names", "label_names", "load", "load_csv",
    "overlap", "read_table", "reload", "source", "split", "split_note",
]
