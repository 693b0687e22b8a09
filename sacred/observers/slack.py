"""SlackObserver: a message to a Slack incoming webhook every time a run stops.

    slack_obs = SlackObserver.from_config("slack.json")   # recommended: keep the URL secret
    slack_obs = SlackObserver(webhook_url)

``slack.json`` (or .yaml/.pickle) holds ``webhook_url`` and optionally ``icon``,
``bot_name``, ``completed_text``, ``interrupted_text``, ``failed_text`` (None turns
a message off). Templates are ``str.format`` strings over ``ex_info`` (e.g.
``{ex_info[name]}``), ``result``, ``error``, ``elapsed_time``, ``config``,
``command``, ``run_id``, ``status``, ``host_info``. Needs the requests package.
"""

from __future__ import annotations

from typing import Any

from sacred.observers._notify import NotifyingObserver

__all__ = ["SlackObserver"]


class SlackObserver(NotifyingObserver):
    def __init__(
        self,
        webhook_url: str,
        bot_name: str = "sacred-bot",
        icon: str = ":angel:",
        priority: int = 10,
        completed_text: str | None = (
            ":white_check_mark: *{ex_info[name]}* completed after _{elapsed_time}_ "
            "with result=`{result}`"
        ),
        interrupted_text: str | None = (
            ":warning: *{ex_info[name]}* interrupted after _{elapsed_time}_ ({status})"
        ),
        failed_text: str | None = (
            ":x: *{ex_info[name]}* failed after _{elapsed_time}_ with `{error}`"
        ),
        timeout: float = 10.0,
    ) -> None:
        super().__init__()
        self.webhook_url = webhook_url
        self.bot_name = bot_name
        self.icon = icon
        self.priority = priority
        self.completed_text = completed_text
        self.interrupted_text = interrupted_text
        self.failed_text = failed_text
        self.started_text = None
        self.timeout = timeout

    @classmethod
    def from_config(cls, filename: str) -> SlackObserver:
        config = cls._read_config(filename)
        if "webhook_url" not in config:
            raise KeyError(f"{filename} must contain the 'webhook_url' of the Slack webhook")
        return cls(**config)

    def payload(self, message: str) -> dict[str, Any]:
        return {"text": message, "username": self.bot_name, "icon_emoji": self.icon, "mrkdwn": True}

    def send(self, message: str, kind: str) -> None:
        import requests

        response = requests.post(self.webhook_url, json=self.payload(message), timeout=self.timeout)
        response.raise_for_status()
