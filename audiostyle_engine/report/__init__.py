"""Reports: what a run did, to see and hear — plots, spectrograms, players, quality numbers, metrics JSON.

A presentation layer over the engine: it knows no node by name, only what nodes declare in their
spec (``NodeSpec.report``: sources, what they make, branches, files, per-iteration records). The
engine's executor and the nodes know nothing about it; run.run_graph asks for a report.

For batch and watch modes: run_graph(graph, report=out_dir / "reports" / name, ...), then
write_index(out_dir, [IndexEntry(input, "done", outputs, report_folder), ...]).
"""
from .build import ReportedRun, build_report, report_dir_of, run_with_report
from .folders import check_report_dir
from .iterations import iteration_summaries
from .index import IndexEntry, report_summary, write_index
from .plan import ReportPlan, plan_report

__all__ = ["IndexEntry", "ReportedRun", "ReportPlan", "build_report", "check_report_dir", "iteration_summaries",
           "plan_report", "report_dir_of", "report_summary", "run_with_report", "write_index"]
