"""Per-iteration records that nodes declare (``NodeSpec.report.iterations``), summed up for the CLI's
run summary and the report: first and last loss, iterations, evaluations, last correlation."""
from __future__ import annotations


def declared_histories(graph, records: dict) -> dict:
    """node id -> (IterationRecord, the recorded dict) for every node that declared one and recorded it."""
    out = {}
    for node_id, rec in records.items():
        declared = graph.spec_of(node_id).report.iterations if node_id in graph.classes else None
        history = rec.get(declared.key) if declared else None
        if history and history.get(declared.iteration):
            out[node_id] = (declared, history)
    return out


def summary_of(declared, history: dict) -> dict:
    """iterations, evaluations, loss_first/loss_last (the first declared loss series: the total) and the
    last value of the correlation series, under that series' name."""
    out = {"iterations": history[declared.iteration][-1],
           "evaluations": history.get(declared.evaluations) if declared.evaluations else None}
    if declared.losses:
        total = history.get(declared.losses[0][0]) or [None]
        out.update(loss_first=total[0], loss_last=total[-1])
    if declared.correlation:
        series = history.get(declared.correlation[0]) or [None]
        out[declared.correlation[0]] = series[-1]
    return out


def iteration_summaries(graph, records: dict) -> dict:
    return {node_id: summary_of(declared, history) for node_id, (declared, history) in declared_histories(graph, records).items()}
