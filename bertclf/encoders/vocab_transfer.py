"""Teach an encoder a new language's vocabulary, initialised from a bilingual dictionary.

An English encoder cannot read Chinese: its vocabulary has almost no Chinese characters, so
most of a Chinese text becomes ``[UNK]``. Vocabulary transfer gives it new tokens and new
rows in its embedding matrix, and starts each new row where the dictionary says the token's
meaning already lives in the model (WECHSEL, Minixhofer et al. 2022):

- new token ``失望`` → dictionary glosses ``disappointed / to lose hope / to despair``
- each gloss → the encoder's own tokens (``disappointed``; ``lose``, ``hope``; …) with
  function words (``to``, ``a``, ``the``, …) dropped
- new row = weighted mean of those token embeddings (first sense weighs most), rescaled to
  the typical length of an embedding row.

Rule for tokens without a usable gloss: a word takes the mean of its characters' rows; a
character with none takes the mean of all original rows plus small seeded noise.

New tokens are added as *added tokens* matched on the raw text, longest first. For Chinese,
which writes no spaces, that is forward maximum matching, a classic dictionary segmentation:
``这个手机很不错`` → ``这个 手机 很 不错``. The result is an ordinary ``transformers`` model
directory that ``AutoTokenizer``/``AutoModel`` and ``pipeline`` load.
"""

from __future__ import annotations

import gzip
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AddedToken, PreTrainedModel, PreTrainedTokenizerBase

from bertclf.errors import BertclfError
from bertclf.progress import progress

# Glosses that say nothing about meaning, and parts of a gloss to cut away.
_SKIP_GLOSS = re.compile(
    r"^(surname|variant of|old variant|see |used in|abbr\. for|CL:|Taiwan pr\.|"
    r"also pr\.|japanese variant|\(old\)|erhua variant|radical in chinese)", re.IGNORECASE,
)
_PARENTHESES = re.compile(r"\([^)]*\)|\[[^\]]*\]|\|[^\s/]*")
STOPWORDS = frozenset(
    "to a an the of be one one's sb sth sb's sth's is are was in on at for and or as by with "
    "etc something somebody".split()
)


def read_cedict(path: str | Path) -> dict[str, list[str]]:
    """CC-CEDICT (``TRAD SIMP [pin1 yin1] /gloss/gloss/`` lines) → simplified headword → glosses.

    Entries for the same headword (different readings) are joined in file order.
    """
    glosses: dict[str, list[str]] = {}
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("#") or "/" not in line:
                continue
            head, _, rest = line.partition("/")
            parts = head.split(" ", 2)
            if len(parts) < 2:
                continue
            glosses.setdefault(parts[1], []).extend(g for g in rest.strip().strip("/").split("/") if g)
    return glosses


def clean_gloss(gloss: str) -> str:
    """A gloss without parentheses, pinyin brackets or classifier notes ('' if it says nothing)."""
    if _SKIP_GLOSS.match(gloss.strip()):
        return ""
    return " ".join(_PARENTHESES.sub(" ", gloss).split())


def gloss_token_ids(glosses: list[str], tokenizer: PreTrainedTokenizerBase, senses: int = 3) -> list[list[int]]:
    """The encoder's token ids of the first ``senses`` usable glosses, function words dropped."""
    found = []
    for gloss in map(clean_gloss, glosses):
        words = [w for w in re.findall(r"[A-Za-z][A-Za-z'-]*", gloss) if w.lower() not in STOPWORDS]
        ids = [i for i in tokenizer(" ".join(words), add_special_tokens=False)["input_ids"] if i != tokenizer.unk_token_id]
        if ids:
            found.append(ids)
        if len(found) == senses:
            break
    return found


@dataclass
class TransferReport:
    """What :func:`extend_vocabulary` did, for the record and the book."""

    added: int
    from_gloss: int
    from_characters: int
    from_mean: int
    random: int = 0

    def __str__(self) -> str:
        if self.random:
            return f"{self.added:,} new tokens, initialised at random"
        return (f"{self.added:,} new tokens: {self.from_gloss:,} initialised from dictionary glosses, "
                f"{self.from_characters:,} from their characters, {self.from_mean:,} from the mean row")


def extend_vocabulary(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    new_tokens: Iterable[str],
    dictionary: dict[str, list[str]],
    *,
    seed: int = 0,
    senses: int = 3,
    init: str = "gloss",
) -> TransferReport:
    """Add ``new_tokens`` to ``tokenizer`` and ``model`` in place, rows initialised from glosses
    (``init="random"``: random rows of the typical length instead, the baseline to beat).

    Tokens the tokenizer already has are skipped. Single characters are initialised before
    words, so that a word without a gloss can fall back on its characters.
    """
    if init not in ("gloss", "random"):
        raise BertclfError(f"init must be 'gloss' or 'random', got {init!r}")
    new = [t for t in dict.fromkeys(new_tokens) if t and tokenizer.convert_tokens_to_ids(t) in (None, tokenizer.unk_token_id)]
    if not new:
        raise BertclfError("no new tokens to add: every token given is already in the vocabulary")
    embeddings = model.get_input_embeddings().weight
    original = embeddings.detach().clone()
    typical_norm = original.norm(dim=1).median()
    tokenizer.add_tokens([AddedToken(t, normalized=False, single_word=False) for t in new])
    model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    generator = torch.Generator().manual_seed(seed)
    rows: dict[str, torch.Tensor] = {}
    counts = Counter()
    for token in progress(sorted(new, key=len), desc="initialise new rows"):  # characters first
        row, how = initial_row(token, dictionary, tokenizer, original, rows, senses) if init == "gloss" else (None, "random")
        if how == "random":
            row = torch.randn(original.shape[1], generator=generator)
        elif row is None:
            row = original.mean(0) + 0.02 * typical_norm * torch.randn(original.shape[1], generator=generator) / original.shape[1] ** 0.5
            how = "mean"
        rows[token] = row * (typical_norm / row.norm().clamp_min(1e-8))
        counts[how] += 1
    weight = model.get_input_embeddings().weight
    with torch.no_grad():
        ids = tokenizer.convert_tokens_to_ids(list(rows))
        weight[ids] = torch.stack(list(rows.values())).to(weight.dtype)
    return TransferReport(len(new), counts["gloss"], counts["characters"], counts["mean"], counts["random"])


def initial_row(
    token, dictionary, tokenizer, original, rows, senses
) -> tuple[torch.Tensor | None, str]:
    """The gloss-based row of ``token``, else the mean of its characters' rows, else None."""
    senses_ids = gloss_token_ids(dictionary.get(token, []), tokenizer, senses)
    if senses_ids:
        weights = torch.tensor([1.0 / (k + 1) for k in range(len(senses_ids))])
        means = torch.stack([original[ids].mean(0) for ids in senses_ids])
        return (weights[:, None] * means).sum(0) / weights.sum(), "gloss"
    known = tokenizer.get_vocab()
    parts = [rows[c] if c in rows else original[known[c]] for c in token
             if c in rows or c in known] if len(token) > 1 else []
    if parts:
        return torch.stack(parts).mean(0), "characters"
    return None, "mean"


def frequent_tokens(
    texts: Iterable[str],
    dictionary: dict[str, list[str]],
    *,
    script: str = r"\u4e00-\u9fff",
    min_char_count: int = 3,
    min_word_count: int = 5,
    max_word_length: int = 4,
) -> tuple[list[str], list[str]]:
    """Characters of ``script`` seen ≥ ``min_char_count`` times, and dictionary words of 2 to
    ``max_word_length`` such characters seen ≥ ``min_word_count`` times, most frequent first."""
    run = re.compile(f"[{script}]+")
    chars, grams = Counter(), Counter()
    for text in texts:
        for piece in run.findall(text):
            chars.update(piece)
            for n in range(2, max_word_length + 1):
                grams.update(piece[i : i + n] for i in range(len(piece) - n + 1))
    keep_chars = [c for c, k in chars.most_common() if k >= min_char_count]
    keep_words = [w for w, k in grams.most_common() if k >= min_word_count and w in dictionary]
    return keep_chars, keep_words


def nearest_tokens(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, token: str,
                   among: int, k: int = 5) -> list[str]:
    """The ``k`` tokens among the first ``among`` ids (e.g. the original vocabulary) whose
    embedding rows are closest (cosine) to ``token``'s row."""
    weight = model.get_input_embeddings().weight.detach()
    row = weight[tokenizer.convert_tokens_to_ids(token)]
    similarity = torch.nn.functional.cosine_similarity(weight[:among], row[None], dim=1)
    return tokenizer.convert_ids_to_tokens(similarity.topk(k).indices.tolist())



def vocabulary_coverage(tokenizer: PreTrainedTokenizerBase, texts: list[str], script: str = r"\u4e00-\u9fff") -> dict[str, float]:
    """How much of ``texts``' characters of ``script`` (default: Chinese) a tokenizer knows,
    and what share of its tokens end up as ``[UNK]``."""
    vocab = tokenizer.get_vocab()
    chars = Counter(c for text in texts for c in re.findall(f"[{script}]", text))
    known = {c for c in chars if c in vocab}
    ids = [i for row in tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"] for i in row]
    return {
        "characters of the script in the vocabulary": sum(1 for t in vocab if len(t) == 1 and re.match(f"[{script}]", t)),
        "distinct characters in the texts": len(chars),
        "share of distinct characters covered": len(known) / max(len(chars), 1),
        "share of character occurrences covered": sum(chars[c] for c in known) / max(sum(chars.values()), 1),
        "share of [UNK] among all tokens": sum(i == tokenizer.unk_token_id for i in ids) / max(len(ids), 1),
        "tokens per text (mean)": len(ids) / max(len(texts), 1),
    }
