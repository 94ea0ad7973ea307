"""What a result depends on: the code, hashed by content.

A result is current when its recorded ``code_hash`` equals ``code_hash(exp)`` now: a hash of
the content of the files the experiment's results depend on (``code_files``: nnlab/, the
shared modules of experiments/, the experiment's package and the packages it imports, its
configs). Content, not the git commit: an uncommitted edit changes it, a fresh checkout of
the same files does not.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE_EXCLUDED_DIRS = ("__pycache__",)


def _files_under(directory: Path) -> list[Path]:
    """Every file under ``directory``, caches (``__pycache__``, ``*.pyc``) and hidden files
    (editor, lock and temporary files) aside, in a fixed order."""
    out = []
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames[:] = sorted(d for d in dirnames if d not in CODE_EXCLUDED_DIRS and not d.startswith("."))
        out += [Path(dirpath) / f for f in sorted(filenames) if not f.startswith(".") and not f.endswith((".pyc", ".pyo"))]
    return out


_IMPORTS_CACHE: dict[tuple, frozenset] = {}


def _imported_modules(path: Path, module_package: str) -> frozenset:
    """The absolute names of the modules a source file imports (cached by size and mtime)."""

    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns, module_package)
    if key not in _IMPORTS_CACHE:
        targets = set()
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError):
            tree = ast.Module(body=[], type_ignores=[])
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                try:
                    base = importlib.util.resolve_name("." * node.level + (node.module or ""), module_package) \
                        if node.level else (node.module or "")
                except ImportError:  # a relative import above the top package
                    continue
                targets.add(base)
                targets.update(f"{base}.{alias.name}" for alias in node.names)
        _IMPORTS_CACHE[key] = frozenset(targets)
    return _IMPORTS_CACHE[key]


def _imported_experiment_packages(package: Path, root: Path) -> set[str]:
    """The names of the packages under experiments/ that the modules of ``package`` import
    (``import experiments.x``, ``from experiments.x import``, ``from experiments import x``,
    ``from ..x import``), read from the source."""
    names = set()
    for path in _files_under(package):
        if path.suffix != ".py":
            continue
        parts = path.relative_to(root).with_suffix("").parts
        module_package = ".".join(parts[:-1])
        for target in _imported_modules(path, module_package):
            bits = target.split(".")
            if len(bits) >= 2 and bits[0] == "experiments" and (root / "experiments" / bits[1]).is_dir():
                names.add(bits[1])
    return names


def code_files(exp: str | None = None, root: str | Path = ROOT) -> list[Path]:
    """The files whose content a result of experiment ``exp`` depends on: every file under
    nnlab/, the modules at the top of experiments/ (the runner and shared code; not
    __init__.py, the list of experiments, so that adding one keeps results current), the package
    experiments/<exp>/ and every other package of experiments/ that it imports (found in the
    source, transitively), conf/config.yaml and conf/exp/<exp>.yaml. ``exp=None``: every
    file under nnlab/, experiments/ and conf/."""
    root = Path(root)
    if exp is None:
        return [f for top in ("nnlab", "experiments", "conf") for f in _files_under(root / top)]
    files = _files_under(root / "nnlab")
    files += sorted(p for p in (root / "experiments").iterdir()
                    if p.is_file() and p.suffix == ".py" and p.name != "__init__.py")
    packages, todo = set(), [exp]
    while todo:
        name = todo.pop()
        if name in packages or not (root / "experiments" / name).is_dir():
            continue
        packages.add(name)
        todo += sorted(_imported_experiment_packages(root / "experiments" / name, root))
    for name in sorted(packages):
        files += _files_under(root / "experiments" / name)
    files += [p for p in (root / "conf" / "config.yaml", root / "conf" / "exp" / f"{exp}.yaml") if p.is_file()]
    return files


def code_hash(exp: str | None = None, root: str | Path = ROOT) -> str:
    """A hash of the code a result of experiment ``exp`` depends on (``code_files``): each
    file's path and content, not its modification time and not the git commit, so an
    uncommitted edit changes it and a checkout of the same files does not."""
    root = Path(root)
    digest = hashlib.sha256()
    for path in code_files(exp, root):
        data = path.read_bytes()
        digest.update(f"{path.relative_to(root).as_posix()}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()[:16]
