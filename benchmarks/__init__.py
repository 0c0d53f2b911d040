"""Speed benchmarks: bertclf against Hugging Face's own tools, side by side in one run.

``python -m benchmarks.train``, ``benchmarks.predict`` and ``benchmarks.serve_load`` (see benchmarks/README.md).
These are measurements, not tests: CI only runs them at a smoke size to keep them working.
"""
