"""Config scopes: what becomes an entry, fixed values, docs, and rejected scopes."""

from __future__ import annotations

import pytest

from sacred.config import ConfigScope
from sacred.exceptions import ConfigError, ConfigScopeError, InvalidConfigError
from sacred.settings import SETTINGS


def test_json_serializable_locals_become_entries():
    import os

    def cfg():
        a = 1
        b = 2.5
        c = "text"
        d = None
        e = True
        f = [1, (2, 3)]
        g = {"x": (1, 2)}
        module = os  # not JSON: ignored
        function = len  # ignored
        obj = object()  # ignored

    assert ConfigScope(cfg)() == {
        "a": 1,
        "b": 2.5,
        "c": "text",
        "d": None,
        "e": True,
        "f": [1, [2, 3]],
        "g": {"x": [1, 2]},
    }


def test_full_power_of_python_and_comprehensions_see_earlier_entries():
    def cfg():
        n = 3
        squares = [i * i for i in range(n)]
        lookup = {f"k{i}": i + n for i in range(2)}
        total = sum(x for x in squares if x > n - 3)
        if total > 4:
            big = True
        else:
            big = False

    assert ConfigScope(cfg)() == {
        "n": 3,
        "squares": [0, 1, 4],
        "lookup": {"k0": 3, "k1": 4},
        "total": 5,
        "big": True,
    }


def test_numpy_values_become_plain_python():
    np = pytest.importorskip("numpy")

    def cfg():
        a = np.float32(0.5)
        b = np.int64(3)
        c = np.arange(3)
        d = np.bool_(True)

    result = ConfigScope(cfg)()
    assert result == {"a": 0.5, "b": 3, "c": [0, 1, 2], "d": True}
    assert [type(v) for v in result.values()] == [float, int, list, bool]


def test_fixed_values_win_and_dependent_values_follow():
    def cfg():
        a = 10
        foo = {"a_squared": a**2, "bar": "my_string%d" % a}

    scope = ConfigScope(cfg)
    assert scope(fixed={"a": 6}) == {"a": 6, "foo": {"a_squared": 36, "bar": "my_string6"}}
    assert scope(fixed={"foo": {"bar": "baobab"}}) == {
        "a": 10,
        "foo": {"a_squared": 100, "bar": "baobab"},
    }


def test_fixed_nested_values_survive_later_changes_in_the_scope():
    def cfg():
        d = {}
        d["x"] = 1
        d.update(y=2)
        d["z"] = 3

    assert ConfigScope(cfg)(fixed={"d": {"x": 100, "y": 200}}) == {
        "d": {"x": 100, "y": 200, "z": 3},
    }


def test_parameters_read_earlier_config_and_can_be_overwritten():
    def my_config2(a):
        c = a * 2
        a = -1

    assert ConfigScope(my_config2)(preset={"a": 10}) == {"c": 20, "a": -1}


def test_parameters_not_reassigned_are_not_entries():
    def cfg(dataset):
        path = dataset["root"] + "/train"

    assert ConfigScope(cfg)(fallback={"dataset": {"root": "/data"}}) == {"path": "/data/train"}


def test_unavailable_parameter_is_a_clear_error():
    def cfg(missing):
        x = missing

    with pytest.raises(ConfigError, match="'missing'.*Available: a"):
        ConfigScope(cfg)(preset={"a": 1})


@pytest.mark.parametrize("body", ["return 1", "yield 1"])
def test_return_and_yield_are_rejected(tmp_path, body):
    import importlib.util

    path = tmp_path / f"scope_{body.split()[0]}.py"
    path.write_text(f"def cfg():\n    a = 1\n    {body}\n")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(ConfigScopeError) as info:
        ConfigScope(module.cfg)
    message = str(info.value)
    assert body.split()[0] in message and "cfg" in message and "line 3" in message


def test_nested_functions_may_return():
    def cfg():
        def helper():
            return 5

        a = helper()
        b = (lambda: 3)()

    assert ConfigScope(cfg)() == {"a": 5, "b": 3}


def test_docstring_and_comments_document_entries():
    def cfg():
        """This is my demo configuration"""
        a = 10  # some integer
        # a dictionary
        foo = {"x": 1}
        if a > 8:
            # cool: a dynamic entry
            e = a / 2
        b = 1  # pylint: disable=invalid-name
        # first line
        # second line
        c = 3

    scope = ConfigScope(cfg)
    assert scope.docstring == "This is my demo configuration"
    assert scope.docs == {
        "a": "some integer",
        "foo": "a dictionary",
        "e": "cool: a dynamic entry",
        "c": "first line second line",
    }


def test_errors_in_the_scope_point_at_the_users_line():
    def cfg():
        a = 1
        b = undefined_name  # noqa: F821

    with pytest.raises(NameError) as info:
        ConfigScope(cfg)()
    frames = [f for f in __import__("traceback").extract_tb(info.value.__traceback__)]
    assert frames[-1].filename == __file__
    assert frames[-1].line.strip().startswith("b = undefined_name")


@pytest.mark.parametrize(
    "key, setting",
    [
        ("a.b", "ENFORCE_KEYS_MONGO_COMPATIBLE"),
        ("$a", "ENFORCE_KEYS_MONGO_COMPATIBLE"),
        ("a=b", "ENFORCE_KEYS_NO_EQUALS"),
        ("py/object", "ENFORCE_KEYS_JSONPICKLE_COMPATIBLE"),
    ],
)
def test_key_restrictions_are_enforced_and_configurable(key, setting):
    def cfg():
        d = {}

    scope = ConfigScope(cfg)
    with pytest.raises(InvalidConfigError, match="d." if "." not in key else "d"):
        scope(fixed={"d": {key: 1}})
    SETTINGS.CONFIG[setting] = False
    assert scope(fixed={"d": {key: 1}}) == {"d": {key: 1}}


def test_identifier_and_string_key_restrictions_are_off_by_default():
    def cfg():
        d = {"not an identifier": 1, 3: "int key"}

    assert ConfigScope(cfg)()["d"]["not an identifier"] == 1
    SETTINGS.CONFIG.ENFORCE_VALID_PYTHON_IDENTIFIER_KEYS = True
    with pytest.raises(InvalidConfigError, match="identifier"):
        ConfigScope(cfg)()
    SETTINGS.CONFIG.ENFORCE_VALID_PYTHON_IDENTIFIER_KEYS = False
    SETTINGS.CONFIG.ENFORCE_STRING_KEYS = True
    with pytest.raises(InvalidConfigError, match="not a string"):
        ConfigScope(cfg)()
