"""Every import path the documentation names exists (the documented API is the contract),
and `import sacred` stays light."""

from __future__ import annotations

import importlib
import subprocess
import sys
import types

import pytest

import sacred

DOCUMENTED_PATHS = [
    "sacred.Experiment",
    "sacred.Ingredient",
    "sacred.SETTINGS",
    "sacred.cli_option",
    "sacred.host_info_gatherer",
    "sacred.__version__",
    "sacred.utils",
    "sacred.utils.apply_backspaces_and_linefeeds",
    "sacred.utils.SacredInterrupt",
    "sacred.utils.TimeoutInterrupt",
    "sacred.utils.MissingConfigError",
    "sacred.utils.NamedConfigNotFoundError",
    "sacred.utils.ConfigAddedError",
    "sacred.utils.ConfigError",
    "sacred.utils.InvalidConfigError",
    "sacred.utils.ReadOnlyConfigError",
    "sacred.utils.CircularDependencyError",
    "sacred.utils.SacredError",
    "sacred.settings.SettingError",
    "sacred.settings.SettingsError",
    "sacred.settings.SETTINGS",
    "sacred.run.Run",
    "sacred.ingredient.Ingredient",
    "sacred.experiment.Experiment",
    "sacred.host_info.get_host_info",
    "sacred.host_info.host_info_getter",
    "sacred.host_info.host_info_gatherers",
    "sacred.host_info.HostInfoGetter",
    "sacred.commandline_options.CLIOption",
    "sacred.config.config_scope.ConfigScope",
    "sacred.config.config_dict.ConfigDict",
    "sacred.observer.RunObserver",
    "sacred.observers.RunObserver",
    "sacred.observers.MongoObserver",
    "sacred.observers.QueuedMongoObserver",
    "sacred.observers.FileStorageObserver",
    "sacred.observers.QueueObserver",
    "sacred.observers.TinyDbObserver",
    "sacred.observers.TinyDbReader",
    "sacred.observers.SqlObserver",
    "sacred.observers.S3Observer",
    "sacred.observers.GoogleCloudStorageObserver",
    "sacred.observers.SlackObserver",
    "sacred.observers.TelegramObserver",
    "sacred.observers.tinydb_hashfs",
    "sacred.stflow.LogFileWriter",
    "sacred.store.open_store",
]


def _resolve(path: str):
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            obj = getattr(obj, attribute)
        return obj
    raise ImportError(path)


@pytest.mark.parametrize("path", DOCUMENTED_PATHS)
def test_documented_import_path_exists(path):
    assert _resolve(path) is not None


# The packages whose ``__all__`` must list exactly their public names (httpx's
# tests/test_exported_members.py is the model). Other work adds names to these
# packages: the test compares ``__all__`` with what the module really has, so a new
# name must be added to ``__all__`` (or made private) to pass, and nothing is frozen.
EXACT_ALL = ["sacred", "sacred.observers", "sacred.store", "labwatch", "labwatch.optimizers"]
# Dunder names that are public by convention, as httpx allows ``__version__``.
PUBLIC_DUNDERS = {"__version__"}


def _is_future_feature(value: object) -> bool:
    """``from __future__ import annotations`` binds ``annotations``: not an API name."""
    import __future__

    return isinstance(value, __future__._Feature)


def _public_names(module: types.ModuleType) -> set[str]:
    """Names a user can import from ``module``: not private, not one of its
    submodules (``sacred.store.query`` is reached by its path, not re-exported)."""
    names = set()
    for name in dir(module):  # dir() includes the names a PEP 562 module makes lazily
        if name.startswith("_") and name not in PUBLIC_DUNDERS:
            continue
        value = getattr(module, name, None)
        if isinstance(value, types.ModuleType) or _is_future_feature(value):
            continue
        names.add(name)
    return names


@pytest.mark.parametrize("module_name", EXACT_ALL)
def test_all_lists_exactly_the_public_names(module_name):
    module = importlib.import_module(module_name)
    exported = list(module.__all__)
    assert len(exported) == len(set(exported)), "a name is listed twice in __all__"
    for name in exported:  # every listed name resolves (also the lazy ones)
        assert hasattr(module, name), f"{module_name}.__all__ lists {name!r}, which is missing"
    submodules = {
        name
        for name in exported
        if isinstance(getattr(module, name), types.ModuleType)
        and getattr(module, name).__name__ == f"{module_name}.{name}"
    }
    assert set(exported) - submodules == _public_names(module)


def test_the_documented_names_are_in_sacreds_all():
    assert set(sacred.__all__) >= {
        "Experiment",
        "Ingredient",
        "SETTINGS",
        "cli_option",
        "host_info_gatherer",
        "__version__",
    }


def test_the_exact_all_check_catches_a_name_missing_from_all():
    """The check above is no superset test: a stray public name fails it."""
    module = types.ModuleType("fake")
    module.__all__ = ["listed"]
    module.listed = 1
    module.stray = 2
    module._private = 3
    assert _public_names(module) == {"listed", "stray"} != set(module.__all__)


def test_import_sacred_stays_light():
    heavy = [
        "numpy",
        "pandas",
        "sqlalchemy",
        "pymongo",
        "requests",
        "git",
        "boto3",
        "mako",
        "rich",
        "tinydb",
        "yaml",
        "jsonpickle",
    ]
    code = (
        "import sys, sacred\n"
        "from sacred import Experiment\n"
        "from sacred.observers import FileStorageObserver, SqlObserver, MongoObserver\n"
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_hello_world_run_imports_only_what_it_needs(tmp_path):
    """The start-up budget (bench/bench_startup.py) depends on these staying lazy:
    config files, hashing, suggestions and dataclasses are for runs that use them."""
    script = tmp_path / "hello.py"
    script.write_text(
        "import sys\n"
        "from sacred import Experiment\n"
        "ex = Experiment('hello')\n"
        "@ex.main\n"
        "def main():\n"
        "    return 1\n"
        "ex.run_commandline([sys.argv[0], '-l', 'ERROR'])\n"
        "lazy = ['json', 'pickle', 'hashlib', 'difflib', 'dataclasses', 'shlex',\n"
        "        'sacred.dependencies', 'sacred.host_info', 'subprocess']\n"
        "print([m for m in lazy if m in sys.modules])\n"
    )
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert out.stdout.strip() == "[]"


def test_utils_reexports_the_same_error_classes():
    import sacred.exceptions
    import sacred.utils

    for name in ("SacredInterrupt", "TimeoutInterrupt", "ConfigAddedError", "MissingConfigError"):
        assert getattr(sacred.utils, name) is getattr(sacred.exceptions, name)


def test_settings_survive_deepcopy_and_pickle():
    import copy
    import pickle

    sacred.SETTINGS.CONFIG.READ_ONLY_CONFIG = False
    sacred.SETTINGS.HOST_INFO.CAPTURED_ENV = ["HOME"]
    for twin in (copy.deepcopy(sacred.SETTINGS), pickle.loads(pickle.dumps(sacred.SETTINGS))):
        assert twin == sacred.SETTINGS
        assert twin.CONFIG.READ_ONLY_CONFIG is False
        twin.HOST_INFO.CAPTURED_ENV.append("PATH")  # an independent copy
        twin.CONFIG.READ_ONLY_CONFIG = True
        with pytest.raises(sacred.settings.SettingError):  # still validated
            twin.CONFIG.NO_SUCH_KEY = 1
    assert sacred.SETTINGS.HOST_INFO.CAPTURED_ENV == ["HOME"]
    assert sacred.SETTINGS.CONFIG.READ_ONLY_CONFIG is False
    assert copy.copy(sacred.SETTINGS) == sacred.SETTINGS


@pytest.mark.parametrize(
    "assign, fragment",
    [
        (lambda s: setattr(s, "CONFIG", {"READ_ONLY_CONFIG": False}), "group of settings"),
        (lambda s: s.__setitem__("HOST_INFO", {}), "group of settings"),
        (lambda s: setattr(s, "CAPTURE_MOD", "sys"), "Did you mean 'CAPTURE_MODE'"),
        (lambda s: setattr(s.CONFIG, "READ_ONLY", False), "has no setting 'READ_ONLY'"),
    ],
)
def test_wrong_settings_assignments_raise_setting_error(assign, fragment):
    from sacred.settings import SettingError, SettingsError

    assert SettingsError is SettingError
    with pytest.raises(SettingError) as info:
        assign(sacred.SETTINGS)
    assert fragment in str(info.value)
    assert sacred.SETTINGS.CONFIG.READ_ONLY_CONFIG is True  # nothing was changed
