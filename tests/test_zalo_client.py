"""Our Zalo Bot API client against recorded payloads (../shared/reference/zalo-bot-api.md §2)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from bot.channels.zalo_client import ZaloClient, ZaloError, ZaloTransientError

TOKEN = "1459232241454765289:abcSECRETxyz"
TEXT_UPDATE = {
    "ok": True,
    "result": {
        "message": {
            "from": {"id": "6ede9afa66b88fe6d6a9", "display_name": "Ted", "is_bot": False},
            "chat": {"id": "6ede9afa66b88fe6d6a9", "chat_type": "PRIVATE"},
            "text": "Xin chào",
            "message_id": "2d758cb5e222177a4e35",
            "date": 1750316131602,
        },
        "event_name": "message.text.received",
    },
}


def client_for(handler: Callable[[httpx.Request], httpx.Response]) -> ZaloClient:
    return ZaloClient(
        TOKEN,
        "https://bot-api.zaloplatforms.com",
        transport=httpx.MockTransport(handler),
        backoff=0,
    )


def replying(
    *responses: tuple[int, Any],
) -> tuple[Callable[[httpx.Request], httpx.Response], list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status, body = queue.pop(0) if len(queue) > 1 else queue[0]
        return httpx.Response(status, json=body)

    return handler, seen


async def test_get_me_and_the_url_shape() -> None:
    handler, seen = replying(
        (
            200,
            {
                "ok": True,
                "result": {
                    "id": "1459232241454765289",
                    "account_name": "bot.VDKyGxQvc",
                    "account_type": "BASIC",
                    "can_join_groups": False,
                },
            },
        )
    )
    client = client_for(handler)
    me = await client.get_me()
    assert me.id == "1459232241454765289" and me.account_name == "bot.VDKyGxQvc"
    assert seen[0].method == "POST"
    assert seen[0].url.path == f"/bot{TOKEN}/getMe"
    assert "TOKEN" not in repr(client) and TOKEN not in repr(client)


async def test_get_updates_single_list_and_408() -> None:
    handler, seen = replying((200, TEXT_UPDATE))
    updates = await client_for(handler).get_updates(timeout=25)
    assert updates == [TEXT_UPDATE["result"]]
    assert json.loads(seen[0].content) == {"timeout": "25"}
    handler, _ = replying((200, {"ok": True, "result": [TEXT_UPDATE["result"]] * 2}))
    assert len(await client_for(handler).get_updates()) == 2
    handler, _ = replying(
        (408, {"ok": False, "description": "Request timeout", "error_code": 408})
    )
    assert await client_for(handler).get_updates() == []
    handler, _ = replying(
        (200, {"ok": False, "description": "Request timeout", "error_code": 408})
    )
    assert await client_for(handler).get_updates() == []


async def test_send_message_and_photo() -> None:
    handler, seen = replying(
        (
            200,
            {"ok": True, "result": {"message_id": "82599fa32f56d00e8941", "date": 1749632637199}},
        )
    )
    client = client_for(handler)
    sent = await client.send_message("abc.xyz", "Hello")
    assert sent.message_id == "82599fa32f56d00e8941" and sent.date == 1749632637199
    assert json.loads(seen[0].content) == {"chat_id": "abc.xyz", "text": "Hello"}
    await client.send_photo("abc.xyz", "https://placehold.co/600x400", "My photo")
    assert json.loads(seen[1].content) == {
        "chat_id": "abc.xyz",
        "photo": "https://placehold.co/600x400",
        "caption": "My photo",
    }
    with pytest.raises(ValueError):
        await client.send_message("abc.xyz", "x" * 2001)
    with pytest.raises(ValueError):
        await client.send_message("abc.xyz", "")


async def test_webhook_methods() -> None:
    handler, seen = replying(
        (
            200,
            {
                "ok": True,
                "result": {"url": "https://your-webhookurl.com", "updated_at": 1749538250568},
            },
        )
    )
    info = await client_for(handler).set_webhook("https://your-webhookurl.com", "mykey-abcyxz")
    assert info.url == "https://your-webhookurl.com"
    assert json.loads(seen[0].content) == {
        "url": "https://your-webhookurl.com",
        "secret_token": "mykey-abcyxz",
    }
    handler, _ = replying((404, {"ok": False, "description": "Not Found", "error_code": 404}))
    assert await client_for(handler).get_webhook_info() is None
    handler, _ = replying(
        (
            200,
            {
                "ok": True,
                "result": {"url": "https://example.test/hook", "updated_at": 1785647889461},
                "error_code": 0,
            },
        )
    )
    info = await client_for(handler).get_webhook_info()
    assert info is not None and info.url == "https://example.test/hook"
    handler, _ = replying((200, {"ok": True, "result": {"url": "", "updated_at": 1}}))
    await client_for(handler).delete_webhook()
    handler, _ = replying((200, {"ok": True}))
    await client_for(handler).send_chat_action("abc.xyz")


async def test_errors_are_typed_and_never_carry_the_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    handler, _ = replying((401, {"ok": False, "error_code": 401, "description": "Unauthorized"}))
    with pytest.raises(ZaloError) as info:
        await client_for(handler).get_me()
    assert info.value.error_code == 401 and not isinstance(info.value, ZaloTransientError)
    assert TOKEN not in str(info.value)

    def broken(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}")

    with pytest.raises(ZaloTransientError) as transient:
        await client_for(broken).send_message("a", "b")
    assert TOKEN not in str(transient.value) and transient.value.__cause__ is None
    assert TOKEN not in caplog.text


async def test_429_and_5xx_are_retried() -> None:
    handler, seen = replying(
        (429, {"ok": False, "error_code": 429, "description": "Quota exceeded"}),
        (502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}),
        (200, {"ok": True, "result": {"message_id": "m1", "date": 1}}),
    )
    sent = await client_for(handler).send_message("abc", "xin chào")
    assert sent.message_id == "m1" and len(seen) == 3
    handler, seen = replying((503, {"ok": False, "error_code": 503, "description": "Busy"}))
    with pytest.raises(ZaloTransientError):
        await client_for(handler).send_message("abc", "xin chào")
    assert len(seen) == 4


async def test_httpx_request_log_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="httpx")
    handler, _ = replying((200, {"ok": True, "result": {"id": "1", "account_name": "b"}}))
    await client_for(handler).get_me()
    assert TOKEN not in caplog.text


async def test_a_send_that_timed_out_is_not_sent_twice() -> None:
    calls: list[str] = []

    def slow(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path.rsplit("/", 1)[-1])
        raise httpx.ReadTimeout("no answer", request=request)

    client = client_for(slow)
    with pytest.raises(ZaloError) as info:
        await client.send_message("abc", "xin chào")
    assert not isinstance(info.value, ZaloTransientError) and calls == ["sendMessage"]

    def refused(request: httpx.Request) -> httpx.Response:
        calls.append("refused")
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ZaloTransientError):
        await client_for(refused).send_message("abc", "xin chào")
    assert calls.count("refused") == 4  # nothing reached Zalo: safe to try again
