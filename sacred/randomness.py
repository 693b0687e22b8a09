"""Seeds and random number generators derived from the run's root seed.

``derive_seed(root_seed, *names)`` gives every captured function its own stream
(independent of the order in which functions are called); each call draws a new
``_seed`` from it and ``_rnd`` is a generator seeded with that ``_seed``.

``set_global_seed`` seeds ``random`` at once, and numpy, torch and tensorflow at once
when they are imported already, or else right after they are first imported:
importing numpy only to seed it would cost every run 80+ ms of start-up.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import random
import sys
from typing import Any

from sacred.settings import SETTINGS

__all__ = ["get_seed", "create_rnd", "derive_seed", "set_global_seed", "SEEDRANGE"]

SEEDRANGE = (1, 2**31 - 1)
_numpy_available: bool | None = None


def _has_numpy() -> bool:
    global _numpy_available
    if _numpy_available is None:
        if "numpy" in sys.modules:  # None there means "blocked", as importlib treats it
            _numpy_available = sys.modules["numpy"] is not None
        else:
            _numpy_available = importlib.util.find_spec("numpy") is not None
    return _numpy_available


def get_seed(rnd: Any = None) -> int:
    """A new seed: drawn from rnd (random.Random or numpy) or, without one, at random."""
    if rnd is None:
        return random.SystemRandom().randint(*SEEDRANGE)
    if isinstance(rnd, random.Random):
        return rnd.randint(*SEEDRANGE)
    return int(rnd.randint(SEEDRANGE[0], SEEDRANGE[1]))


def derive_seed(root_seed: int, *names: str) -> int:
    """A seed for a named part of a run; stable across processes and Python versions."""
    import hashlib

    text = "\x1f".join([str(root_seed), *names]).encode("utf-8")
    digest = hashlib.sha256(text).digest()
    return int.from_bytes(digest[:8], "big") % (SEEDRANGE[1] - 1) + 1


_GENERATOR_CLASS: Any = None


def _generator_class() -> Any:
    global _GENERATOR_CLASS
    if _GENERATOR_CLASS is None:
        import numpy as np

        class Generator(np.random.Generator):
            """numpy's Generator plus ``randint`` with RandomState's meaning (high is
            exclusive), so the documented ``_rnd.randint(1, 100)`` works."""

            def randint(
                self, low: int, high: int | None = None, size: Any = None, dtype: Any = int
            ) -> Any:
                return self.integers(low, high, size=size, dtype=dtype)

        _GENERATOR_CLASS = Generator
    return _GENERATOR_CLASS


def create_rnd(seed: int) -> Any:
    """A generator seeded with seed: numpy's Generator (RandomState when
    SETTINGS.NUMPY_RANDOM_LEGACY_API) if numpy is installed, else random.Random."""
    if _has_numpy():
        import numpy as np

        if SETTINGS.NUMPY_RANDOM_LEGACY_API:
            return np.random.RandomState(seed % 2**32)
        return _generator_class()(np.random.PCG64(seed))
    return random.Random(seed)


# -- global seeding -----------------------------------------------------------------------


def _seed_numpy(module: Any, seed: int) -> None:
    module.random.seed(seed % 2**32)


def _seed_torch(module: Any, seed: int) -> None:
    module.manual_seed(seed)


def _seed_tensorflow(module: Any, seed: int) -> None:
    if hasattr(module, "random") and hasattr(module.random, "set_seed"):
        module.random.set_seed(seed)
    elif hasattr(module, "set_random_seed"):
        module.set_random_seed(seed)


_SEEDERS = {"numpy": _seed_numpy, "torch": _seed_torch, "tensorflow": _seed_tensorflow}


def _seed_module(name: str, module: Any, seed: int) -> None:
    try:
        _SEEDERS[name](module, seed)
    except Exception:  # a library that cannot be seeded must not break the run
        pass


class _SeedingLoader(importlib.abc.Loader):
    def __init__(self, loader: Any, name: str, finder: _SeedOnImport) -> None:
        self._loader = loader
        self._name = name
        self._finder = finder

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._loader.exec_module(module)
        if self._finder.seed is not None:
            _seed_module(self._name, module, self._finder.seed)

    def __getattr__(self, item: str) -> Any:
        return getattr(self._loader, item)


class _SeedOnImport(importlib.abc.MetaPathFinder):
    """Seeds numpy/torch/tensorflow right after their first import."""

    def __init__(self) -> None:
        self.seed: int | None = None
        self._busy = False

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname not in _SEEDERS or self.seed is None or self._busy:
            return None
        self._busy = True
        try:
            spec = importlib.util.find_spec(fullname)
        except (ImportError, ValueError):
            spec = None
        finally:
            self._busy = False
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        spec.loader = _SeedingLoader(spec.loader, fullname, self)
        return spec


_finder = _SeedOnImport()


def set_global_seed(seed: int) -> None:
    """Seed random now, and numpy/torch/tensorflow now or as soon as they are imported."""
    random.seed(seed)
    _finder.seed = seed
    for name, module in list(sys.modules.items()):
        if name in _SEEDERS and module is not None:
            _seed_module(name, module, seed)
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)
