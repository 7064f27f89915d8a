"""Reports: what a run did, to see and hear — plots, spectrograms, players, quality numbers, metrics JSON.

A presentation layer over the engine: it may know node types by name (see plan.py); the engine
and the nodes know nothing about it.

For batch and watch modes:
    reported = run_with_report(graph, out_dir / "reports" / name, device=device, seed=seed, hooks=hooks)
    write_index(out_dir, [IndexEntry(input, "done", outputs, str(reported.report.parent)), ...])
"""
from .build import ReportedRun, build_report, report_dir_of, run_with_report
from .folders import ReportError, check_report_dir
from .index import IndexEntry, report_summary, write_index
from .plan import ReportPlan, plan_report

__all__ = ["IndexEntry", "ReportedRun", "ReportError", "ReportPlan", "build_report", "check_report_dir",
           "plan_report", "report_dir_of", "report_summary", "run_with_report", "write_index"]
