"""What a cell reads, binds, imports and names as files, from its syntax tree.

The cache is only as good as its picture of a cell's inputs, so the rules lean
to the safe side: a name counts as read unless the cell has *certainly* bound
it first on every path; names a nested function or class body reads count as
read where the function is defined (it might be called right away). Reading a
name too many costs, at worst, an extra run; reading one too few would give a
stale hit.
"""

from __future__ import annotations

import ast
import inspect
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass

from wfnb.cache import clock

# Magics whose argument (line magics) or body (cell magics) is Python code run in the user's namespace.
_CODE_MAGICS = frozenset({"time", "timeit", "prun", "capture"})
# Magics that start a program: such a step runs every time (see docs/hashing.md).
_PROGRAM_MAGICS = frozenset({"system", "sx", "bash", "sh", "script", "python", "python2", "python3", "perl", "ruby", "pypy", "pip", "conda", "mamba", "micromamba", "uv"})
# Magics that read the whole namespace or IPython's own stores: nothing says which names.
_OPAQUE_MAGICS = frozenset({"who", "whos", "who_ls", "store", "debug", "pdb", "edit", "macro", "recall", "rerun", "save", "pastebin", "load"})
# Magics known to read no notebook name (their effects, if any, are seen while the step runs).
_PLAIN_MAGICS = frozenset(
    {
        "matplotlib", "config", "load_ext", "reload_ext", "unload_ext", "autoreload", "aimport", "precision",
        "cd", "pwd", "env", "writefile", "html", "markdown", "latex", "javascript", "js", "svg", "xmode",
        "colors", "page", "pinfo", "pinfo2", "psearch", "history", "alias", "unalias", "rehashx", "lsmagic",
        "magic", "quickref", "automagic", "autocall", "doctest_mode", "notebook", "wfnb", "run", "timeit",
        "time", "prun", "capture", "dhist", "dirs", "bookmark", "killbgscripts", "reset_selective", "tb",
    }
)
# Shell methods IPython calls for `!cmd` and `x = !cmd`.
_SHELL_PROGRAMS = frozenset({"system", "getoutput", "system_piped", "system_raw"})
# Calls that read names the syntax tree cannot see, without arguments (eval and exec are
# seen while the step runs: the names their code reads are in the trace).
_DYNAMIC_BARE_CALLS = frozenset({"globals", "locals", "vars", "dir"})
# Methods whose string argument is an expression over the caller's names (`@name` in pandas).
_EXPRESSION_METHODS = frozenset({"query", "eval", "evaluate"})
_MAX_PATH_LITERAL = 1024


@dataclass(frozen=True)
class CellAnalysis:
    """The names and literals one cell touches; see the module docstring for the rules."""

    code: str  # normalized syntax tree: comments, blank lines and layout removed
    reads: frozenset[str]  # read before the cell surely bound them: the inputs
    binds: frozenset[str]  # bound at top level on some path
    deletes: frozenset[str]  # removed with `del` at top level
    imports: frozenset[str]  # top-level packages the cell imports
    literals: tuple[str, ...]  # string constants that could name a file
    dynamic: tuple[str, ...]  # calls such as globals() or %who that hide what is read
    programs: tuple[str, ...] = ()  # programs the cell starts (`!cmd`, %%bash): it runs every time
    runs: tuple[tuple[str, bool], ...] = ()  # scripts run with %run: (path, with -i)
    env_reads: tuple[str, ...] = ()  # variables read by %env NAME
    argv: bool = False  # the cell reads sys.argv
    clock: tuple[str, ...] = ()  # calls that read the calendar clock: it runs every time
    local_time: bool = False  # the cell uses the local time zone: TZ is an ingredient


def analyze_cell(source: str) -> CellAnalysis:
    """Analyse Python source (already transformed by IPython). Raises SyntaxError."""
    tree = ast.parse(source)
    walker = _Walker()
    walker.run_block(tree.body, set())
    _namespace_subscripts(tree, walker)
    code = ast.dump(tree, annotate_fields=False, include_attributes=False)
    if tree.body and isinstance(tree.body[-1], ast.Expr) and _hides_its_value(source):
        code += " ;"  # a trailing ';' hides the value a plain cell would show: another result to show
    return CellAnalysis(
        code=code,
        reads=frozenset(walker.reads - _BUILTIN_NAMES_READ_SAFE),
        binds=frozenset(walker.binds),
        deletes=frozenset(walker.deletes),
        imports=frozenset(walker.imports),
        literals=tuple(dict.fromkeys(walker.literals)),
        dynamic=tuple(dict.fromkeys(walker.dynamic)),
        programs=tuple(dict.fromkeys(walker.programs)),
        runs=tuple(dict.fromkeys(walker.runs)),
        env_reads=tuple(dict.fromkeys(walker.env_reads)),
        argv=walker.argv,
        clock=tuple(dict.fromkeys(clock.calls(tree))),
        local_time=clock.uses_local_time(tree),
    )


def _namespace_subscripts(tree: ast.AST, walker: _Walker) -> None:
    """``get_ipython().user_ns['k']`` reads ``k``; with a key computed at run time, any name."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "user_ns":
            key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                walker.reads.add(key.value)
            elif "user_ns[...]" not in walker.dynamic:
                walker.dynamic.append("user_ns[...]")


def _hides_its_value(source: str) -> bool:
    """IPython's own rule: the cell's last token is ';'."""
    from IPython.core.displayhook import DisplayHook

    try:
        return bool(DisplayHook.semicolon_at_end_of_expression(source))
    except (SyntaxError, tokenize.TokenError, IndentationError):
        return False


def needs_await(source: str) -> bool:
    """Whether the source uses ``await`` (or ``async for``/``async with``) at top level."""
    try:
        code = compile(source, "<cell>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return bool(code.co_flags & inspect.CO_COROUTINE)


# Builtins are still read from the namespace when the user shadowed them; only
# names that can never be user data are dropped here.
_BUILTIN_NAMES_READ_SAFE = frozenset({"__builtins__"})


class _Walker:
    """Walks top-level statements in order, tracking which names are surely bound."""

    def __init__(self, in_class: bool = False) -> None:
        self.in_class = in_class  # methods do not see class-level names
        self.reads: set[str] = set()
        self.binds: set[str] = set()
        self.deletes: set[str] = set()
        self.imports: set[str] = set()
        self.literals: list[str] = []
        self.dynamic: list[str] = []
        self.programs: list[str] = []
        self.runs: list[tuple[str, bool]] = []
        self.env_reads: list[str] = []
        self.argv = False

    # -- statements -------------------------------------------------------

    def run_block(self, body: Iterable[ast.stmt], bound: set[str]) -> set[str]:
        for stmt in body:
            bound = self.run_stmt(stmt, bound)
        return bound

    def run_stmt(self, stmt: ast.stmt, bound: set[str]) -> set[str]:
        if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            return self._assign(stmt, bound)
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            return self._import(stmt, bound)
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self._definition(stmt, bound)
            return self._bind(bound, [stmt.name])
        if isinstance(stmt, ast.Delete):
            for target in stmt.targets:
                self.expr(target, bound)
            gone = [t.id for t in stmt.targets if isinstance(t, ast.Name)]
            self.deletes.update(gone)
            return bound - set(gone)
        if isinstance(stmt, ast.If):
            self.expr(stmt.test, bound)
            then = self.run_block(stmt.body, set(bound))
            other = self.run_block(stmt.orelse, set(bound))
            return then & other
        if isinstance(stmt, (ast.For, ast.AsyncFor)):
            self.expr(stmt.iter, bound)
            inner = self._bind(set(bound), _target_names(stmt.target))
            self._target_reads(stmt.target, inner)
            self.run_block(stmt.body, inner)
            self.run_block(stmt.orelse, set(bound))
            return bound
        if isinstance(stmt, ast.While):
            self.expr(stmt.test, bound)
            self.run_block(stmt.body, set(bound))
            self.run_block(stmt.orelse, set(bound))
            return bound
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                self.expr(item.context_expr, bound)
                if item.optional_vars is not None:
                    self._target_reads(item.optional_vars, bound)
                    bound = self._bind(bound, _target_names(item.optional_vars))
            return self.run_block(stmt.body, bound)
        if isinstance(stmt, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            return self._try(stmt, bound)  # type: ignore[arg-type]  # ast.Try, or 3.11's ast.TryStar
        if isinstance(stmt, ast.Match):
            self.expr(stmt.subject, bound)
            for case in stmt.cases:
                inner = self._bind(set(bound), _pattern_names(case.pattern))
                self._pattern_reads(case.pattern, inner)
                if case.guard is not None:
                    self.expr(case.guard, inner)
                self.run_block(case.body, inner)
            return bound
        # Expr, Return, Raise, Assert, Global, Nonlocal, Pass, Break, Continue
        for child in ast.iter_child_nodes(stmt):
            if isinstance(child, ast.expr):
                self.expr(child, bound)
        return bound

    def _assign(self, stmt: ast.Assign | ast.AnnAssign | ast.AugAssign, bound: set[str]) -> set[str]:
        if isinstance(stmt, ast.AugAssign):
            self.expr(stmt.value, bound)
            self.expr(_as_load(stmt.target), bound)  # `x += 1` reads x first
            self._target_reads(stmt.target, bound)
            return self._bind(bound, _target_names(stmt.target))
        if isinstance(stmt, ast.AnnAssign):
            if stmt.value is None:  # a bare annotation binds nothing
                self._target_reads(stmt.target, bound)
                return bound
            self.expr(stmt.value, bound)
            targets: list[ast.expr] = [stmt.target]
        else:
            self.expr(stmt.value, bound)
            targets = stmt.targets
        for target in targets:
            self._target_reads(target, bound)
        names = [name for target in targets for name in _target_names(target)]
        return self._bind(bound, names)

    def _import(self, stmt: ast.Import | ast.ImportFrom, bound: set[str]) -> set[str]:
        names = []
        if isinstance(stmt, ast.ImportFrom):
            if stmt.module and stmt.level == 0:
                self.imports.add(stmt.module.split(".")[0])
            for alias in stmt.names:
                if alias.name != "*":  # what `*` binds is found when the cell has run
                    names.append(alias.asname or alias.name)
        else:
            for alias in stmt.names:
                self.imports.add(alias.name.split(".")[0])
                names.append(alias.asname or alias.name.split(".")[0])
        return self._bind(bound, names)

    def _try(self, stmt: ast.Try, bound: set[str]) -> set[str]:
        after_body = self.run_block(stmt.body, set(bound))
        after_else = self.run_block(stmt.orelse, after_body)
        outcomes = [after_else]
        for handler in stmt.handlers:
            if handler.type is not None:
                self.expr(handler.type, bound)
            inner = self._bind(set(bound), [handler.name] if handler.name else [])
            outcomes.append(self.run_block(handler.body, inner))
        # `finally` may run after an early exception, when nothing else was bound.
        after_finally = self.run_block(stmt.finalbody, set(bound))
        return set.intersection(*outcomes) | after_finally

    def _definition(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, bound: set[str]) -> None:
        for decorator in node.decorator_list:
            self.expr(decorator, bound)
        if isinstance(node, ast.ClassDef):
            for base in [*node.bases, *(k.value for k in node.keywords)]:
                self.expr(base, bound)
            class_walker = _Walker(in_class=True)
            class_walker.run_block(node.body, set())
            self._absorb_scope(class_walker, visible=bound, local=set())  # its reads are in order
            return
        self._arguments(node.args, bound)
        if node.returns is not None:
            self.expr(node.returns, bound)
        self._function_scope(node.args, node.body, bound)

    def _arguments(self, args: ast.arguments, bound: set[str]) -> None:
        for default in [*args.defaults, *(d for d in args.kw_defaults if d is not None)]:
            self.expr(default, bound)
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if arg is not None and arg.annotation is not None:
                self.expr(arg.annotation, bound)

    def _function_scope(self, args: ast.arguments, body: list[ast.stmt] | ast.expr, bound: set[str]) -> None:
        """A function's free names are read at its definition, to be safe."""
        params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg] if a}
        inner = _Walker()
        if isinstance(body, list):
            inner.run_block(body, set(params))
            declared_global = _declared(body, ast.Global)
            local = (inner.binds | params) - declared_global
            self.binds.update(inner.binds & declared_global)  # `global x; x = …` binds x when called
        else:
            inner.expr(body, set(params))
            local = params | inner.binds
        # A method does not see class-level names: its free names are globals.
        self._absorb_scope(inner, visible=set() if self.in_class else bound, local=local)

    def _absorb_scope(self, inner: _Walker, visible: set[str], local: set[str]) -> None:
        self.reads.update(name for name in inner.reads if name not in local and name not in visible)
        self._absorb_facts(inner)

    def _absorb_facts(self, inner: _Walker | CellAnalysis) -> None:
        self.imports.update(inner.imports)
        self.literals.extend(inner.literals)
        self.dynamic.extend(inner.dynamic)
        self.programs.extend(inner.programs)
        self.runs.extend(inner.runs)
        self.env_reads.extend(inner.env_reads)
        self.argv = self.argv or inner.argv

    # -- expressions ------------------------------------------------------

    def expr(self, node: ast.AST, bound: set[str]) -> None:
        """Record reads in an expression; walrus targets bind in this scope."""
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load) and node.id not in bound:
                self.reads.add(node.id)
            return
        if isinstance(node, ast.NamedExpr):
            self.expr(node.value, bound)
            bound.add(node.target.id)
            self.binds.add(node.target.id)
            return
        if isinstance(node, ast.Lambda):
            self._arguments(node.args, bound)
            self._function_scope(node.args, node.body, bound)
            return
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            self._comprehension(node, bound)
            return
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if 0 < len(node.value) <= _MAX_PATH_LITERAL and "\n" not in node.value and "\x00" not in node.value:
                self.literals.append(node.value)
            return
        if isinstance(node, ast.Call):
            self._call(node, bound)
        if isinstance(node, ast.Attribute) and node.attr == "argv":
            self.argv = True
        for child in ast.iter_child_nodes(node):
            self.expr(child, bound)

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp, bound: set[str]) -> None:
        scope = set(bound)
        for index, generator in enumerate(node.generators):
            # The first iterable is evaluated outside the comprehension's scope.
            self.expr(generator.iter, bound if index == 0 else scope)
            scope |= set(_target_names(generator.target))
            for condition in generator.ifs:
                self.expr(condition, scope)
        parts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        for part in parts:
            self.expr(part, scope)
        bound |= scope - bound - set(n for g in node.generators for n in _target_names(g.target))

    def _call(self, node: ast.Call, bound: set[str]) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in _DYNAMIC_BARE_CALLS and not node.args and not node.keywords:
            self.dynamic.append(f"{func.id}()")
        if not isinstance(func, ast.Attribute):
            return
        texts = [a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None for a in node.args]
        if func.attr == "run_line_magic" and len(texts) >= 2 and texts[0] is not None and texts[1] is not None:
            self._magic(texts[0], texts[1], None)
        elif func.attr == "run_cell_magic" and len(texts) >= 3 and texts[0] is not None and texts[1] is not None and texts[2] is not None:
            self._magic(texts[0], texts[1], texts[2])
        elif func.attr in _SHELL_PROGRAMS and _is_shell(func.value):
            self.programs.append(texts[0] if texts and texts[0] is not None else "a shell command")
        elif func.attr in _EXPRESSION_METHODS and texts and texts[0] is not None:
            self._expression_string(texts[0], bound)

    def _magic(self, name: str, line: str, body: str | None) -> None:
        """What a magic in the cell reads: code magics are looked into, program magics noted."""
        if name in _CODE_MAGICS:
            code = body if body is not None else _strip_options(line)
            try:
                inner = analyze_cell(_magic_free(code))
            except SyntaxError:
                self.dynamic.append(f"%{name}")
                return
            self.reads.update(inner.reads)
            self.binds.update(inner.binds)
            self._absorb_facts(inner)
            if name == "capture" and line.split():
                self.binds.add(line.split()[-1])
        elif name in _PROGRAM_MAGICS:
            self.programs.append(f"%{name} {line}".strip() if body is None else f"%%{name} {line}".strip())
        elif name == "run":
            words = line.split()
            paths = [w for w in words if not w.startswith("-")]
            if paths:
                self.runs.append((paths[0], "-i" in words))
        elif name == "env":
            variable = line.strip()
            if variable and "=" not in variable and " " not in variable:
                self.env_reads.append(variable)
            elif not variable:
                self.dynamic.append("%env")
        elif name in _OPAQUE_MAGICS or name not in _PLAIN_MAGICS:
            self.dynamic.append(f"%{name}")

    def _expression_string(self, text: str, bound: set[str]) -> None:
        """``df.query("a > @limit")``: the names in the string may be the caller's variables."""
        try:
            tree = ast.parse(text.replace("@", " ").replace("`", " "), mode="eval")
        except SyntaxError:
            return
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id not in bound:
                self.reads.add(node.id)

    # -- targets ----------------------------------------------------------

    def _bind(self, bound: set[str], names: Iterable[str]) -> set[str]:
        names = list(names)
        self.binds.update(names)
        return bound | set(names)

    def _target_reads(self, target: ast.expr, bound: set[str]) -> None:
        """`df["a"] = …` and `obj.x = …` read df and obj."""
        if isinstance(target, (ast.Attribute, ast.Subscript)):
            self.expr(target.value, bound)
            if isinstance(target, ast.Subscript):
                self.expr(target.slice, bound)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._target_reads(element, bound)
        elif isinstance(target, ast.Starred):
            self._target_reads(target.value, bound)

    def _pattern_reads(self, pattern: ast.pattern, bound: set[str]) -> None:
        for node in ast.walk(pattern):
            if isinstance(node, ast.expr):
                self.expr(node, bound)


def _is_shell(node: ast.expr) -> bool:
    """``get_ipython()``: the object IPython's `!cmd` lines call."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "get_ipython"


_VALUED_OPTIONS = frozenset({"-n", "-r", "-p", "-s", "-l", "-T", "-D"})  # %timeit and %prun options with a value


def _strip_options(line: str) -> str:
    """The code of ``%timeit -n 3 -r 1 code``-style lines: what follows the options."""
    words = line.split(" ")
    while words and words[0].startswith("-"):
        option = words.pop(0)
        if option in _VALUED_OPTIONS and words:
            words.pop(0)
    return " ".join(words)


def _magic_free(code: str) -> str:
    """Code from a magic's body, with IPython syntax in it turned into Python."""
    if "%" not in code and "!" not in code:
        return code
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(code)


def _target_names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [name for element in target.elts for name in _target_names(element)]
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    return []


def _pattern_names(pattern: ast.pattern) -> list[str]:
    names = []
    for node in ast.walk(pattern):
        for field in ("name", "rest"):
            value = getattr(node, field, None)
            if isinstance(value, str):
                names.append(value)
    return names


def _as_load(target: ast.expr) -> ast.expr:
    if isinstance(target, ast.Name):
        return ast.Name(id=target.id, ctx=ast.Load())
    return target


def _declared(body: list[ast.stmt], kind: type[ast.Global] | type[ast.Nonlocal]) -> set[str]:
    """Names declared `global` anywhere in a function body (not in nested functions)."""
    names: set[str] = set()
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Global, ast.Nonlocal)) and isinstance(node, kind):
            names.update(node.names)
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))
    return names

