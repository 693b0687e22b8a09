"""Slack and Telegram observers against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("requests")

from sacred import Experiment  # noqa: E402
from sacred.observers import SlackObserver, TelegramObserver  # noqa: E402

QUIET = {"--loglevel": "ERROR"}


def experiment(fail: bool = False) -> Experiment:
    ex = Experiment("notify_me", save_git_info=False)
    ex.add_config(lr=0.1)

    @ex.main
    def main(lr):
        if fail:
            raise ValueError("bad things happened")
        return lr * 10

    return ex


def test_slack_from_config_posts_the_templates(http_recorder, tmp_path):
    config = tmp_path / "slack.json"
    config.write_text(
        json.dumps(
            {
                "webhook_url": http_recorder.url + "/services/T000/B000/XXX",
                "icon": ":imp:",
                "bot_name": "my-sacred-bot",
                "completed_text": "YAY! {ex_info[name]} completed with result=`{result}`",
                "interrupted_text": None,
                "failed_text": "Oh noes! {ex_info[name]} failed saying `{error}`",
            }
        )
    )
    ex = experiment()
    ex.observers.append(SlackObserver.from_config(str(config)))
    ex.run(options=QUIET)
    (request,) = http_recorder.requests
    assert request["path"] == "/services/T000/B000/XXX"
    assert request["json"] == {
        "text": "YAY! notify_me completed with result=`1.0`",
        "username": "my-sacred-bot",
        "icon_emoji": ":imp:",
        "mrkdwn": True,
    }
    failing = experiment(fail=True)
    failing.observers.append(SlackObserver.from_config(str(config)))
    with pytest.raises(ValueError):
        failing.run(options=QUIET)
    assert http_recorder.requests[-1]["json"]["text"] == (
        "Oh noes! notify_me failed saying `ValueError: bad things happened`"
    )


def test_slack_disabled_messages_and_direct_construction(http_recorder):
    ex = Experiment("interrupt_me", save_git_info=False)

    @ex.main
    def main():
        raise KeyboardInterrupt

    ex.observers.append(SlackObserver(http_recorder.url + "/hook", interrupted_text=None))
    with pytest.raises(KeyboardInterrupt):
        ex.run(options=QUIET)
    assert http_recorder.requests == []


def test_slack_config_without_webhook_is_refused(tmp_path):
    config = tmp_path / "slack.yaml"
    config.write_text("icon: ':imp:'\n")
    with pytest.raises(KeyError, match="webhook_url"):
        SlackObserver.from_config(str(config))


@pytest.mark.slow
def test_a_failing_webhook_does_not_kill_the_run(http_recorder, caplog):
    http_recorder.status = 500
    ex = experiment()
    ex.observers.append(SlackObserver(http_recorder.url + "/hook"))
    with caplog.at_level("ERROR"):
        run = ex.run(options={"--loglevel": "ERROR"})
    assert run.status == "COMPLETED" and run.result == 1.0
    assert "SlackObserver failed to record the end of the run" in caplog.text


def test_telegram_messages_and_notification_modes(http_recorder, tmp_path):
    config = tmp_path / "telegram.json"
    config.write_text(
        json.dumps(
            {
                "token": "123:ABC",
                "chat_id": 4242,
                "silent_completion": True,
                "base_url": http_recorder.url,
            }
        )
    )
    ex = experiment()
    ex.observers.append(TelegramObserver.from_config(str(config)))
    ex.run(options=QUIET)
    started, completed = http_recorder.requests
    assert started["path"] == completed["path"] == "/bot123:ABC/sendMessage"
    assert started["json"]["chat_id"] == 4242
    assert started["json"]["disable_notification"] is True
    assert "notify_me started (main)" in started["json"]["text"]
    assert completed["json"]["disable_notification"] is True  # silent_completion
    assert "notify_me completed after 0:00:00 with result 1.0" in completed["json"]["text"]

    failing = experiment(fail=True)
    failing.observers.append(TelegramObserver.from_config(str(config)))
    with pytest.raises(ValueError):
        failing.run(options=QUIET)
    failed = http_recorder.requests[-1]["json"]
    assert failed["disable_notification"] is False  # failures are always loud
    assert "bad things happened" in failed["text"]


def test_telegram_config_needs_token_and_chat(tmp_path):
    config = tmp_path / "telegram.json"
    config.write_text(json.dumps({"token": "x"}))
    with pytest.raises(KeyError, match="chat_id"):
        TelegramObserver.from_config(str(config))


def test_telegram_proxy_settings():
    observer = TelegramObserver(
        "t", 1, proxy_url="socks5://proxy.local:1080/", username="me", password="secret"
    )
    assert observer.proxies == {
        "https": "socks5://me:secret@proxy.local:1080/",
        "http": "socks5://me:secret@proxy.local:1080/",
    }
