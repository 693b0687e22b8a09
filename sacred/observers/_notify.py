"""Shared parts of the notification observers (Slack, Telegram): message templates
filled from the run, and reading their configuration files."""

from __future__ import annotations

import datetime
from typing import Any

from sacred.observers.base import RunObserver, td_format

__all__ = ["NotifyingObserver"]


class _Missing(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class NotifyingObserver(RunObserver):
    """Keeps what a message template can use: ``ex_info`` (and ``experiment``),
    ``command``, ``config``, ``host_info``, ``meta_info``, ``run_id``, ``start_time``,
    ``stop_time``, ``elapsed_time``, ``status``, ``result`` and ``error``."""

    TEMPLATE_KEYS = ("completed_text", "interrupted_text", "failed_text", "started_text")

    def __init__(self) -> None:
        self.run: dict[str, Any] = {}

    @classmethod
    def _read_config(cls, filename: str) -> dict:
        from sacred.config import load_config_file

        return dict(load_config_file(filename))

    def started_event(self, ex_info, command, host_info, start_time, config, meta_info, _id):
        self.run = {
            "ex_info": ex_info,
            "experiment": ex_info,
            "command": command,
            "host_info": host_info,
            "config": config,
            "meta_info": meta_info,
            "run_id": _id,
            "start_time": start_time,
        }
        self._notify("started", start_time)
        return None

    def _fields(self, stop_time: datetime.datetime | None, **extra: Any) -> dict:
        fields = dict(self.run)
        fields.update(extra)
        start = self.run.get("start_time")
        if stop_time is not None and start is not None:
            fields["stop_time"] = stop_time
            fields["elapsed_time"] = td_format(stop_time - start)
        else:
            fields.setdefault("elapsed_time", "0:00:00")
        return fields

    def render(self, template: str | None, fields: dict) -> str | None:
        if template is None:
            return None
        try:
            return template.format_map(_Missing(fields))
        except (IndexError, KeyError, ValueError, AttributeError) as exc:
            return f"{template} (could not fill in the template: {exc})"

    def _notify(self, kind: str, stop_time: datetime.datetime | None, **extra: Any) -> None:
        template = getattr(self, f"{kind}_text", None)
        message = self.render(template, self._fields(stop_time, status=kind, **extra))
        if message is not None:
            self.send(message, kind)

    def send(self, message: str, kind: str) -> None:
        raise NotImplementedError

    def completed_event(self, stop_time, result):
        self._notify("completed", stop_time, result=result)

    def interrupted_event(self, interrupt_time, status):
        self._notify("interrupted", interrupt_time, status=status)

    def failed_event(self, fail_time, fail_trace):
        text = fail_trace if isinstance(fail_trace, str) else "".join(fail_trace or [])
        error = text.strip().splitlines()[-1] if text.strip() else "unknown error"
        self._notify("failed", fail_time, error=error, fail_trace=text)
