"""What `sam local invoke` users type, read the way SAM CLI reads it (aws/aws-sam-cli, cited in
docs/local-cloud.md): `--parameter-overrides` in both of SAM's syntaxes, and the `--env-vars` JSON file
(`Parameters` for every function, then one object per function)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

# samcli/cli/types.py (CfnParameterOverridesType): a key is letters, digits and quotes; a value is a quoted
# string or a run of characters without an unescaped space.
_KEY = r"""([A-Za-z0-9\"']+)"""
_VALUE = r"""("(?:\\.|[^"\\]+)*"|'(?:\\.|[^'\\]+)*'|(?:\\.|[^ "\\]+)+)"""
_LONG_FORM = re.compile(rf"(?:ParameterKey={_KEY},ParameterValue={_VALUE})")
_SHORT_FORM = re.compile(rf"(?:(?: ){_KEY}={_VALUE})")
EXAMPLES = "'ParameterKey=Stage,ParameterValue=dev ParameterKey=OnCallEmail,ParameterValue=x' or 'Stage=dev Foo=bar'"


class SamInputError(ValueError):
    """A value SAM CLI would refuse too: the message names the option."""


def _unquote(value: str) -> str:
    """samcli's _unquote_wrapped_quotes: drop wrapping quotes, unescape `\\ `, `\\"` and `\\'`."""
    if value and value[0] == value[-1] and value[0] in ("'", '"'):
        value = value[1:-1]
    return value.replace("\\ ", " ").replace('\\"', '"').replace("\\'", "'")


def parse_parameter_overrides(values: Iterable[str]) -> dict[str, str]:
    """`Key=Value Key2=Value2` or `ParameterKey=K,ParameterValue=V ...`, given as one or several arguments.
    As in SAM CLI, the long form is tried first and a value in neither form is refused."""
    parameters: dict[str, str] = {}
    for value in values:
        if not value.strip():
            continue
        normalized = " " + value.strip()
        for pattern in (_LONG_FORM, _SHORT_FORM):
            pairs = pattern.findall(normalized)
            if pairs:
                parameters.update(pairs)
                break
        else:
            raise SamInputError(f"--parameter-overrides: {value!r} is not a valid format; it must look like {EXAMPLES}")
    return {_unquote(key): _unquote(item) for key, item in parameters.items()}


def read_env_vars(path: Path) -> dict[str, dict[str, Any]]:
    """The `--env-vars` file: `{"Parameters": {...}, "<function>": {...}}`; every value must be an object
    (SAM CLI raises OverridesNotWellDefinedError otherwise)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SamInputError(f"--env-vars: {path}: no such file") from exc
    except json.JSONDecodeError as exc:
        raise SamInputError(f"--env-vars: {path}: not valid JSON: {exc.msg} (line {exc.lineno})") from exc
    if not isinstance(document, dict):
        raise SamInputError(f"--env-vars: {path}: expected a JSON object of objects")
    for key, value in document.items():
        if not isinstance(value, dict):
            raise SamInputError(f"--env-vars: {path}: Environment variables {key!r} in incorrect format")
    return document


def _stringify(value: Any) -> str:
    """samcli/local/lambdafn/env_vars.py `_stringify_value`: objects, lists and null become "", booleans
    "true"/"false", anything else str()."""
    if isinstance(value, dict | list | tuple) or value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def function_environment(
    declared: Mapping[str, str], env_vars: Mapping[str, Mapping[str, Any]], identifiers: Iterable[str]
) -> dict[str, str]:
    """The function's variables after `--env-vars`, as SAM CLI resolves them: only variables the template
    declares are set; `Parameters` applies to every function, the function's own object (first found among
    logical id, function id, function name) wins over it. Names the template does not declare are ignored."""
    overrides: dict[str, Any] = dict(env_vars.get("Parameters", {}))
    own = next((env_vars[name] for name in identifiers if env_vars.get(name)), None)
    if own:
        overrides.update(own)
    return {name: _stringify(overrides[name]) if name in overrides else value for name, value in declared.items()}
