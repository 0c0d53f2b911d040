"""Model cards of the encoders ``bertclf`` builds, in the Hub's format
(``huggingface_hub.ModelCard``): YAML metadata, then the text."""

from __future__ import annotations

from huggingface_hub import ModelCard, ModelCardData


def encoder_card(body: str, **metadata) -> str:
    """A card whose metadata (``language``, ``license``, ``tags`` …) follows the Hub's schema."""
    data = ModelCardData(library_name="transformers", **metadata)
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n\n{body}"))
