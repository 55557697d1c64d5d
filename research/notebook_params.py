"""The ``parameters`` cell of a papermill notebook: which names it declares, their
defaults, and typing values given as text (CLI, grids) by those defaults."""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from .registry import Param, ParamError

if TYPE_CHECKING:
    from nbformat import NotebookNode

__all__ = [
    "PARAMETERS_TAG",
    "NotebookParametersError",
    "check_parameters",
    "coerce_parameters",
    "notebook_parameters",
    "read_notebook",
    "sweepable_params",
]

PARAMETERS_TAG = "parameters"


class NotebookParametersError(ParamError):
    """A notebook without a cell tagged ``parameters``, or a parameter it does not declare."""


def notebook_parameters(path: str | os.PathLike[str]) -> dict[str, object]:
    """Names and defaults assigned in the notebook's ``parameters`` cell, in order. A
    default that is not a Python literal is given as its source text."""
    source = _parameters_source(Path(path))
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise NotebookParametersError(f"notebook {path}: its parameters cell is not valid Python ({exc.msg})") from exc
    declared: dict[str, object] = {}
    for node in tree.body:
        for name, value in _assignments(node):
            declared[name] = _literal(value, source)
    return declared


def check_parameters(path: str | os.PathLike[str], names: Iterable[str]) -> dict[str, object]:
    """The notebook's declared parameters; raises naming any of ``names`` it does not declare."""
    declared = notebook_parameters(path)
    unknown = [name for name in names if name not in declared]
    if unknown:
        known = ", ".join(declared) or "none"
        raise NotebookParametersError(
            f"notebook {path} has no parameter {', '.join(map(repr, unknown))} in its parameters cell (known: {known})"
        )
    return declared


def sweepable_params(path: str | os.PathLike[str]) -> tuple[Param, ...]:
    """A :class:`Param` per declared parameter whose default is an int, float, bool or
    str literal (the type a grid's values are checked against)."""
    declared = notebook_parameters(path)
    return tuple(Param(name, value) for name, value in declared.items() if isinstance(value, (bool, int, float, str)))


def coerce_parameters(path: str | os.PathLike[str], raw: Mapping[str, str]) -> dict[str, object]:
    """Text values (``-p NAME VALUE``) typed by the declared defaults: as the default's
    type when it is an int/float/bool/str literal, else as a Python literal (or the text)."""
    declared = check_parameters(path, raw)
    return {name: _coerce(name, declared[name], text) for name, text in raw.items()}


def _coerce(name: str, default: object, text: str) -> object:
    if isinstance(default, (bool, int, float, str)):
        return Param(name, default).coerce(text)
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _parameters_source(path: Path) -> str:
    if not path.is_file():
        raise FileNotFoundError(f"no such notebook: {path}")
    notebook = read_notebook(path)
    for cell in notebook.cells:
        if cell.cell_type == "code" and PARAMETERS_TAG in cell.get("metadata", {}).get("tags", []):
            lines = str(cell.source).splitlines()
            return "\n".join(line for line in lines if not line.lstrip().startswith(("%", "!")))
    raise NotebookParametersError(
        f"notebook {path} has no cell tagged {PARAMETERS_TAG!r}: tag the cell that assigns its "
        "parameters (papermill injects the values after it)"
    )


def read_notebook(path: str | os.PathLike[str]) -> NotebookNode:
    """The notebook at ``path`` (nbformat 4; imported here: it takes ~1 s to import)."""
    import nbformat

    notebook: NotebookNode = nbformat.read(Path(path), as_version=4)  # type: ignore[no-untyped-call]
    return notebook


def _assignments(node: ast.stmt) -> list[tuple[str, ast.expr]]:
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        return [(node.targets[0].id, node.value)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
        return [(node.target.id, node.value)]
    return []


def _literal(node: ast.expr, source: str) -> object:
    try:
        value: object = ast.literal_eval(node)
    except ValueError:
        return ast.get_source_segment(source, node) or ""
    return value
