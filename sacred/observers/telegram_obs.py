"""TelegramObserver: status messages to a Telegram chat through a bot.

    telegram_obs = TelegramObserver.from_config("telegram.json")

The file (json, yaml or pickle) holds ``token`` and ``chat_id``, optionally
``silent_completion`` (completions without a loud notification), ``proxy_url``
(``PROTOCOL://HOST:[PORT]/``, socks5 or http; otherwise HTTPS_PROXY/https_proxy from
the environment), ``username`` and ``password`` for the proxy, templates
``started_text``, ``completed_text``, ``interrupted_text``, ``failed_text`` and
``base_url`` (default https://api.telegram.org). Starts are always sent silently,
interruptions and failures always with a notification.

Messages go straight to the Bot API (``POST {base_url}/bot<token>/sendMessage``)
with the requests package: python-telegram-bot is not needed.
"""

from __future__ import annotations

from typing import Any

from sacred.observers._notify import NotifyingObserver

__all__ = ["TelegramObserver"]


class TelegramObserver(NotifyingObserver):
    def __init__(
        self,
        token: str,
        chat_id: int | str,
        silent_completion: bool = False,
        proxy_url: str | None = None,
        username: str | None = None,
        password: str | None = None,
        priority: int = 10,
        base_url: str = "https://api.telegram.org",
        started_text: str | None = "\u2699\ufe0f {ex_info[name]} started ({command})",
        completed_text: str | None = (
            "\u2705 {ex_info[name]} completed after {elapsed_time} with result {result}"
        ),
        interrupted_text: str | None = (
            "\u26a0\ufe0f {ex_info[name]} interrupted after {elapsed_time} ({status})"
        ),
        failed_text: str | None = ("\u274c {ex_info[name]} failed after {elapsed_time}: {error}"),
        timeout: float = 10.0,
    ) -> None:
        super().__init__()
        self.token = token
        self.chat_id = chat_id
        self.silent_completion = silent_completion
        self.priority = priority
        self.base_url = base_url.rstrip("/")
        self.started_text = started_text
        self.completed_text = completed_text
        self.interrupted_text = interrupted_text
        self.failed_text = failed_text
        self.timeout = timeout
        self.proxies = None
        if proxy_url:
            if username and "@" not in proxy_url:
                scheme, _, rest = proxy_url.partition("://")
                proxy_url = f"{scheme}://{username}:{password or ''}@{rest}"
            self.proxies = {"https": proxy_url, "http": proxy_url}

    @classmethod
    def from_config(cls, filename: str) -> TelegramObserver:
        config = cls._read_config(filename)
        missing = [k for k in ("token", "chat_id") if k not in config]
        if missing:
            raise KeyError(f"{filename} must contain {' and '.join(missing)} for the Telegram bot")
        return cls(**config)

    def payload(self, message: str, kind: str) -> dict[str, Any]:
        silent = kind == "started" or (kind == "completed" and self.silent_completion)
        return {"chat_id": self.chat_id, "text": message, "disable_notification": silent}

    def send(self, message: str, kind: str) -> None:
        import requests

        response = requests.post(
            f"{self.base_url}/bot{self.token}/sendMessage",
            json=self.payload(message, kind),
            timeout=self.timeout,
            proxies=self.proxies,
        )
        response.raise_for_status()
