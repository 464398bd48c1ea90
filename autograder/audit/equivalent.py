"""The reviewed list of equivalent mutants (autograder/audit/equivalent.yml).

An equivalent mutant computes what the reference computes for every valid
input of the function's contract (its docstring), so no check can or should
kill it.  Each entry names the function, the changed code before and after
(the stripped lines the audit prints for the mutant, `` / `` between lines)
and a one-line mathematical reason::

    - function: reparameterize
      before: return mu + eps * std
      after: return mu - eps * std
      reason: eps ~ N(0, I) is symmetric, so ...

Entries match mutants by content, not by id, so they survive unrelated edits
of the reference.  An entry that matches no generated mutant is *stale*: the
reference changed under it, and it should be reviewed or removed.
"""
import os

from autograder.errors import UsageError
from autograder.rubric import read_yaml

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "equivalent.yml")
KEYS = ("function", "before", "after", "reason")


def _norm(text):
    return " / ".join(" ".join(line.split()) for line in str(text).replace(" / ", "\n").splitlines() if line.strip())


def load(path=PATH):
    """The entries of the equivalence file, validated; UsageError (one sentence) when malformed."""
    data = read_yaml(path, "the equivalence file", UsageError) or []
    if not isinstance(data, list):
        raise UsageError(f"{path} must be a list of entries with keys {', '.join(KEYS)}")
    for i, entry in enumerate(data):
        if not isinstance(entry, dict) or sorted(entry) != sorted(KEYS):
            raise UsageError(f"{path}: entry {i + 1} must have exactly the keys {', '.join(KEYS)}")
        if not all(isinstance(entry[k], str) and entry[k].strip() for k in KEYS):
            raise UsageError(f"{path}: entry {i + 1}: every key needs a non-empty text")
        if "\n" in entry["reason"].strip():
            raise UsageError(f"{path}: entry {i + 1}: the reason must be one line")
    return data


def matches(entry, mutant):
    return (entry["function"] == mutant.function and _norm(entry["before"]) == _norm(mutant.before)
            and _norm(entry["after"]) == _norm(mutant.after))


def match(entries, mutants):
    """({mutant id: entry} for equivalent mutants, [stale entries])."""
    found, stale = {}, []
    for entry in entries:
        hits = [m for m in mutants if matches(entry, m)]
        if not hits:
            stale.append(entry)
        for m in hits:
            found[m.id] = entry
    return found, stale
