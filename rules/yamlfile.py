"""Reading the YAML data files (campaigns.yaml, units.yaml, the imported extras): a key given
twice in one mapping is refused, not silently overwritten by the second, and every error says
its line and column."""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader with one more rule: no key twice in a mapping."""


def _unique_mapping(loader: _UniqueKeyLoader, node: MappingNode) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise ConstructorError(
                None,
                None,
                f"khóa “{key}” lặp lại (đã có ở dòng {seen[key]}): xóa một trong hai",
                key_node.start_mark,
            )
        seen[key] = line
    return loader.construct_mapping(node, deep=True)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def load_yaml(text: str) -> Any:
    """Parse YAML text; raises yaml.YAMLError (explain it with `describe`)."""
    return yaml.load(text, Loader=_UniqueKeyLoader)


def describe(error: yaml.YAMLError) -> str:
    """`dòng 12, cột 3: …` in Vietnamese where PyYAML knows the place."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        problem = error.problem or "lỗi cú pháp YAML"
        if not problem.startswith("khóa"):
            problem = f"lỗi cú pháp YAML ({problem})"
        return f"dòng {mark.line + 1}, cột {mark.column + 1}: {problem}"
    return f"lỗi cú pháp YAML ({error})"
