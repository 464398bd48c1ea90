"""Mutation operators: cosmic-ray's core ones, plus the few it lacks, as cosmic-ray operators.

cosmic-ray (``cosmic_ray.operators``) supplies arithmetic, comparison and
unary operator replacement, numeric constants (+1 / -1, default arguments
included), ``not`` insertion and zero-iteration loops.  It has nothing for
what students get wrong with a tensor library, so this module adds, as
subclasses of ``cosmic_ray.operators.operator.Operator`` registered under the
provider name ``lab6`` (so ``cosmic_ray.plugins.get_operator("lab6/...")`` and
``cosmic_ray.mutating.mutate_code`` handle them like core operators):

    SwapLibraryCall   randn_like -> rand_like / zeros_like, rand_like -> randn_like,
                      exp <-> sqrt, min <-> max (functions and methods)
    SwapReduction     sum <-> mean (torch.sum(...), x.mean(...))
    ReplaceDim        dim=-1 / 0 / 1 / no dim at all, for the other three
    SwapReductionName the strings "none" / "sum" / "mean" for each other
                      (the default ``reduction="mean"`` included)
    ReplaceMembership ``not in`` <-> ``in``
    DropStatement     a statement of a function body (an if or for block whole) -> ``pass``

``OPERATORS`` is the ordered list the audit applies.  From the core set it
takes + - * / for each other (and ** // % into them, where the reference
has them), and / -> // (integer division, a classic in a schedule).  It
leaves out replacements *by* ** // % and the bitwise and shift operators:
on tensors they give NaN, overflow or a TypeError for every input, so any
check kills them and they only cost grading time (the audit grades each
mutant in about the time of a whole `grade`); also ``is`` / ``is not`` and
``~`` / ``not`` on numbers, ExceptionReplacer and RemoveDecorator (no
``except`` or decorator in a solution), and VariableReplacer /
VariableInserter, which draw random constants (the audit must be
reproducible).  and/or, True/False and break/continue are in, though the
current solutions have none.
"""
import dataclasses

import parso
import parso.python.tree as tree

import cosmic_ray.plugins
from cosmic_ray.operators.operator import Example, Operator

PROVIDER = "lab6"

ARITHMETIC = ("Add", "Sub", "Mul", "Div")        # replaced by each other
ARITHMETIC_FROM = ARITHMETIC + ("Pow", "FloorDiv", "Mod")   # an existing ** // % becomes + - * /
COMPARISON = ("Eq", "NotEq", "Lt", "LtE", "Gt", "GtE")

LIBRARY_SWAPS = {
    "randn_like": ("rand_like", "zeros_like"),
    "rand_like": ("randn_like",),
    "exp": ("sqrt",),
    "sqrt": ("exp",),
    "min": ("max",),
    "max": ("min",),
}
REDUCTION_SWAPS = {"sum": ("mean",), "mean": ("sum",)}
DIMS = ("-1", "0", "1", None)            # None: the argument removed
REDUCTION_NAMES = ("none", "sum", "mean")


def _called_name(node):
    """True if ``node`` is a name that is called: ``f(...)`` or ``x.f(...)``."""
    if not isinstance(node, tree.Name):
        return False
    parent = node.parent
    if parent.type == "trailer" and parent.children[0].type == "operator" and parent.children[0].value == ".":
        following = parent.get_next_sibling()
    elif parent.type in ("atom_expr", "power") and parent.children[0] is node:
        following = node.get_next_sibling()
    else:
        return False
    return (following is not None and following.type == "trailer"
            and following.children[0].type == "operator" and following.children[0].value == "(")


class _RenameCall(Operator):
    """Replace the name of a called function or method by each of its swaps."""

    SWAPS = {}

    def mutation_positions(self, node):
        if _called_name(node) and node.value in self.SWAPS:
            for _ in self.SWAPS[node.value]:
                yield (node.start_pos, node.end_pos)

    def mutate(self, node, index):
        node.value = self.SWAPS[node.value][index]
        return node


class SwapLibraryCall(_RenameCall):
    """randn_like -> rand_like / zeros_like, exp <-> sqrt, min <-> max: library calls students confuse."""

    SWAPS = LIBRARY_SWAPS

    @classmethod
    def examples(cls):
        return (Example("e = torch.randn_like(s)", "e = torch.rand_like(s)"),
                Example("e = torch.randn_like(s)", "e = torch.zeros_like(s)", occurrence=1),
                Example("y = x.exp()", "y = x.sqrt()"),
                Example("b = min(1.0, t)", "b = max(1.0, t)"))


class SwapReduction(_RenameCall):
    """sum <-> mean."""

    SWAPS = REDUCTION_SWAPS

    @classmethod
    def examples(cls):
        return (Example("k = torch.sum(t, dim=-1)", "k = torch.mean(t, dim=-1)"),
                Example("k = t.mean()", "k = t.sum()"))


def _call_arguments(trailer):
    """The argument nodes of a call trailer ``( ... )`` (commas left out)."""
    inner = trailer.children[1:-1]
    if not inner:
        return []
    if inner[0].type == "arglist":
        return [c for c in inner[0].children if not (c.type == "operator" and c.value == ",")]
    return [inner[0]]


def _dim_argument(trailer):
    """The ``dim=...`` keyword argument of a call trailer, or None."""
    if trailer.type != "trailer" or trailer.children[0].value != "(":
        return None
    for arg in _call_arguments(trailer):
        if arg.type == "argument" and arg.children[0].type == "name" and arg.children[0].value == "dim" \
                and arg.children[1].value == "=":
            return arg
    return None


class ReplaceDim(Operator):
    """A ``dim=`` argument set to each other of -1, 0, 1, or removed (reduce over everything)."""

    @staticmethod
    def _choices(arg):
        current = arg.children[2].get_code().strip().replace(" ", "")
        return [d for d in DIMS if d != current]

    def mutation_positions(self, node):
        arg = _dim_argument(node)
        if arg is not None:
            for _ in self._choices(arg):
                yield (arg.start_pos, arg.end_pos)

    def mutate(self, node, index):
        arg = _dim_argument(node)
        choice = self._choices(arg)[index]
        if choice is None:
            code = _without_argument(node, arg)
        else:
            code = node.get_code().replace(arg.get_code(), arg.children[0].get_code() + "=" + choice, 1)
        return _parsed(code, node)

    @classmethod
    def examples(cls):
        return (Example("k = torch.sum(t, dim=-1)", "k = torch.sum(t, dim=0)"),
                Example("k = torch.sum(t, dim=-1)", "k = torch.sum(t, dim=1)", occurrence=1),
                Example("k = torch.sum(t, dim=-1)", "k = torch.sum(t)", occurrence=2))


def _without_argument(trailer, arg):
    """The code of call ``trailer`` without argument ``arg`` and its comma."""
    inner = trailer.children[1:-1]
    body = ""
    if inner and inner[0].type == "arglist":
        parts = inner[0].children
        i = parts.index(arg)
        keep = parts[:i - 1] + parts[i + 1:] if i > 0 else parts[i + 2:]
        body = "".join(p.get_code() for p in keep)
        if i == 0:
            body = body.lstrip()
    return trailer.children[0].get_code() + body + trailer.children[-1].get_code()


def _parsed(code, like):
    """A parso node for ``code`` standing in for node ``like`` in the tree (only its code matters)."""
    new = parso.parse(code)
    new.parent = like.parent
    return new


class SwapReductionName(Operator):
    """The string "none", "sum" or "mean" replaced by each of the other two (default arguments included)."""

    @staticmethod
    def _value(node):
        if isinstance(node, tree.String):
            text = node.value
            for quote in ('"', "'"):
                if len(text) >= 2 and text[0] == quote and text[-1] == quote and text[1:-1] in REDUCTION_NAMES:
                    return quote, text[1:-1]
        return None

    def mutation_positions(self, node):
        found = self._value(node)
        if found:
            for _ in range(len(REDUCTION_NAMES) - 1):
                yield (node.start_pos, node.end_pos)

    def mutate(self, node, index):
        quote, value = self._value(node)
        other = [r for r in REDUCTION_NAMES if r != value][index]
        node.value = f"{quote}{other}{quote}"
        return node

    @classmethod
    def examples(cls):
        return (Example('def f(reduction="mean"): pass', 'def f(reduction="none"): pass'),
                Example('def f(reduction="mean"): pass', 'def f(reduction="sum"): pass', occurrence=1))


class ReplaceMembership(Operator):
    """``not in`` <-> ``in`` (cosmic-ray's comparison operators do not cover membership)."""

    @staticmethod
    def _op(node):
        if node.type == "comparison" and len(node.children) == 3:
            op = node.children[1]
            code = op.get_code().strip()
            if code in ("in", "not in") or " ".join(code.split()) == "not in":
                return op
        return None

    def mutation_positions(self, node):
        op = self._op(node)
        if op is not None:
            yield (op.start_pos, op.end_pos)

    def mutate(self, node, index):
        op = self._op(node)
        flipped = "in" if op.get_code().split() == ["not", "in"] else "not in"
        code = (node.children[0].get_code() + " " + flipped + node.children[2].get_code())
        return _parsed(code, node)

    @classmethod
    def examples(cls):
        return (Example("ok = r not in R", "ok = r in R"), Example("ok = r in R", "ok = r not in R"))


def _droppable(node):
    """A statement of a function body (not the docstring, not a nested def)."""
    if node.type not in ("simple_stmt", "if_stmt", "for_stmt", "while_stmt", "with_stmt", "try_stmt"):
        return False
    suite = node.parent
    if suite is None or suite.type != "suite":
        return False
    owner = suite.parent
    while owner is not None and owner.type not in ("funcdef", "classdef", "file_input"):
        owner = owner.parent
    if owner is None or owner.type != "funcdef":
        return False
    if node.type == "simple_stmt":
        first = node.children[0]
        if first.type == "string" and owner.type == "funcdef" and node is _first_statement(owner):
            return False   # the docstring
        if first.type == "keyword" and first.value == "pass":
            return False
    return True


def _first_statement(funcdef):
    suite = funcdef.children[-1]
    return next((c for c in suite.children if c.type != "newline"), None)


class DropStatement(Operator):
    """A statement of a function body replaced by ``pass`` (an if or for block as a whole)."""

    def mutation_positions(self, node):
        if _droppable(node):
            yield (node.start_pos, node.end_pos)

    def mutate(self, node, index):
        prefix = node.get_first_leaf().prefix
        return _parsed(prefix + "pass\n", node)

    @classmethod
    def examples(cls):
        return (Example("def f(x):\n    y = x\n    return y\n", "def f(x):\n    pass\n    return y\n"),)


OWN = {cls.__name__: cls for cls in (SwapLibraryCall, SwapReduction, ReplaceDim, SwapReductionName,
                                     ReplaceMembership, DropStatement)}


class Provider:
    """cosmic-ray operator provider for this module's operators."""

    def __iter__(self):
        return iter(OWN)

    def __getitem__(self, name):
        return OWN[name]


cosmic_ray.plugins.OPERATOR_PROVIDERS.setdefault(PROVIDER, Provider())


@dataclasses.dataclass(frozen=True)
class Listed:
    """One operator the audit applies: its family (one of FAMILIES) and cosmic-ray name (core/... or lab6/...)."""

    family: str
    name: str


# The operators applied, in the order mutants are generated and numbered.
OPERATORS = (
    [Listed("arithmetic", f"core/ReplaceBinaryOperator_{a}_{b}")
     for a in ARITHMETIC_FROM for b in ARITHMETIC if a != b]
    + [Listed("arithmetic", "core/ReplaceBinaryOperator_Div_FloorDiv")]
    + [Listed("comparison", f"core/ReplaceComparisonOperator_{a}_{b}")
       for a in COMPARISON for b in COMPARISON if a != b]
    + [Listed("comparison", "lab6/ReplaceMembership"), Listed("comparison", "core/AddNot"),
       Listed("comparison", "core/ReplaceAndWithOr"), Listed("comparison", "core/ReplaceOrWithAnd"),
       Listed("comparison", "core/ReplaceTrueWithFalse"), Listed("comparison", "core/ReplaceFalseWithTrue")]
    + [Listed("reduction", "lab6/SwapReduction"), Listed("reduction", "lab6/ReplaceDim")]
    + [Listed("call", "lab6/SwapLibraryCall")]
    + [Listed("constant", "core/NumberReplacer"), Listed("constant", "core/ReplaceUnaryOperator_USub_UAdd"),
       Listed("constant", "core/ReplaceUnaryOperator_Delete_USub"), Listed("constant", "lab6/SwapReductionName")]
    + [Listed("statement", "lab6/DropStatement"), Listed("statement", "core/ZeroIterationForLoop"),
       Listed("statement", "core/ReplaceBreakWithContinue"), Listed("statement", "core/ReplaceContinueWithBreak")]
)
FAMILIES = ("arithmetic", "comparison", "reduction", "call", "constant", "statement")


def get(name):
    """An instance of the cosmic-ray operator ``name`` (core/... or lab6/...)."""
    return cosmic_ray.plugins.get_operator(name)()
