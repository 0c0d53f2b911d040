"""What the book's chapters share, so that a cell shows the idea rather than the plumbing: the
printed page (:mod:`.page`), showing real source and provenance (:mod:`.show`), tables
(:mod:`.tables`), small timings (:mod:`.timing`), committed benchmark results (:mod:`.measured`)
and experiments run in one call (:mod:`.experiments`)."""

from bertclf.book.experiments import pretrain_from_zero, run_tasks, save_random_copy, tweet_agreement
from bertclf.book.page import PAGE_WIDTH, display_width, fill, show_environment
from bertclf.book.show import REPOSITORY_URL, results_dir, runs_dir, show_provenance, show_source
from bertclf.book.tables import (BENCHMARK_FORMATS, BERT_SIZES, benchmark_table, paired_table, parameter_table,
                                 per_text_table, runs_of, show_benchmark, show_table, show_targets, trials_table,
                                 validation_by_seed)
from bertclf.book.timing import (best_cpu_time, forward_flops, ms_per_text, one_thread, seconds_to_predict,
                                 serialized_mb)
from bertclf.environment import machine_line

__all__ = [
    "BENCHMARK_FORMATS", "BERT_SIZES", "PAGE_WIDTH", "REPOSITORY_URL", "benchmark_table", "best_cpu_time",
    "display_width", "fill", "forward_flops", "machine_line", "ms_per_text", "one_thread", "paired_table", "parameter_table",
    "per_text_table", "pretrain_from_zero", "results_dir", "run_tasks", "runs_dir", "runs_of", "save_random_copy",
    "seconds_to_predict", "serialized_mb", "show_benchmark", "show_environment", "show_provenance",
    "show_source", "show_table", "show_targets", "trials_table", "tweet_agreement", "validation_by_seed",
]
