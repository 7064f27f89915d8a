"""The CLI's tables (rich.table as text): whole cells in a log or a pipe, numbers right-aligned."""
from __future__ import annotations

from audiostyle_engine.tables import format_table


def test_a_table_off_a_terminal_keeps_long_cells_on_one_line_without_control_characters():
    long_path = "deep/" * 40 + "take 1.wav"  # 210 characters: a console's default 80 columns would fold it
    text = format_table([["done", long_path, "1.5"], ["failed", "b.wav", "12.25"]], ["status", "input", "seconds"],
                        right=(2,))
    lines = text.splitlines()
    assert lines[0].split() == ["status", "input", "seconds"] and set(lines[1]) == {"─"}
    assert len(lines) == 4 and long_path in lines[2] and "\033" not in text
    assert lines[2].endswith("  1.5") and lines[3].endswith("12.25")  # right-aligned: the ends line up
    assert lines[2].index("1.5") == lines[3].index("12.25") + 2
