"""Limits on guessing codes (`/lienket`, `/nhanquyen`) that nothing in a chat can reset.

Failures are rows in the database keyed by the account, the person and the phone that sent
them: erasing oneself, logging in again or opening a new chat leaves them where they were.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from bot.dialogs.engine import Ctx
from bot.store.uow import MAX_CODE_FAILURES

WINDOW = timedelta(hours=1)
TOO_MANY = "Bạn đã nhập sai mã quá nhiều lần. Vui lòng thử lại sau một giờ."


def _keys(ctx: Ctx) -> list[str]:
    identity, person = ctx.identity, ctx.person
    keys = [
        f"account:{identity.id}"
        if identity is not None
        else f"chat:{ctx.inbound.channel}:{ctx.inbound.user_id}"
    ]
    if person is not None:
        keys.append(f"person:{person.id}")
        if person.phone:
            keys.append("phone:" + hashlib.sha256(person.phone.encode()).hexdigest()[:40])
    return keys


async def locked_out(ctx: Ctx, kind: str) -> bool:
    failures = await ctx.uow.attempts.most_recent_failures(kind, _keys(ctx), ctx.now - WINDOW)
    return failures >= MAX_CODE_FAILURES


async def count_failure(ctx: Ctx, kind: str) -> None:
    await ctx.uow.attempts.record(kind, _keys(ctx), ctx.now)
