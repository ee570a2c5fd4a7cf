"""YAML syntax errors as `file:line:col` messages that point at the mistake, not only where the
parser gave up.

An unclosed `[`, `{` or quote is noticed lines later, where the parser meets something that cannot
continue the construct. The error is then reported where the construct began, naming where the
parser stopped and what it found there:

    calendars.yaml:4:16: YAML syntax error: unclosed '[' begun here; parser stopped at 7:1:
    expected ',' or ']', but got '<scalar>'; close the list with ']'

Other errors (indentation, `: ` inside a plain value, tabs) are reported where the parser stopped,
with the construct it was reading and where that began.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.tokens import (
    FlowMappingEndToken,
    FlowMappingStartToken,
    FlowSequenceEndToken,
    FlowSequenceStartToken,
)

from connector.mappings.errors import MappingError

_CLOSER = {"[": "]", "{": "}"}
_KIND = {"[": "list", "{": "mapping"}


def syntax_error(path: str, text: str, error: MarkedYAMLError) -> MappingError:
    """The one error of a file the parser could not read."""
    problem = error.problem or "invalid YAML"
    stopped = error.problem_mark or error.context_mark
    stop_line, stop_col = _position(stopped)
    context = error.context or ""
    if "quoted scalar" in context and error.context_mark is not None:
        line, col = _position(error.context_mark)
        quote = _char_at(text, error.context_mark) or '"'
        return MappingError(
            path,
            line,
            col,
            f"YAML syntax error: unclosed {quote}...{quote} value begun here; parser stopped at "
            f"{stop_line}:{stop_col}: {problem}; end it with {quote} or write it as a block (`|`)",
        )
    if "flow" in context and stopped is not None:
        opener = _unclosed_flow_opener(text, stopped)
        if opener is not None:
            char, line, col = opener
            fix = f"close the {_KIND[char]} with '{_CLOSER[char]}'"
            if line == stop_line:  # closed later on the line: an item lacks its quote or comma
                fix = f"a quote or ',' is missing before {stop_line}:{stop_col}, or {fix}"
            return MappingError(
                path,
                line,
                col,
                f"YAML syntax error: unclosed '{char}' begun here; parser stopped at {stop_line}:{stop_col}: "
                f"{problem}; {fix}",
            )
    began = ""
    if error.context_mark is not None and _position(error.context_mark) != (stop_line, stop_col):
        began_line, began_col = _position(error.context_mark)
        began = f" begun at {began_line}:{began_col}"
    what = f" ({context}{began})" if context else ""
    return MappingError(
        path, stop_line, stop_col, f"YAML syntax error: {problem}{what}{_hint(problem, context)}"
    )


def duplicate_key_error(path: str, error: DuplicateKeyError) -> MappingError:
    mark = error.problem_mark
    first = error.context_mark
    key = str(error.problem).split('"')[1] if '"' in str(error.problem) else "?"
    where = f" (first at line {first.line + 1})" if first is not None else ""
    line, col = _position(mark)
    return MappingError(path, line, col, f"duplicate key '{key}'{where}; a key may appear once")


def _hint(problem: str, context: str) -> str:
    if "\\t" in repr(problem):
        return "; indent with spaces, not tabs"
    if "mapping values are not allowed" in problem:
        return "; quote values that contain ': ' or put the key on its own line"
    if "block mapping" in context or "block collection" in context:
        return "; check the indentation: keys of one mapping start in the same column"
    return ""


def _position(mark: Any) -> tuple[int, int]:
    """1-based (line, col) of a ruamel mark (1:1 without one)."""
    if mark is None:
        return 1, 1
    return int(mark.line) + 1, int(mark.column) + 1


def _char_at(text: str, mark: Any) -> str | None:
    lines = text.splitlines()
    if 0 <= mark.line < len(lines) and 0 <= mark.column < len(lines[mark.line]):
        char = lines[mark.line][mark.column]
        return char if char in "\"'" else None
    return None


def _unclosed_flow_opener(text: str, stopped: Any) -> tuple[str, int, int] | None:
    """The innermost `[` or `{` still open where the parser stopped: ruamel's own scanner, so
    brackets inside quotes, comments and block scalars do not count."""
    stop = (int(stopped.line), int(stopped.column))
    open_at: list[tuple[str, int, int]] = []
    try:
        for token in YAML(typ="rt").scan(text):
            mark = token.start_mark
            if (mark.line, mark.column) >= stop:
                break
            if isinstance(token, FlowSequenceStartToken | FlowMappingStartToken):
                char = "[" if isinstance(token, FlowSequenceStartToken) else "{"
                open_at.append((char, int(mark.line) + 1, int(mark.column) + 1))
            elif isinstance(token, FlowSequenceEndToken | FlowMappingEndToken) and open_at:
                open_at.pop()
    except YAMLError:
        pass  # the scanner itself stopped; what was open before that still counts
    return open_at[-1] if open_at else None
