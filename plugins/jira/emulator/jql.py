"""The JQL subset the emulator understands.

Covers what tierdesk and common admin scripts send: `project`, `status`, `statusCategory`,
`priority`, `labels`, `issuetype`, `assignee`/`reporter`/`creator` (accountId, `currentUser()`),
`resolution`, `key`/`issuekey`, `id`, `Organizations`, custom fields (`cf[10050]`, `customfield_10050`
or the field name), text search (`summary`, `description`, `comment`, `text` with `~`), date fields
(`updated`, `created`, `resolved`, `statusCategoryChangedDate`) compared with epoch milliseconds
(unquoted numbers), minute-precision literals `"yyyy-MM-dd HH:mm"` / `"yyyy/MM/dd HH:mm"` and days
`"yyyy-MM-dd"` read in the caller's time zone, relative periods (`-5m`, `-2d`, `1w`) and
`now()`/`startOfDay()`/`endOfDay()`; `=`, `!=`, `<`, `<=`, `>`, `>=`, `~`, `!~`, `IN`, `NOT IN`,
`IS [NOT] EMPTY|NULL`, `AND`, `OR`, `NOT`, parentheses, and `ORDER BY` up to 7 fields.

A literal with minute (or day) precision denotes the whole minute (day): `>= "10:07"` starts at
10:07:00.000, `> "10:07"` starts at 10:08:00.000, so a client that truncates its position to the
minute and uses `>` misses later changes within that minute, as on Jira Cloud.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from plugins.jira.emulator.model import STATUS_CATEGORIES, FieldDef, Issue, JiraSite, adf_to_text


class JqlError(ValueError):
    """An invalid query; `message` is the text Jira puts in `errorMessages`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# ---------------------------------------------------------------------------------------------------
# Tokens and syntax tree

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>!=|>=|<=|!~|=|>|<|~)
      | (?P<lparen>\()
      | (?P<rparen>\))
      | (?P<comma>,)
      | (?P<word>[^\s"'(),=!<>~]+)
    )""",
    re.VERBOSE,
)

_KEYWORDS = {"and", "or", "not", "in", "is", "empty", "null", "order", "by", "asc", "desc"}


@dataclass(frozen=True)
class Token:
    kind: str  # str | op | lparen | rparen | comma | word | end
    text: str
    position: int


@dataclass(frozen=True)
class Literal:
    text: str
    quoted: bool


@dataclass(frozen=True)
class Function:
    name: str
    args: tuple[str, ...]


Operand = Literal | Function | None  # None = EMPTY / NULL


@dataclass(frozen=True)
class Clause:
    field: str
    operator: str  # = != > >= < <= ~ !~ in "not in" is "is not"
    operands: tuple[Operand, ...]


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Clause | And | Or | Not


@dataclass(frozen=True)
class Query:
    where: Node | None
    order: tuple[tuple[str, bool], ...]  # (field, ascending)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise JqlError(
                f"Error in the JQL Query: The character '{text[position]}' is a reserved JQL character."
            )
        kind = match.lastgroup or "word"
        raw = match.group(kind)
        if kind == "str":
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        tokens.append(Token(kind, raw, match.start(kind)))
        position = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0

    def peek(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at_word(self, *words: str) -> bool:
        token = self.peek()
        return token.kind == "word" and token.text.lower() in words

    def error(self, expected: str) -> JqlError:
        token = self.peek()
        found = token.text or "the end of the query"
        return JqlError(
            f"Error in the JQL Query: Expecting {expected} but got '{found}'. "
            f"(line 1, character {token.position + 1})"
        )

    def parse(self) -> Query:
        where: Node | None = None
        if not self.at_word("order") and self.peek().kind != "end":
            where = self.parse_or()
        order: list[tuple[str, bool]] = []
        if self.at_word("order"):
            self.take()
            if not self.at_word("by"):
                raise self.error("'by'")
            self.take()
            while True:
                token = self.take()
                if token.kind not in ("word", "str"):
                    raise self.error("a field name")
                ascending = True
                if self.at_word("asc", "desc"):
                    ascending = self.take().text.lower() == "asc"
                order.append((token.text, ascending))
                if self.peek().kind != "comma":
                    break
                self.take()
        if self.peek().kind != "end":
            raise self.error("either 'OR' or 'AND'")
        if len(order) > 7:
            raise JqlError("The ORDER BY clause can contain a maximum of 7 fields.")
        return Query(where=where, order=tuple(order))

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while self.at_word("or"):
            self.take()
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_and(self) -> Node:
        items = [self.parse_not()]
        while self.at_word("and"):
            self.take()
            items.append(self.parse_not())
        return items[0] if len(items) == 1 else And(tuple(items))

    def parse_not(self) -> Node:
        if self.at_word("not"):
            self.take()
            return Not(self.parse_not())
        if self.peek().kind == "lparen":
            self.take()
            node = self.parse_or()
            if self.peek().kind != "rparen":
                raise self.error("')'")
            self.take()
            return node
        return self.parse_clause()

    def parse_clause(self) -> Clause:
        token = self.take()
        if token.kind not in ("word", "str") or (token.kind == "word" and token.text.lower() in _KEYWORDS):
            self.index -= 1
            raise self.error("a field name")
        field_name = token.text
        if self.at_word("is"):
            self.take()
            negate = False
            if self.at_word("not"):
                self.take()
                negate = True
            if not self.at_word("empty", "null"):
                raise self.error("'EMPTY' or 'NULL'")
            self.take()
            return Clause(field_name, "is not" if negate else "is", (None,))
        if self.at_word("not"):
            self.take()
            if not self.at_word("in"):
                raise self.error("'IN'")
            self.take()
            return Clause(field_name, "not in", self.parse_list())
        if self.at_word("in"):
            self.take()
            return Clause(field_name, "in", self.parse_list())
        op = self.take()
        if op.kind != "op":
            self.index -= 1
            raise self.error("an operator")
        return Clause(field_name, op.text, (self.parse_operand(),))

    def parse_list(self) -> tuple[Operand, ...]:
        if self.peek().kind != "lparen":
            raise self.error("'('")
        self.take()
        operands = [self.parse_operand()]
        while self.peek().kind == "comma":
            self.take()
            operands.append(self.parse_operand())
        if self.peek().kind != "rparen":
            raise self.error("')'")
        self.take()
        return tuple(operands)

    def parse_operand(self) -> Operand:
        token = self.take()
        if token.kind == "str":
            return Literal(token.text, quoted=True)
        if token.kind != "word":
            self.index -= 1
            raise self.error("a value")
        if token.text.lower() in ("empty", "null"):
            return None
        if self.peek().kind == "lparen":
            self.take()
            args: list[str] = []
            while self.peek().kind != "rparen":
                arg = self.take()
                if arg.kind == "end":
                    raise self.error("')'")
                if arg.kind != "comma":
                    args.append(arg.text)
            self.take()
            return Function(token.text, tuple(args))
        return Literal(token.text, quoted=False)


def parse(text: str) -> Query:
    return _Parser(text).parse()


# ---------------------------------------------------------------------------------------------------
# Compilation

Predicate = Callable[[Issue], bool]


@dataclass(frozen=True)
class Caller:
    account_id: str
    time_zone: str
    now_ms: int


@dataclass(frozen=True)
class CompiledQuery:
    predicate: Predicate
    order: tuple[tuple[str, bool], ...]
    updated_from: int | None  # a lower bound on `updated` implied by the whole query

    @property
    def updated_index_order(self) -> bool:
        """True when results come in the order of the site's `updated` index, so a page is a
        bisect plus a short walk instead of a sort."""
        names = [(_canonical_order_field(name), ascending) for name, ascending in self.order]
        if not names or names[0] != ("updated", True):
            return False
        return all(item in (("key", True), ("id", True)) for item in names[1:])


_DATE_GETTERS: dict[str, Callable[[Issue], int | None]] = {
    "updated": lambda issue: issue.updated_ms,
    "updateddate": lambda issue: issue.updated_ms,
    "created": lambda issue: issue.created_ms,
    "createddate": lambda issue: issue.created_ms,
    "resolved": lambda issue: issue.resolution_ms,
    "resolutiondate": lambda issue: issue.resolution_ms,
    "statuscategorychangeddate": lambda issue: issue.status_changed_ms,
}

_DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d")
_RELATIVE = re.compile(r"^([+-]?)\s*(\d+)\s*([wdhm])$", re.IGNORECASE)
_UNIT_MS = {"w": 7 * 86_400_000, "d": 86_400_000, "h": 3_600_000, "m": 60_000}


def compile_query(query: Query, site: JiraSite, caller: Caller) -> CompiledQuery:
    predicate: Predicate = (
        (lambda _issue: True) if query.where is None else _compile(query.where, site, caller)
    )
    for name, _ascending in query.order:
        _canonical_order_field(name)
    return CompiledQuery(
        predicate=predicate,
        order=query.order,
        updated_from=_updated_lower_bound(query.where, site, caller),
    )


def _compile(node: Node, site: JiraSite, caller: Caller) -> Predicate:
    if isinstance(node, And):
        parts = [_compile(item, site, caller) for item in node.items]
        return lambda issue: all(part(issue) for part in parts)
    if isinstance(node, Or):
        parts = [_compile(item, site, caller) for item in node.items]
        return lambda issue: any(part(issue) for part in parts)
    if isinstance(node, Not):
        inner = _compile(node.item, site, caller)
        return lambda issue: not inner(issue)
    return _compile_clause(node, site, caller)


def _unsupported(field_name: str, operator: str) -> JqlError:
    return JqlError(f"The operator '{operator.upper()}' is not supported by the '{field_name}' field.")


def _compile_clause(clause: Clause, site: JiraSite, caller: Caller) -> Predicate:
    name = clause.field.strip()
    lowered = name.lower()
    if lowered in _DATE_GETTERS:
        return _date_clause(clause, _DATE_GETTERS[lowered], caller)
    if lowered in ("summary", "description", "comment", "text"):
        return _text_clause(clause, lowered)
    if lowered in ("key", "issuekey", "id", "issue"):
        return _key_clause(clause, site, by_id=lowered == "id")
    if lowered == "labels":
        return _multi_clause(clause, lambda issue: issue.labels, lambda text: text)
    single: dict[str, tuple[Callable[[Issue], str | None], Callable[[str], str]]] = {
        "project": (lambda issue: str(issue.project.id), lambda v: _resolve_project(site, v)),
        "status": (
            lambda issue: issue.status_id,
            lambda v: _resolve(site.status_by_name_or_id(v), v, "status"),
        ),
        "statuscategory": (
            lambda issue: site.statuses[issue.status_id].category,
            _resolve_category,
        ),
        "priority": (
            lambda issue: issue.priority_id,
            lambda v: _resolve(site.priority_by_name_or_id(v), v, "priority"),
        ),
        "issuetype": (
            lambda issue: issue.issuetype,
            lambda v: _resolve(site.issuetype_by_name_or_id(v), v, "issuetype"),
        ),
        "type": (
            lambda issue: issue.issuetype,
            lambda v: _resolve(site.issuetype_by_name_or_id(v), v, "type"),
        ),
        "resolution": (lambda issue: issue.resolution, lambda v: _resolve_resolution(site, v)),
        "assignee": (lambda issue: issue.assignee, lambda v: _resolve_user(site, v, "assignee")),
        "reporter": (lambda issue: issue.reporter, lambda v: _resolve_user(site, v, "reporter")),
        "creator": (lambda issue: issue.creator, lambda v: _resolve_user(site, v, "creator")),
    }
    if lowered in single:
        getter, resolver = single[lowered]
        return _single_clause(clause, getter, resolver, caller)
    definition = site.field_by_clause(name)
    if definition is not None and definition.custom:
        return _custom_clause(clause, definition, site, caller)
    raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")


def _resolve(found: Any, value: str, field_name: str) -> str:
    if found is None:
        raise JqlError(f"The value '{value}' does not exist for the field '{field_name}'.")
    return str(found.id)


def _resolve_project(site: JiraSite, value: str) -> str:
    project = site.project_by_ref(value)
    if project is None:
        raise JqlError(f"The value '{value}' does not exist for the field 'project'.")
    return str(project.id)


def _resolve_category(value: str) -> str:
    lowered = value.lower()
    for key, (category_id, name, _color) in STATUS_CATEGORIES.items():
        if lowered in (key, name.lower(), str(category_id)):
            return key
    raise JqlError(f"The value '{value}' does not exist for the field 'statusCategory'.")


def _resolve_resolution(site: JiraSite, value: str) -> str:
    if value.lower() == "unresolved":
        return ""
    return _resolve(site.resolution_by_name_or_id(value), value, "resolution")


def _resolve_user(site: JiraSite, value: str, field_name: str) -> str:
    if value in site.users:
        return value
    by_email = site.user_by_email(value)
    if by_email is not None:
        return by_email.account_id
    lowered = value.lower()
    for user in site.users.values():
        if user.display_name.lower() == lowered:
            return user.account_id
    raise JqlError(f"The value '{value}' does not exist for the field '{field_name}'.")


def _operand_text(operand: Operand, caller: Caller, field_name: str) -> str | None:
    if operand is None:
        return None
    if isinstance(operand, Function):
        if operand.name.lower() == "currentuser":
            return caller.account_id
        raise JqlError(f"Unable to find JQL function '{operand.name}({', '.join(operand.args)})'.")
    return operand.text


def _single_clause(
    clause: Clause,
    getter: Callable[[Issue], str | None],
    resolver: Callable[[str], str],
    caller: Caller,
) -> Predicate:
    field_name = clause.field
    op = clause.operator.lower()
    if op not in ("=", "!=", "in", "not in", "is", "is not"):
        raise _unsupported(field_name, op)
    wanted: set[str | None] = set()
    for operand in clause.operands:
        text = _operand_text(operand, caller, field_name)
        resolved = None if text is None else resolver(text)
        wanted.add(resolved or None)  # "Unresolved" resolves to "" meaning empty
    if op in ("=", "in", "is"):
        return lambda issue: (getter(issue) or None) in wanted
    # Jira's negative operators never match an empty value (`assignee != x` skips unassigned issues)
    return lambda issue: (getter(issue) or None) is not None and getter(issue) not in wanted


def _multi_clause(
    clause: Clause,
    getter: Callable[[Issue], Sequence[str]],
    resolver: Callable[[str], str],
) -> Predicate:
    op = clause.operator.lower()
    if op in ("is", "is not"):
        empty = op == "is"
        return lambda issue: (len(getter(issue)) == 0) == empty
    if op not in ("=", "!=", "in", "not in"):
        raise _unsupported(clause.field, op)
    wanted = {resolver(operand.text) for operand in clause.operands if isinstance(operand, Literal)}
    if op in ("=", "in"):
        return lambda issue: any(value in wanted for value in getter(issue))
    return lambda issue: not any(value in wanted for value in getter(issue))


def _text_clause(clause: Clause, lowered: str) -> Predicate:
    op = clause.operator.lower()
    if op not in ("~", "!~"):
        raise _unsupported(clause.field, op)
    operand = clause.operands[0]
    if not isinstance(operand, Literal):
        raise JqlError(f"The field '{clause.field}' does not support searching for EMPTY values.")
    needle = operand.text.lower().strip("*")

    def haystack(issue: Issue) -> str:
        parts: list[str] = []
        if lowered in ("summary", "text"):
            parts.append(issue.summary)
        if lowered in ("description", "text"):
            parts.append(adf_to_text(issue.description))
        if lowered in ("comment", "text"):
            parts.extend(adf_to_text(comment.body) for comment in issue.comments)
        return "\n".join(parts).lower()

    if op == "~":
        return lambda issue: needle in haystack(issue)
    return lambda issue: needle not in haystack(issue)


def _key_clause(clause: Clause, site: JiraSite, *, by_id: bool) -> Predicate:
    op = clause.operator.lower()
    field_name = "id" if by_id else "key"

    def key_of(text: str) -> tuple[str, int]:
        issue = site.issue_by_ref(text)
        if issue is not None:
            return (issue.project.key, issue.number)
        match = re.fullmatch(r"([A-Za-z][A-Za-z0-9_]*)-(\d+)", text)
        if match and not by_id and site.project_by_ref(match.group(1)) is not None:
            return (match.group(1).upper(), int(match.group(2)))
        raise JqlError(f"An issue with key '{text}' does not exist for field '{field_name}'.")

    def of(issue: Issue) -> tuple[str, int]:
        return (issue.project.key, issue.number)

    literals = [operand.text for operand in clause.operands if isinstance(operand, Literal)]
    if op in ("=", "in", "!=", "not in"):
        wanted = {key_of(text) for text in literals}
        if op in ("=", "in"):
            return lambda issue: of(issue) in wanted
        return lambda issue: of(issue) not in wanted
    if op in (">", ">=", "<", "<="):
        pivot = key_of(literals[0])
        compare: dict[str, Callable[[tuple[str, int]], bool]] = {
            ">": lambda k: k[0] == pivot[0] and k[1] > pivot[1],
            ">=": lambda k: k[0] == pivot[0] and k[1] >= pivot[1],
            "<": lambda k: k[0] == pivot[0] and k[1] < pivot[1],
            "<=": lambda k: k[0] == pivot[0] and k[1] <= pivot[1],
        }
        check = compare[op]
        return lambda issue: check(of(issue))
    raise _unsupported(clause.field, op)


def _custom_clause(clause: Clause, definition: FieldDef, site: JiraSite, caller: Caller) -> Predicate:
    field_id = definition.id
    if definition.type == "datetime":
        return _date_clause(clause, lambda issue: issue.custom.get(field_id), caller)
    if definition.type == "array" and definition.items == "sd-customerorganization":

        def resolve_org(text: str) -> str:
            if text.isdigit() and int(text) in site.organizations:
                return text
            for org in site.organizations.values():
                if org.name.lower() == text.lower():
                    return str(org.id)
            raise JqlError(f"The value '{text}' does not exist for the field '{definition.name}'.")

        return _multi_clause(
            clause, lambda issue: [str(v) for v in issue.custom.get(field_id) or []], resolve_org
        )
    if definition.type == "array":
        return _multi_clause(
            clause,
            lambda issue: [str(v) for v in issue.custom.get(field_id) or []],
            (lambda text: _resolve_option(definition, text))
            if definition.items == "option"
            else (lambda t: t),
        )
    if definition.type == "option":
        return _single_clause(
            clause, lambda issue: issue.custom.get(field_id), lambda t: _resolve_option(definition, t), caller
        )
    if definition.type == "user":
        return _single_clause(
            clause,
            lambda issue: issue.custom.get(field_id),
            lambda t: _resolve_user(site, t, definition.name),
            caller,
        )
    if definition.type == "number":
        return _number_clause(clause, lambda issue: issue.custom.get(field_id))
    op = clause.operator.lower()
    if op in ("~", "!~"):
        operand = clause.operands[0]
        needle = operand.text.lower() if isinstance(operand, Literal) else ""
        if op == "~":
            return lambda issue: needle in str(issue.custom.get(field_id) or "").lower()
        return lambda issue: needle not in str(issue.custom.get(field_id) or "").lower()
    return _single_clause(clause, lambda issue: issue.custom.get(field_id), lambda t: t, caller)


def _resolve_option(definition: FieldDef, text: str) -> str:
    if text in definition.options:
        return text
    for option_id, value in definition.options.items():
        if value.lower() == text.lower():
            return option_id
    raise JqlError(f"The option '{text}' for field '{definition.name}' does not exist.")


def _number_clause(clause: Clause, getter: Callable[[Issue], Any]) -> Predicate:
    op = clause.operator.lower()
    if op in ("is", "is not"):
        empty = op == "is"
        return lambda issue: (getter(issue) is None) == empty
    operand = clause.operands[0]
    if not isinstance(operand, Literal):
        raise _unsupported(clause.field, op)
    try:
        pivot = float(operand.text)
    except ValueError as exc:
        raise JqlError(
            f"The value '{operand.text}' is not a valid number for field '{clause.field}'."
        ) from exc
    checks: dict[str, Callable[[float], bool]] = {
        "=": lambda v: v == pivot,
        "!=": lambda v: v != pivot,
        ">": lambda v: v > pivot,
        ">=": lambda v: v >= pivot,
        "<": lambda v: v < pivot,
        "<=": lambda v: v <= pivot,
    }
    if op not in checks:
        raise _unsupported(clause.field, op)
    check = checks[op]
    return lambda issue: getter(issue) is not None and check(float(getter(issue)))


# -- dates ------------------------------------------------------------------------------------------


def date_range(operand: Operand, caller: Caller, field_name: str) -> tuple[int, int]:
    """The half-open millisecond range `[low, high)` an operand denotes for `field_name`."""
    invalid = JqlError(
        f"Date value '{_describe(operand)}' for field '{field_name}' is invalid. Valid formats include: "
        "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format "
        "e.g. '-5d', '4w 2d'."
    )
    zone = ZoneInfo(caller.time_zone)
    if isinstance(operand, Function):
        return _date_function(operand, caller, zone, field_name)
    if operand is None:
        raise invalid
    text = operand.text.strip()
    if re.fullmatch(r"-?\d+", text):
        instant = int(text)
        return (instant, instant + 1)
    relative = _RELATIVE.match(text)
    if relative:
        sign = -1 if relative.group(1) == "-" else 1
        instant = caller.now_ms + sign * int(relative.group(2)) * _UNIT_MS[relative.group(3).lower()]
        return (instant, instant + 1)
    for fmt in _DATE_FORMATS:
        try:
            local = datetime.strptime(text, fmt).replace(tzinfo=zone)
        except ValueError:
            continue
        width = timedelta(minutes=1) if "%H" in fmt else timedelta(days=1)
        low = int(local.timestamp() * 1000)
        high = int((local + width).timestamp() * 1000)
        return (low, high)
    raise invalid


def _describe(operand: Operand) -> str:
    if isinstance(operand, Literal):
        return operand.text
    if isinstance(operand, Function):
        return f"{operand.name}({', '.join(operand.args)})"
    return "EMPTY"


def _date_function(function: Function, caller: Caller, zone: ZoneInfo, field_name: str) -> tuple[int, int]:
    name = function.name.lower()
    now_local = datetime.fromtimestamp(caller.now_ms / 1000, zone)
    offset_days = 0
    if function.args:
        match = _RELATIVE.match(function.args[0])
        if match is None or match.group(3).lower() != "d":
            raise JqlError(f"Unable to find JQL function '{function.name}({', '.join(function.args)})'.")
        offset_days = (-1 if match.group(1) == "-" else 1) * int(match.group(2))
    day_start = now_local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=offset_days)
    if name == "now":
        return (caller.now_ms, caller.now_ms + 1)
    if name == "startofday":
        instant = int(day_start.timestamp() * 1000)
        return (instant, instant + 1)
    if name == "endofday":
        instant = int((day_start + timedelta(days=1)).timestamp() * 1000) - 1
        return (instant, instant + 1)
    if name == "startofweek":
        start = day_start - timedelta(days=(day_start.weekday() + 1) % 7)
        instant = int(start.timestamp() * 1000)
        return (instant, instant + 1)
    raise JqlError(
        f"Unable to find JQL function '{function.name}({', '.join(function.args)})' for '{field_name}'."
    )


def _date_clause(clause: Clause, getter: Callable[[Issue], int | None], caller: Caller) -> Predicate:
    op = clause.operator.lower()
    if op in ("is", "is not"):
        empty = op == "is"
        return lambda issue: (getter(issue) is None) == empty
    if op in ("in", "not in"):
        ranges = [date_range(operand, caller, clause.field) for operand in clause.operands]
        inside = op == "in"
        return lambda issue: _in_ranges(getter(issue), ranges) == inside
    if op not in ("=", "!=", ">", ">=", "<", "<="):
        raise _unsupported(clause.field, op)
    low, high = date_range(clause.operands[0], caller, clause.field)
    tests: dict[str, Callable[[int], bool]] = {
        "=": lambda t: low <= t < high,
        "!=": lambda t: not low <= t < high,
        ">": lambda t: t >= high,
        ">=": lambda t: t >= low,
        "<": lambda t: t < low,
        "<=": lambda t: t < high,
    }
    test = tests[op]

    def predicate(issue: Issue) -> bool:
        value = getter(issue)
        return value is not None and test(value)

    return predicate


def _in_ranges(value: int | None, ranges: list[tuple[int, int]]) -> bool:
    return value is not None and any(low <= value < high for low, high in ranges)


def _updated_lower_bound(node: Node | None, site: JiraSite, caller: Caller) -> int | None:
    """The smallest `updated` any match can have, from `updated >= / > / =` in the top-level AND."""
    if node is None:
        return None
    clauses: list[Node] = list(node.items) if isinstance(node, And) else [node]
    bound: int | None = None
    for item in clauses:
        if not isinstance(item, Clause) or item.field.lower() not in ("updated", "updateddate"):
            continue
        if item.operator not in (">=", ">", "="):
            continue
        low, high = date_range(item.operands[0], caller, item.field)
        candidate = high if item.operator == ">" else low
        bound = candidate if bound is None else max(bound, candidate)
    return bound


# ---------------------------------------------------------------------------------------------------
# Ordering

_ORDER_FIELDS = {
    "updated": "updated",
    "updateddate": "updated",
    "created": "created",
    "createddate": "created",
    "key": "key",
    "issuekey": "key",
    "id": "id",
    "priority": "priority",
    "status": "status",
    "summary": "summary",
    "resolved": "resolved",
    "resolutiondate": "resolved",
}


def _canonical_order_field(name: str) -> str:
    canonical = _ORDER_FIELDS.get(name.lower())
    if canonical is None:
        raise JqlError(f"Not able to sort using field '{name}'.")
    return canonical


def raw_sort_key(issue: Issue, order: Sequence[tuple[str, bool]], site: JiraSite) -> list[Any]:
    """Primitive sort values (ascending sense) for the ORDER BY fields, then key and id as the
    tie-break that makes the order total (needed for stable `nextPageToken` positions)."""
    values: list[Any] = []
    for name, _ascending in order:
        canonical = _canonical_order_field(name)
        if canonical == "updated":
            values.append(issue.updated_ms)
        elif canonical == "created":
            values.append(issue.created_ms)
        elif canonical == "key":
            values.extend([issue.project.key, issue.number])
        elif canonical == "id":
            values.append(issue.id)
        elif canonical == "priority":
            ids = [p.id for p in site.priorities]
            values.append(ids.index(issue.priority_id) if issue.priority_id in ids else len(ids))
        elif canonical == "status":
            values.append(site.statuses[issue.status_id].name.lower())
        elif canonical == "summary":
            values.append(issue.summary.lower())
        elif canonical == "resolved":
            values.append(issue.resolution_ms if issue.resolution_ms is not None else -1)
    values.extend([issue.project.key, issue.number, issue.id])
    return values


class _Desc:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Desc) -> bool:
        return bool(other.value < self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and bool(self.value == other.value)

    def __hash__(self) -> int:
        return hash(self.value)


def comparable(raw: Sequence[Any], order: Sequence[tuple[str, bool]]) -> tuple[Any, ...]:
    """Wrap descending positions of a raw sort key so tuples compare in result order."""
    directions: list[bool] = []
    for name, ascending in order:
        width = 2 if _canonical_order_field(name) == "key" else 1
        directions.extend([ascending] * width)
    directions.extend([True, True, True])
    return tuple(
        value if ascending else _Desc(value) for value, ascending in zip(raw, directions, strict=True)
    )
