"""The README's "fine-tune on your own CSV" example runs as written (≤ 10 lines)."""

import re
from pathlib import Path

import pandas as pd

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_example() -> str:
    text = README.read_text()
    block = re.search(r"<!-- csv-example -->\s*```python\n(.*?)```", text, re.S)
    assert block, "README.md lost its csv-example block"
    return block.group(1)


def test_example_is_at_most_ten_lines():
    lines = [line for line in readme_example().splitlines() if line.strip()]
    assert len(lines) <= 10


def test_example_runs_on_a_real_csv(tmp_path, monkeypatch, tiny_model_dir):
    reviews = [(f"great phone, battery lasts {i} days", "positive") for i in range(50)]
    reviews += [(f"screen broke after {i} days, awful", "negative") for i in range(50)]
    pd.DataFrame(reviews, columns=["review", "sentiment"]).to_csv(tmp_path / "reviews.csv", index=False)
    monkeypatch.chdir(tmp_path)
    # the example trains the profile's model; the tiny model keeps this test fast
    code = readme_example().replace("TrainConfig.from_profile(", f"TrainConfig.from_profile(model={str(tiny_model_dir)!r}, ")
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    predictions = namespace["predictions"]
    assert len(predictions) == 2 and {p["label"] for p in predictions} <= {"positive", "negative"}
    assert (tmp_path / "runs" / "reviews" / "model.safetensors").is_file()
