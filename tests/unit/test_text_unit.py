"""Text cleaning (autograder/text.py): one_line, encodable and the cut, on hand-picked strings.

The property tests of clean and markdown on any string are in tests/autograder/test_hostile_text.py.
"""
import pytest

from autograder import text


@pytest.mark.parametrize("s, line", [
    ("a\n\n  b\tc\r\nd", "a b c d"),
    ("  padded  ", "padded"),
    ("x\u2028y\u2029z", "x y z"),
    ("\x1b[1mbold\x1b[0m\x00", "bold\u2400"),
    (None, ""),
    (b"caf\xe9\nbar", "caf\ufffd bar"),
])
def test_one_line_makes_one_clean_line(s, line):
    assert text.one_line(s) == line


def test_one_line_cuts_after_joining():
    line = text.one_line("start\n" + "word " * 400 + "\nend", 60)
    assert len(line) <= 60 and "\n" not in line and line.startswith("start word") and line.endswith("word end")
    assert text.one_line("a\nb", 100) == "a b"


def test_encodable_replaces_surrogates_only():
    assert text.encodable("ok \x00\x1b") == "ok \x00\x1b"
    assert text.encodable("\udcff\ud800x") == "\ufffd\ufffdx"
    s = "same object"
    assert text.encodable(s) is s, "no copy when there is nothing to replace"


def test_clean_of_a_str_subclass_is_its_plain_text():
    class Sneaky(str):
        def __str__(self):
            return "forged"

    assert text.clean(Sneaky("real")) == "real" and type(text.clean(Sneaky("real"))) is str


def test_clean_of_bytes_like_objects_decodes_them():
    assert text.clean(bytearray(b"ab\xffc")) == "ab\ufffdc" and text.clean(memoryview(b"xy")) == "xy"


@pytest.mark.parametrize("limit", [0, 1, 5, 9, 10, 30, 31, 100])
def test_clean_never_exceeds_its_limit(limit):
    for s in ("x" * 200, "\x00" * 200, "é" * 200, "ab"):
        assert len(text.clean(s, limit)) <= limit


def test_a_cut_says_how_many_characters_are_gone():
    s = "A" * 50 + "B" * 50
    cut = text.clean(s, 40)
    assert cut.startswith("AAA") and cut.endswith("BBB") and " [\u2026 " in cut
    shown = cut.replace(text.CUT_MARK.format(int(cut.split("[\u2026 ")[1].split(" ")[0])), "")
    assert int(cut.split("[\u2026 ")[1].split(" ")[0]) == len(s) - len(shown)


def test_markdown_makes_a_table_cell_of_anything():
    assert text.markdown("a|b\nc") == "a\\|b \u21b5 c"
    assert text.markdown("\ttabbed\t") == "tabbed"
    assert text.markdown("+ plus") == "\\+ plus" and text.markdown("= rule") == "\\= rule"
    assert text.markdown("3) third") == "3\\) third" and text.markdown("a - b") == "a - b"
    assert text.markdown("x" * 500, 50).count("chars cut") == 1
