"""Named configs whose values are claimed when a run is created.

A search space of labwatch is used like a named config (``with search_space``),
but its values are not a function of the configuration: they are a *claim* on a
shared study (an optimizer's suggestion, recorded as a queued run so that no other
process suggests from the same state). That is a step of creating a run, not of
evaluating configuration, so it happens here, before the configuration process:

1. ``Experiment._create_run`` meets a named config that is a :class:`ClaimedConfig`;
2. it calls its :meth:`~ClaimedConfig.claim` with the command, the updates and the
   options of the run being created, and gets a :class:`ClaimedStart`;
3. the claimed values enter the configuration as a mapping in the named config's
   place (the way ``--resume`` feeds a stored configuration), the run starts under
   the claimed record's id (its observers take the queued record over), and the
   claim's meta entries go into the run's meta.

Configuration evaluation stays pure: nothing here is called while configuration is
resolved. When creating the run fails after the claim, :meth:`ClaimedConfig.release`
gives the claim back.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["ClaimedConfig", "ClaimedStart", "claim_named_configs"]


class ClaimedStart:
    """What a claim hands to the run being created.

    ``config``: the values (a nested mapping, ``seed`` included when the claim chose
    it), entering the configuration in the named config's place. ``run_id``: the id
    of the record the claim wrote (None: the run records itself as usual).
    ``meta``: entries for the run's ``meta_info``.
    """

    def __init__(self, config: Mapping, run_id: Any = None, meta: Mapping | None = None) -> None:
        self.config = dict(config)
        self.run_id = run_id
        self.meta = dict(meta or {})

    def __repr__(self) -> str:
        return f"ClaimedStart(run_id={self.run_id!r}, config={self.config!r})"


class ClaimedConfig(ABC):
    """A named config whose values are claimed when a run is created (see the module)."""

    docstring: str = ""

    @abstractmethod
    def claim(
        self,
        experiment: Any,
        command_name: str,
        config_updates: Mapping,
        options: Mapping[str, Any],
    ) -> ClaimedStart:
        """Claim the values of a run of ``command_name`` about to be created with
        these updates and options (``--unobserved``, ``--queue``, ``--id`` ...)."""

    def release(self, claimed: ClaimedStart) -> None:  # noqa: B027 - optional hook
        """Give back a claim whose run was not created (its configuration failed)."""

    # What the configuration process would call: a claimed config is never evaluated
    # (``Experiment._create_run`` replaces it by its claim), so these say how to use it.
    def evaluate(self, *args: Any, **kwargs: Any) -> tuple[dict, dict]:
        from sacred.exceptions import ConfigError

        raise ConfigError(
            f"{self!r} is claimed when a run is created: use it through ex.run(named_configs=...) "
            "or the command line (with NAME), not inside another configuration."
        )

    def __call__(self, *args: Any, **kwargs: Any) -> dict:
        return self.evaluate()[0]


def claim_named_configs(
    experiment: Any,
    command_name: str,
    config_updates: Mapping | None,
    named_configs: Sequence[Any],
    options: Mapping[str, Any],
) -> tuple[list[Any], list[tuple[ClaimedConfig, ClaimedStart]]]:
    """The named configs with each claimed one replaced by its claim's values, and
    the claims made (to apply to the run, or to release when it is not created)."""
    out: list[Any] = []
    claims: list[tuple[ClaimedConfig, ClaimedStart]] = []
    for name in named_configs:
        entry = experiment.named_configs.get(name) if isinstance(name, str) else None
        if not isinstance(entry, ClaimedConfig):
            out.append(name)
            continue
        try:
            claimed = entry.claim(experiment, command_name, dict(config_updates or {}), options)
        except BaseException:
            release_claims(claims)
            raise
        claims.append((entry, claimed))
        out.append(claimed.config)
    return out, claims


def release_claims(claims: Sequence[tuple[ClaimedConfig, ClaimedStart]]) -> None:
    for entry, claimed in claims:
        entry.release(claimed)
