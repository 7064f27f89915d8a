"""Reports: what a run did, to see and hear — plots, spectrograms, players, quality numbers, metrics JSON.

A presentation layer over the engine: it may know node types by name (see plan.py); the engine
and the nodes know nothing about it.
"""
from .build import ReportedRun, build_report, report_dir_of, run_with_report
from .folders import ReportError, check_report_dir
from .plan import ReportPlan, plan_report

__all__ = ["ReportedRun", "ReportError", "ReportPlan", "build_report", "check_report_dir", "plan_report",
           "report_dir_of", "run_with_report"]
