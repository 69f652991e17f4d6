"""YAML content files: parsing with line numbers, and pydantic errors mapped back to the offending line."""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from certplatform.content.tree import ContentError

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class YamlDoc:
    """A parsed YAML mapping: the plain data for pydantic and the node tree for line numbers."""

    file: str
    data: dict[str, Any]
    node: MappingNode


def read_yaml(path: Path, file: str) -> tuple[YamlDoc | None, list[ContentError]]:
    """Parse one YAML file whose top level must be a mapping; never raises for bad content."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [ContentError(file, None, f"cannot read: {exc}")]
    loader = yaml.SafeLoader(text)
    try:
        # One parse gives both: the node tree (with marks) and the data constructed from it.
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        return None, [ContentError(file, mark.line + 1 if mark else None, f"invalid YAML: {problem}")]
    except yaml.YAMLError as exc:
        return None, [ContentError(file, None, f"invalid YAML: {exc}")]
    finally:
        loader.dispose()
    if not isinstance(node, MappingNode) or not isinstance(data, dict):
        what = "empty" if node is None else f"a {type(data).__name__}"
        line = node.start_mark.line + 1 if node is not None else None
        return None, [ContentError(file, line, f"the top level must be a mapping of fields, not {what}")]
    return YamlDoc(file, data, node), _duplicate_keys(node, file)


def _duplicate_keys(node: Node, file: str) -> list[ContentError]:
    # PyYAML silently keeps the last of two equal keys: the first value would vanish without a word.
    errors: list[ContentError] = []
    if isinstance(node, MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, ScalarNode):
                if key.value in seen:
                    errors.append(ContentError(file, _line(key), f"duplicate key {key.value!r}"))
                seen.add(key.value)
            errors += _duplicate_keys(value, file)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            errors += _duplicate_keys(item, file)
    return errors


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def line_of(root: Node, path: tuple[str | int, ...]) -> int:
    """Line of the node at `path`, or of its closest existing parent (a missing field: its mapping).

    A mapping member is located at its key's line (`title:`, not the first line of its nested mapping).
    """
    node: Node = root
    line = _line(root)
    for item in path:
        if isinstance(node, MappingNode) and isinstance(item, str):
            pair = next((kv for kv in node.value if isinstance(kv[0], ScalarNode) and kv[0].value == item), None)
            if pair is None:
                break
            node, line = pair[1], _line(pair[0])
        elif isinstance(node, SequenceNode) and isinstance(item, int) and 0 <= item < len(node.value):
            node = node.value[item]
            line = _line(node)
        else:
            break
    return line


def find_scalar(root: Node, path: tuple[str | int, ...]) -> ScalarNode | None:
    """The scalar node at `path`, if the file has one there."""
    node: Node | None = root
    for item in path:
        if isinstance(node, MappingNode) and isinstance(item, str):
            node = next((v for k, v in node.value if isinstance(k, ScalarNode) and k.value == item), None)
        elif isinstance(node, SequenceNode) and isinstance(item, int) and 0 <= item < len(node.value):
            node = node.value[item]
        else:
            return None
    return node if isinstance(node, ScalarNode) else None


def validate(doc: YamlDoc, model: type[M]) -> tuple[M | None, list[ContentError]]:
    """Validate `doc` against `model`, each pydantic error located at the line of the offending key."""
    try:
        return model.model_validate(doc.data), []
    except ValidationError as exc:
        return None, _located(doc, model, exc)


def _located(doc: YamlDoc, model: type[BaseModel], exc: ValidationError) -> list[ContentError]:
    errors: list[ContentError] = []
    unions: dict[tuple[str | int, ...], list[tuple[tuple[str | int, ...], str]]] = {}
    for err in exc.errors(include_url=False):
        path, at_model, union_at = _strip_union_tags(model, tuple(err["loc"]))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            *parent, name = path
            errors.append(ContentError(doc.file, line_of(doc.node, path), _at(parent, f"unknown field {name!r}")))
            continue
        if union_at is not None:
            unions.setdefault(union_at, []).append((path, msg))
            continue
        if err["type"] == "value_error" and at_model is not None:
            # A model validator's error is located at the model; point at the field its message is about.
            path = path + _field_named_in(at_model, msg)
        errors.append(ContentError(doc.file, line_of(doc.node, path), _at(path, msg)))
    for at, group in unions.items():
        # Errors from inside a member mean the value had that member's shape: they are the useful ones.
        # Otherwise the value fits none of the forms: one error, not one per form.
        deeper = [(path, msg) for path, msg in group if len(path) > len(at)]
        if not deeper:
            msgs = [msg for _, msg in group]
            text = msgs[0] if len(msgs) == 1 else "fits none of the accepted forms: " + "; ".join(msgs)
            deeper = [(at, text)]
        errors += [ContentError(doc.file, line_of(doc.node, path), _at(path, msg)) for path, msg in deeper]
    return errors


def _at(path: typing.Sequence[str | int], msg: str) -> str:
    where = ""
    for item in path:
        where += f"[{item}]" if isinstance(item, int) else (f".{item}" if where else str(item))
    return f"{where}: {msg}" if where else msg


def _field_named_in(model: type[BaseModel], msg: str) -> tuple[str, ...]:
    """The first field of `model` that `msg` names, singular or plural ("no correct answer" -> answer)."""
    words = re.findall(r"[a-z_]+", msg.lower())
    for word in words:
        for name in model.model_fields:
            if word in (name, name.removesuffix("s")):
                return (name,)
    return ()


def _strip_union_tags(
    model: type[BaseModel], loc: tuple[str | int, ...]
) -> tuple[tuple[str | int, ...], type[BaseModel] | None, tuple[str | int, ...] | None]:
    """Drop pydantic's union-member tags from `loc` (`answer.NumericAnswer.value` -> `answer.value`).

    Returns the clean path, the model class the path ends at (if any), and where the first union was met
    when a tag was dropped (its errors are merged into one).
    """
    ann: Any = model
    out: list[str | int] = []
    union_at: tuple[str | int, ...] | None = None
    items = list(loc)
    while items:
        ann = _unwrap(ann)
        item = items.pop(0)
        members = _union_members(ann)
        if members:
            union_at = union_at or tuple(out)
            ann = next((m for m in members if _type_name(m) == item), None)
            continue
        out.append(item)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            field = ann.model_fields.get(item) if isinstance(item, str) else None
            ann = field.annotation if field else None
        elif typing.get_origin(ann) is list:
            ann = typing.get_args(ann)[0]
        else:
            ann = None
    ann = _unwrap(ann)
    end = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
    return tuple(out), end, union_at


def _unwrap(ann: Any) -> Any:
    """Annotated[X, ...] -> X and X | None -> X: neither adds a level to pydantic's error locations."""
    while True:
        if typing.get_origin(ann) is typing.Annotated:
            ann = typing.get_args(ann)[0]
            continue
        members = _union_args(ann)
        if members and type(None) in members and len(members) == 2:
            ann = next(m for m in members if m is not type(None))
            continue
        return ann


def _union_args(ann: Any) -> tuple[Any, ...]:
    origin = typing.get_origin(ann)
    return typing.get_args(ann) if origin in (typing.Union, types.UnionType) else ()


def _union_members(ann: Any) -> tuple[Any, ...]:
    members = tuple(m for m in _union_args(ann) if m is not type(None))
    return members if len(members) > 1 else ()


def _type_name(ann: Any) -> str:
    return ann.__name__ if isinstance(ann, type) else str(ann)
