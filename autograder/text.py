"""Text from submissions is data: the one place it is made safe to store, print and render.

Anything a student controls can reach a report: their exceptions' messages,
what their code printed, their folder's name (grade-all's student names),
notes that quote either.  Such text may hold surrogates (bytes that are not
UTF-8, read with ``surrogateescape``), control characters, terminal escapes, a
million characters on one line, or Markdown and HTML meant to forge a
report.  Every reporter passes it through these pure functions, none of
which raises:

    clean(s, limit=None)     valid, printable text (any str, bytes or object in)
    one_line(s, limit=None)  clean, on one line (whitespace runs become one space)
    markdown(s, limit=None)  clean, inert inside Markdown/HTML: one line, no markup
    encodable(s)             only the surrogates replaced (for a file's whole text: valid UTF-8)
    number(x, decimals=2)    a score or a duration as people write it: 87, 86.5, 86.25, 12.3


``limit`` cuts in the middle, saying how much: the start of a message (what
failed) and its end (the hint) both stay visible.
"""
import math
import re

REPLACEMENT = "\ufffd"          # what an unreadable character becomes
NEWLINE_MARK = " \u21b5 "       # " ↵ ": a line break inside one Markdown line
CUT_MARK = " [\u2026 {} chars cut \u2026] "

_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPE_SEQUENCE = re.compile("\x1b\\[[0-?]*[ -/]*[@-~]")      # CSI: colours, cursor moves
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# A control character becomes its picture (NUL -> ␀, ESC -> ␛, DEL -> ␡); a C1 control or a
# bidirectional override becomes U+FFFD; a Unicode line or paragraph separator a newline.
_TRANSLATION = {code: chr(0x2400 + code) for code in range(0x20) if chr(code) not in "\n\t"}
_TRANSLATION.update({0x7F: "\u2421", 0x2028: "\n", 0x2029: "\n"})
_TRANSLATION.update({code: REPLACEMENT for code in [*range(0x80, 0xA0), *range(0x202A, 0x202F),
                                                    *range(0x2066, 0x206A)]})
_MARKDOWN = re.compile(r"[&<>\\$`*_\[\]#|~]")
_MARKDOWN_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\\": "&#92;", "$": "&#36;"}
_BLOCK_START = re.compile(r"[-+=]|\d+[.)]")   # a list item, thematic break or setext line at a line's start


def encodable(s):
    """``s`` with every surrogate code point (undecodable bytes, half pairs) U+FFFD; else unchanged."""
    if not _SURROGATE.search(s):
        return s
    return _SURROGATE.sub(REPLACEMENT, s)


def _as_str(s):
    if s is None:
        return ""
    if isinstance(s, str):
        return str.__str__(s)                        # a plain str, whatever a subclass says
    if isinstance(s, (bytes, bytearray, memoryview)):
        return bytes(s).decode("utf-8", "replace")
    for show in (str, repr):
        try:
            value = show(s)
            if isinstance(value, str):
                return str.__str__(value)
        except Exception:                            # a hostile __str__
            pass
    return f"<unprintable {type(s).__name__}>"


def _clean_str(text):
    text = encodable(text)
    if "\x1b" in text:
        text = _ESCAPE_SEQUENCE.sub("", text)        # terminal formatting: dropped
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.translate(_TRANSLATION) if _UNPRINTABLE.search(text) else text


def _shorten(head, tail, missing, limit):
    """``head`` + ``tail`` (``missing`` characters already gone between them) in at most ``limit`` characters."""
    total = len(head) + len(tail) + missing
    if total <= limit:
        return head + tail
    room = limit - len(CUT_MARK.format(total))
    if room < 10:                                    # no room to say what was cut
        return (head if missing else head + tail)[:limit]
    keep_head, keep_tail = (room + 1) // 2, room // 2
    if not missing:
        text = head + tail
        head, tail = text[:keep_head], text[keep_head:]
    start, end = head[:keep_head], tail[len(tail) - keep_tail:]
    return start + CUT_MARK.format(total - len(start) - len(end)) + end


def clean(s, limit=None):
    """``s`` as valid, printable text: safe to encode as UTF-8, print, or put in JSON or CSV.

    - str, bytes (decoded as UTF-8, bad bytes replaced), None (""), anything else (its str()).
    - Surrogates become U+FFFD; "\\r\\n" and "\\r" become "\\n"; terminal escape sequences
      are dropped; other control characters become their visible pictures (NUL -> ␀, ESC -> ␛);
      C1 controls and bidirectional overrides become U+FFFD.  Newlines and tabs stay.
    - ``limit``: at most that many characters, cut in the middle with a marker saying how many
      characters were cut (the start and the end, where hints are, stay visible).

    Never raises.
    """
    try:
        text = _as_str(s)
        if limit is None:
            return _clean_str(text)
        limit = max(0, int(limit))
        margin = 2 * limit + 64                      # cleaning never lengthens text: cut the bulk first
        if len(text) > 2 * margin:
            missing = len(text) - 2 * margin
            return _shorten(_clean_str(text[:margin]), _clean_str(text[-margin:]), missing, limit)
        return _shorten(_clean_str(text), "", 0, limit)
    except Exception:                                # never let a report die of its text
        return "<unprintable text>"


def one_line(s, limit=None):
    """``clean(s)`` on one line: every run of whitespace (newlines too) one space; cut as ``clean``."""
    line = " ".join(clean(s).split())
    return clean(line, limit) if limit is not None else line


def markdown(s, limit=None):
    """``clean(s, limit)`` made inert in Markdown and HTML: for a table cell, a list item, a sentence.

    The result is one line (a line break shows as " ↵ ") with no character that Markdown or HTML
    reads as markup: ``& < > \\ $`` become entities, ``` ` * _ [ ] # | ~ ``` are backslash-escaped
    (every ``|`` is ``\\|``, and no other backslash is left), and a leading ``-``, ``+``, ``=`` or
    ``1.`` cannot start a list, rule or heading.  It renders as the text it was.
    """
    text = clean(s, limit).replace("\t", " ")
    text = NEWLINE_MARK.join(part.strip() for part in text.split("\n")).strip()
    text = _MARKDOWN.sub(lambda m: _MARKDOWN_ENTITIES.get(m.group(), "\\" + m.group()), text)
    start = _BLOCK_START.match(text)
    if start:
        end = start.end() - 1
        text = text[:end] + "\\" + text[end:]
    return text


def number(value, decimals=2):
    """``value`` (a number or its text) as people write it: rounded to ``decimals``, no trailing zeros.

    87.0 -> "87", 86.5 -> "86.5", 86.254 -> "86.25", 86.999 -> "87", 0.04 -> "0" (decimals=1);
    None or "" -> "" (no value).  What grades.csv, the LMS exports, the feedback files and
    collect's manifest write.  Never raises: what is not a finite number is written as text.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return ""
    try:
        value = round(float(value), decimals)
    except (TypeError, ValueError, OverflowError):
        return one_line(value)
    if not math.isfinite(value):
        return str(value)
    if value == int(value):
        return str(int(value))
    return f"{value:.{decimals}f}".rstrip("0").rstrip(".")
