"""The committed benchmark results the book quotes (``benchmarks/results/*.json``), with where
they came from: ``measured("predict")`` is one result, ``provenance(result)`` its machine, date
and command (``bertclf.book.benchmark_table`` gives its rows). The book's prose never types a measured number:
it reads them from these files, and a missing or outdated file says which command writes it."""

from __future__ import annotations

import json

from bertclf.book.show import results_dir

COMMANDS = {  # what writes each result (CPU, the bundled MiniLM), and roughly how long it takes on 2 cores
    "train": ("python -m benchmarks.train --threads 1", "15 minutes"),
    "predict": ("python -m benchmarks.predict --threads 1", "10 minutes"),
    "serve_load": ("python -m benchmarks.serve_load", "10 minutes"),
}


def measured(benchmark: str, needs: tuple[str, ...] = ()) -> dict:
    """The full-size CPU result of ``benchmark`` (``train``, ``predict``, ``serve_load``) whose
    runs include ``needs``; ``FileNotFoundError`` naming the command that writes it otherwise."""
    command, minutes = COMMANDS[benchmark]
    folder = results_dir()
    found = []
    for path in sorted(folder.glob("*.json")) if folder else []:
        result = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(result, dict) and result.get("benchmark") == benchmark and result.get("size") == "full" \
                and result["settings"].get("device") == "cpu":
            found.append(result)
    for result in found:
        if set(needs) <= set(result["runs"]):
            return result
    why = (f"{found[0]['name']}.json lacks the rows {', '.join(sorted(set(needs) - set(found[0]['runs'])))}"
           if found else f"no {benchmark} result in {folder or 'benchmarks/results (not found)'}")
    raise FileNotFoundError(f"{why}: run `{command}` from the repository root on an otherwise idle machine "
                            f"(about {minutes} on 2 cores), commit benchmarks/results/, and run this cell again")


def provenance(result: dict) -> str:
    """Where a result came from: machine, date, command."""
    m = result["machine"]
    load = m.get("load_average_1min_at_start")
    return (f"{result['name']}: measured {result['created'][:10]} on {m['cpu']} ({m['logical_cores']} logical cores, "
            f"{result['settings'].get('threads', m['torch_threads'])} model thread(s), {m['memory_gb']} GB RAM"
            + (f", load average {load} at start" if load is not None else "")
            + f"), torch {m['versions']['torch']}, transformers {m['versions']['transformers']}; "
            f"command: {result['command']}")

