"""Reading and writing config files: .json, .yaml/.yml, .pickle, .toml."""

from __future__ import annotations

import os
import sys
from typing import Any

from sacred.exceptions import ConfigFileError, ConfigFileNotFoundError

__all__ = ["load_config_file", "save_config_file", "SUPPORTED_EXTENSIONS", "is_config_file"]

SUPPORTED_EXTENSIONS = (".json", ".yaml", ".yml", ".pickle", ".toml")


def _extension(filename: str) -> str:
    ext = os.path.splitext(filename)[1].lower()
    if ext not in SUPPORTED_EXTENSIONS:
        raise ConfigFileError(
            f'Config file "{filename}" has an unsupported extension {ext or "(none)"!r}; '
            f"use one of {', '.join(SUPPORTED_EXTENSIONS)}."
        )
    return ext


def is_config_file(name: str) -> bool:
    """True when name is an existing file with a supported config extension."""
    return os.path.splitext(name)[1].lower() in SUPPORTED_EXTENSIONS and os.path.isfile(name)


def load_config_file(filename: str | os.PathLike) -> dict:
    """The dict stored in a config file; ConfigFileError says what is wrong otherwise."""
    filename = os.fspath(filename)
    ext = _extension(filename)
    if not os.path.isfile(filename):
        raise ConfigFileNotFoundError(
            f'Config file "{filename}" does not exist (relative paths are taken from the '
            f"working directory {os.getcwd()!r})."
        )
    try:
        if ext == ".json":
            import json

            with open(filename, encoding="utf-8") as f:
                data: Any = json.load(f)
        elif ext in (".yaml", ".yml"):
            import yaml

            with open(filename, encoding="utf-8") as f:
                data = yaml.safe_load(f)
        elif ext == ".toml":
            if sys.version_info >= (3, 11):
                import tomllib
            else:  # pragma: no cover - tomllib's predecessor, the same API
                import tomli as tomllib

            with open(filename, "rb") as f:
                data = tomllib.load(f)
        else:
            import pickle

            with open(filename, "rb") as f:
                data = pickle.load(f)
    except ConfigFileError:
        raise
    except Exception as exc:
        raise ConfigFileError(
            f'Config file "{filename}" could not be read as {ext[1:]}: {exc}'
        ) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigFileError(
            f'Config file "{filename}" must contain a mapping of entries, '
            f"not a {type(data).__name__}."
        )
    return data


def save_config_file(config: dict, filename: str | os.PathLike) -> None:
    """Write config to filename in the format given by its extension."""
    filename = os.fspath(filename)
    ext = _extension(filename)
    if ext == ".json":
        import json

        with open(filename, "w", encoding="utf-8") as f:
            json.dump(config, f, indent=2, sort_keys=True)
            f.write("\n")
    elif ext in (".yaml", ".yml"):
        import yaml

        with open(filename, "w", encoding="utf-8") as f:
            yaml.safe_dump(config, f, default_flow_style=False)
    elif ext == ".toml":
        try:
            import tomli_w
        except ImportError as exc:
            raise ConfigFileError(
                "Writing .toml config files needs the tomli-w package: pip install tomli-w"
            ) from exc
        with open(filename, "wb") as f:
            tomli_w.dump(_without_none(config), f)
    else:
        import pickle

        with open(filename, "wb") as f:
            pickle.dump(config, f)


def _without_none(value: Any) -> Any:
    # TOML has no null: entries that are None are left out.
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value
