"""Progress: live rich bars only on a terminal, JSON lines with --log-json, and the CLI's report flags."""
from __future__ import annotations

import io
import json

from tests.helpers.terminal import drawn_text, fake_terminal
from tests.helpers.tiny_runs import FX_GRAPH, make_inputs

from audiostyle_engine.executor import ProgressEvent
from audiostyle_engine.progress import JsonProgress, TerminalProgress
from cli import main


def step(done, total=100, elapsed=10.0, **values):
    return ProgressEvent("st", "style_transfer", 5, 9, done, total, f"loss {values.get('loss', 0):.4g}",
                         False, elapsed, values)


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_terminal_progress_is_silent_off_a_terminal(monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich alone would take this for a terminal; a pipe is still a pipe
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    piped = io.StringIO()
    progress = TerminalProgress(piped, min_interval=0)
    progress(step(50, loss=3.0))
    progress(ProgressEvent("st", "style_transfer", 5, 9, finished=True, elapsed=20.0))
    progress.close()
    assert piped.getvalue() == ""


def test_terminal_progress_shows_node_iteration_loss_and_eta():
    console = fake_terminal()
    progress = TerminalProgress(console=console, min_interval=0)
    progress(ProgressEvent("st", "style_transfer", 5, 9, message="started"))
    progress(step(25, loss=1234.5))
    drawn = drawn_text(console)
    assert "[5/9] st (style_transfer)" in drawn and "━" in drawn  # the node and its bar
    assert "25/100" in drawn and "loss 1234" in drawn and "ETA 30s" in drawn  # 10 s for 25 → 30 s for 75 more
    progress(ProgressEvent("st", "style_transfer", 5, 9, finished=True, elapsed=40.0))
    after = drawn_text(console)[len(drawn):]
    assert "[5/9] st (style_transfer) done in 40s\n" in after
    assert "25/100" not in after  # the finished node's bar is not drawn again


def test_terminal_progress_hands_the_terminal_back_after_the_last_node():
    tty = FakeTerminal()  # a stream that says it is a terminal, as sys.stderr does in a shell
    progress = TerminalProgress(tty, min_interval=0)
    progress(ProgressEvent("w", "write", 9, 9, message="started"))
    assert "\033[?25l" in tty.getvalue()  # the live bars hide the cursor
    progress(ProgressEvent("w", "write", 9, 9, finished=True, elapsed=1.0))
    assert tty.getvalue().endswith("\033[?25h\r")  # and show it again once the last node is done
    assert progress._progress is None


def test_json_progress_lines_carry_numbers():
    out = io.StringIO()
    JsonProgress(out, min_interval=0)(step(25, loss=1234.5))
    record = json.loads(out.getvalue())
    assert record["event"] == "progress" and record["loss"] == 1234.5 and record["eta"] == 30.0
    assert record["done"] == 25 and record["total"] == 100 and record["node"] == "st"


def test_cli_log_json_run_names_its_report_and_failures_are_json_too(tmp_path, capsys):
    make_inputs(tmp_path)
    graph = tmp_path / "g.yaml"
    graph.write_text(FX_GRAPH)
    assert main(["run", str(graph), "--log-json", "--report", str(tmp_path / "rep")]) == 0
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]  # nothing but JSON lines on stdout
    assert "\033[" not in captured.err and "\r" not in captured.err
    assert lines[0]["event"] == "node_start" and lines[-1]["event"] == "run_done"
    assert lines[-1]["report"] == str(tmp_path / "rep" / "report.html")
    assert (tmp_path / "rep" / "report.html").exists() and not (tmp_path / "fx_report").exists()

    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x.txt").write_text("x")
    assert main(["run", str(graph), "--log-json", "--report", str(tmp_path / "busy")]) == 1
    captured = capsys.readouterr()
    failed = json.loads(captured.out.splitlines()[-1])
    assert failed["event"] == "run_failed" and "already holds other files" in failed["error"]


def test_cli_run_uses_the_graph_report_unless_told_not_to(tmp_path, capsys):
    make_inputs(tmp_path)
    graph = tmp_path / "g.yaml"
    graph.write_text(FX_GRAPH)
    assert main(["run", str(graph), "--no-report"]) == 0
    assert not (tmp_path / "fx_report").exists()
    assert main(["run", str(graph)]) == 0
    captured = capsys.readouterr()
    assert f"report {tmp_path / 'fx_report' / 'report.html'}" in captured.out
    assert "\r" not in captured.err and "\033[" not in captured.err  # not a terminal: no live line


def test_validate_rejects_a_malformed_report_setting(tmp_path, capsys):
    make_inputs(tmp_path)
    graph = tmp_path / "g.yaml"
    graph.write_text(FX_GRAPH.replace('report: {dir: "${graph_dir}/fx_report"}', "report: [1, 2]"))
    assert main(["validate", str(graph)]) == 1
    assert "'report:' must be a folder path" in capsys.readouterr().err
