"""Single-point mutants of every function of the reference that contains a solution region.

For each module of the reference package, each operator of
``operators.OPERATORS`` and each of its positions in the module (cosmic-ray's
numbering: the n-th occurrence of that operator in the module), a mutant is
made with ``cosmic_ray.mutating.mutate_code`` when the position lies inside a
target function (its signature included, so default arguments are mutated
too).  Mutants are then cleaned up:

- *no-op*: the function's syntax tree is unchanged (constants folded), or
- *duplicate*: another operator already made the same function (e.g.
  ``dim=-1`` -> ``dim=1`` by ReplaceDim and by deleting the unary minus),
- *not compilable*.

What remains is numbered per function and family: ``kl_divergence:reduction:2``.
"""
import ast
import dataclasses
import difflib
import hashlib
import os

from cosmic_ray.ast import ast_nodes, get_ast
from cosmic_ray.mutating import mutate_code

from autograder.audit import operators
from autograder.facts import PACKAGE

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


@dataclasses.dataclass(frozen=True)
class Mutant:
    """One mutant: the reference with one function changed at one point."""

    id: str                 # "kl_divergence:reduction:2"
    function: str
    module: str             # "vae", "schedules"
    path: str               # the reference file, relative to the reference folder
    family: str
    operator: str           # cosmic-ray operator name
    occurrence: int         # cosmic-ray's occurrence of that operator in the module
    start: tuple            # cosmic-ray's (line, column) span of the mutated node
    end: tuple
    line: int               # first line changed, in the reference file
    before: str             # the changed lines of the reference (stripped)
    after: str              # what they became
    source: str             # the mutated function (def ... to its end)
    reference: str          # the reference function
    module_text: str = dataclasses.field(default="", repr=False, compare=False)      # the mutated file
    reference_text: str = dataclasses.field(default="", repr=False, compare=False)   # the reference file
    also: tuple = ()        # other operators that made the same mutant

    def diff(self):
        """Unified diff of the mutated file against the reference (file line numbers, 2 lines of context)."""
        lines = difflib.unified_diff(self.reference_text.splitlines(), self.module_text.splitlines(),
                                     f"a/{self.path}", f"b/{self.path}", lineterm="", n=2)
        return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class Target:
    """A function of the reference that contains a solution region."""

    function: str
    module: str
    path: str
    first: int              # first line of the def (decorators included), 1-based
    last: int               # last line
    source: str


def targets(reference_dir, package=PACKAGE):
    """Every function of the reference package with a ### BEGIN SOLUTION region, in file order."""
    found = []
    folder = os.path.join(reference_dir, package)
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".py"):
            continue
        path = os.path.join(folder, name)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if BEGIN not in text:
            continue
        lines = text.splitlines(keepends=True)
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                body = "".join(lines[first - 1:node.end_lineno])
                if BEGIN in body:
                    found.append(Target(node.name, name[:-3], f"{package}/{name}", first, node.end_lineno, body))
    return sorted(found, key=lambda t: (t.path, t.first))


def function_source(module_source, function):
    """The source of top-level function ``function`` in ``module_source`` (def to end), or None."""
    tree_ = ast.parse(module_source)
    lines = module_source.splitlines(keepends=True)
    for node in tree_.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function:
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            return "".join(lines[first - 1:node.end_lineno])
    return None


NEGATED = {ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot,
           ast.IsNot: ast.Is}


class _Fold(ast.NodeTransformer):
    """Fold what makes equal programs look different: -(1) is -1, +1 is 1, ``not a == b`` is ``a != b``.

    (Only exact identities: ``not a < b`` is not ``a >= b`` for NaN.)
    """

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Not) and isinstance(node.operand, ast.Compare) \
                and len(node.operand.ops) == 1 and type(node.operand.ops[0]) in NEGATED:
            cmp = node.operand
            return ast.copy_location(ast.Compare(cmp.left, [NEGATED[type(cmp.ops[0])]()], cmp.comparators), node)
        if isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, (int, float, complex)):
            try:
                value = {ast.USub: lambda v: -v, ast.UAdd: lambda v: +v, ast.Invert: lambda v: ~v}[
                    type(node.op)](node.operand.value)
            except (KeyError, TypeError):
                return node
            return ast.copy_location(ast.Constant(value), node)
        return node


def normal_form(function_code):
    """A string equal for functions with the same syntax tree (constants folded, no docstring)."""
    module = ast.parse(function_code)
    fn = module.body[0]
    if fn.body and isinstance(fn.body[0], ast.Expr) and isinstance(getattr(fn.body[0], "value", None), ast.Constant) \
            and isinstance(fn.body[0].value.value, str):
        fn.body = fn.body[1:] or [ast.Pass()]
    return ast.dump(_Fold().visit(module), annotate_fields=False, include_attributes=False)


def _changed(reference, mutated):
    """(first changed line offset, reference lines, mutated lines) of two versions of a function."""
    a, b = reference.splitlines(), mutated.splitlines()
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    blocks = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    i1, i2, j1, j2 = blocks[0][1], blocks[-1][2], blocks[0][3], blocks[-1][4]
    strip = lambda lines: "\n".join(line.strip() for line in lines if line.strip())
    return i1, strip(a[i1:i2]), strip(b[j1:j2])


def _within(pos, target):
    line = pos[0]
    return target.first <= line <= target.last


def generate(reference_dir, functions=None, package=PACKAGE):
    """(mutants, skipped) for the reference in ``reference_dir``.

    ``functions`` restricts to those function names.  ``skipped`` counts the
    raw mutants dropped as no-op, duplicate or not compilable.
    """
    chosen = [t for t in targets(reference_dir, package) if functions is None or t.function in functions]
    skipped = {"no-op": 0, "duplicate": 0, "not compilable": 0}
    mutants = []
    by_module = {}
    for t in chosen:
        by_module.setdefault(t.path, []).append(t)
    for path, module_targets in by_module.items():
        with open(os.path.join(reference_dir, path), encoding="utf-8") as f:
            source = f.read()
        module_ast = get_ast(source)
        seen = {t.function: {normal_form(t.source): None} for t in module_targets}
        counters = {}
        for listed in operators.OPERATORS:
            family, name = listed.family, listed.name
            operator = operators.get(name)
            positions = [pos for node in ast_nodes(module_ast) for pos in operator.mutation_positions(node)]
            for occurrence, (start, end) in enumerate(positions):
                target = next((t for t in module_targets if _within(start, t)), None)
                if target is None:
                    continue
                mutated_module = mutate_code(source, operators.get(name), occurrence)
                if mutated_module is None:
                    continue
                try:
                    compile(mutated_module, path, "exec")
                    code = function_source(mutated_module, target.function)
                    key = normal_form(code)
                except SyntaxError:
                    skipped["not compilable"] += 1
                    continue
                known = seen[target.function]
                if key in known:
                    if known[key] is None:
                        skipped["no-op"] += 1
                    else:
                        skipped["duplicate"] += 1
                        first = known[key]
                        mutants[first] = dataclasses.replace(mutants[first], also=mutants[first].also + (name,))
                    continue
                offset, before, after = _changed(target.source, code)
                k = counters[(target.function, family)] = counters.get((target.function, family), 0) + 1
                known[key] = len(mutants)
                mutants.append(Mutant(
                    id=f"{target.function}:{family}:{k}", function=target.function, module=target.module,
                    path=path, family=family, operator=name, occurrence=occurrence, start=tuple(start), end=tuple(end),
                    line=target.first + offset, before=before, after=after, source=code,
                    reference=target.source, module_text=mutated_module, reference_text=source))
    rank = {t.function: i for i, t in enumerate(chosen)}
    family = {f: i for i, f in enumerate(operators.FAMILIES)}
    mutants.sort(key=lambda m: (rank[m.function], family[m.family], int(m.id.rsplit(":", 1)[1])))
    return mutants, skipped


def describe(mutant):
    """One line: 'line 78: `return mu + eps * std` -> `return mu - eps * std`'."""
    return (f"line {mutant.line}: `{mutant.before.replace(chr(10), ' / ')}` -> "
            f"`{mutant.after.replace(chr(10), ' / ')}`")


def sample(mutants, n):
    """A deterministic, stratified subset of ``n`` mutants.

    Groups are (function, family); they are visited in rounds, functions
    interleaved (the first family of each function, then the second, ...),
    one mutant per group per round, and within a group mutants come in the
    order of the sha256 of their ids.  The same mutants give the same sample.
    """
    if n >= len(mutants):
        return list(mutants)
    groups = {}
    for m in mutants:
        groups.setdefault(m.function, {}).setdefault(m.family, []).append(m)
    for families in groups.values():
        for members in families.values():
            members.sort(key=lambda m: hashlib.sha256(m.id.encode()).hexdigest())
    width = max(len(f) for f in groups.values())
    ordered = [list(families.values())[k] for k in range(width) for families in groups.values()
               if k < len(families)]
    picked, round_ = [], 0
    while len(picked) < n:
        for members in ordered:
            if round_ < len(members) and len(picked) < n:
                picked.append(members[round_])
        round_ += 1
    order = {m.id: i for i, m in enumerate(mutants)}
    return sorted(picked, key=lambda m: order[m.id])
