"""The engine: load state -> step.handle(inbound) -> persist -> replies.

The conversation record is written with a compare-and-set on its version, so a worker that
lost a race redoes the update, and an update id already seen is a no-op. An update runs either
on a cached copy of the state with its write group-committed (the fast path), or in a
transaction of its own (the careful path). Either way every accepted answer is committed
before the reply leaves this module.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.access import ADMIN
from bot.clock import Clock
from bot.dialogs.cache import ConversationCache, Snapshot
from bot.dialogs.types import (
    NO_KEYS,
    YES_KEYS,
    Button,
    Expect,
    Inbound,
    IncomingFile,
    Option,
    OutgoingFile,
    Reply,
)
from bot.files import EXPORT_RETENTION, FileStore
from bot.links import LIFETIME, FileLinks
from bot.metrics import Metrics
from bot.store import jsontext
from bot.store.committer import Profile, StateCommitter, StateWrite
from bot.store.models import ChannelIdentity, Person
from bot.store.uow import UnitOfWork, VersionConflict
from bot.support import relayed
from rules.campaigns import Campaign
from rules.text import clean, clean_multiline, match_key
from rules.units import CatalogVersion

if TYPE_CHECKING:
    from bot.stats.export import ExportProcess

log = logging.getLogger(__name__)

PAGE_SIZE = 8
NEXT, PREV, BACK = "__next", "__prev", "__back"
MAX_ATTEMPTS = 5
SEEN_UPDATES = 50
GATE_FREE_STEPS = frozenset({"consent", "phone", "help"})

BUSY = (
    "Hệ thống đang bận, chưa lưu được tin nhắn vừa rồi. Vui lòng gửi lại sau ít phút; "
    "những gì bạn đã nhập trước đó vẫn được giữ nguyên."
)
STALE = (
    "Nút này đã cũ hoặc không hợp lệ nên không có tác dụng. "
    "Vui lòng chọn trong danh sách dưới đây."
)
STALE_ALERT = "Nút đã cũ, không có tác dụng."
PICK = "Vui lòng chọn một mục trong danh sách: gửi số thứ tự hoặc tên mục."
SLOW_DOWN = "Bạn gửi tin nhắn quá nhanh. Vui lòng chờ một phút rồi gửi tiếp; bot vẫn giữ bản nháp."
SAVED_UNHEARD = "Kết nối vừa bị gián đoạn, nhưng tin nhắn vừa rồi của bạn đã được lưu."
ANSWER_UNHEARD = "Kết nối vừa bị gián đoạn. Trả lời cho tin nhắn vừa rồi của bạn:"
EMPTY = "Tin nhắn trống. Vui lòng gửi nội dung bằng chữ."
NO_FILE = "Bước này không nhận tệp. Vui lòng trả lời bằng chữ."


@dataclass(frozen=True, slots=True)
class Goto:
    step: str
    notice: str | None = None


@dataclass(frozen=True, slots=True)
class Stay:
    message: str


Outcome = Goto | Stay


@dataclass(slots=True)
class Services:
    clock: Clock
    campaign: Campaign
    catalog: CatalogVersion
    files: FileStore
    max_file_bytes: int
    exports: ExportProcess  # makes award files away from the chats' process
    metrics: Metrics = field(default_factory=Metrics)
    helper_groups: dict[str, str] = field(default_factory=dict)
    rate_limit_per_minute: int = 0
    links: FileLinks | None = None


def _outcome(replies: list[Reply]) -> str:
    if not replies:
        return "repeat"  # an update seen before: answered the first time
    first = replies[0].text
    return "busy" if first == BUSY else "slowed" if first == SLOW_DOWN else "answered"


class NeedsDatabase(Exception):
    """A step reached for the database while the engine tried to answer from its cache."""


@dataclass(slots=True)
class Ctx:
    """Everything a step may use while handling one update.

    Without a unit of work (the engine's fast path) only the conversation state and the
    cached profile are at hand: touching `uow`, `identity` or `person` raises NeedsDatabase
    and the update is redone in a transaction of its own. A step saves the person's details by
    setting `saved_profile`; the engine writes them with the state, on either path.
    """

    inbound: Inbound
    services: Services
    state: dict[str, Any]
    now: datetime
    unit_of_work: UnitOfWork | None = None
    consented: bool = False
    cached_profile: Profile | None = None
    saved_profile: Profile | None = None
    loaded_identity: ChannelIdentity | None = None
    loaded_person: Person | None = None
    view: dict[str, Any] = field(default_factory=dict)

    def _require_database(self) -> None:
        if self.unit_of_work is None:
            raise NeedsDatabase

    @property
    def uow(self) -> UnitOfWork:
        self._require_database()
        assert self.unit_of_work is not None
        return self.unit_of_work

    @property
    def identity(self) -> ChannelIdentity | None:
        self._require_database()
        return self.loaded_identity

    @identity.setter
    def identity(self, identity: ChannelIdentity | None) -> None:
        self.loaded_identity = identity

    @property
    def person(self) -> Person | None:
        self._require_database()
        return self.loaded_person

    @person.setter
    def person(self, person: Person | None) -> None:
        self.loaded_person = person

    @property
    def person_id(self) -> int | None:
        person = self.person
        return person.id if person else None

    @property
    def signed_in(self) -> bool:
        if self.unit_of_work is None:
            return self.cached_profile is not None
        return self.loaded_person is not None

    @property
    def profile(self) -> Profile | None:
        """The person's saved details as this update leaves them; None when not signed in."""
        if self.saved_profile is not None:
            return self.saved_profile
        if self.unit_of_work is None:
            return self.cached_profile
        return Profile.of(self.loaded_person) if self.loaded_person is not None else None

    @property
    def today(self) -> date:
        return self.now.date()

    @property
    def draft(self) -> dict[str, Any]:
        """The submission being written; created by the menu, never None inside the form."""
        draft = self.state.get("draft")
        if draft is None:
            raise LookupError("no draft in this conversation")
        return draft  # type: ignore[no-any-return]

    @property
    def has_draft(self) -> bool:
        return self.state.get("draft") is not None

    @property
    def local(self) -> dict[str, Any]:
        """Scratch data of the current step, dropped when the conversation moves on."""
        return self.state.setdefault("local", {})  # type: ignore[no-any-return]


class Step:
    """One screen of the conversation. Subclasses override what they accept."""

    key: str
    in_draft: bool = False
    back: str | None = None
    expects: Expect = Expect.TEXT
    # At a choice, words typed from one label pick it (off where typing searches instead).
    matches_parts: bool = True

    def text(self, ctx: Ctx) -> str:
        raise NotImplementedError

    async def prepare(self, ctx: Ctx) -> None:
        """Load what `text` and `options` show (into `ctx.view`) before rendering."""

    def options(self, ctx: Ctx) -> list[Option]:
        return []

    def can_go_back(self, ctx: Ctx) -> bool:
        return self.back is not None

    async def on_back(self, ctx: Ctx) -> Outcome:
        return Goto(self.back) if self.back else Stay(PICK)

    async def on_choice(self, ctx: Ctx, value: str) -> Outcome:
        return Stay(PICK)

    async def on_text(self, ctx: Ctx, text: str) -> Outcome:
        return Stay(PICK)

    async def on_file(self, ctx: Ctx, file: IncomingFile) -> Outcome:
        return Stay(NO_FILE)

    async def on_contact(self, ctx: Ctx, phone: str) -> Outcome:
        return await self.on_text(ctx, phone)

    async def on_stale(self, ctx: Ctx) -> Outcome | None:
        """A press on a screen that has changed since; None: the general notice."""
        return None


def notice_here(step: Step | None, text: str) -> Outcome:
    """A command's answer shown above the current screen (or alone, outside any step)."""
    return Goto(step.key, text) if step else Stay(text)


def deny(
    ctx: Ctx, step: Step | None, action: str, message: str, detail: dict[str, Any] | None = None
) -> Outcome:
    """Refuse an action the person's role or scope does not allow, and audit the attempt."""
    ctx.uow.audit.record(
        ctx.now,
        "access.denied",
        person_id=ctx.person_id,
        channel=ctx.inbound.channel,
        subject=action,
        detail=detail,
    )
    return notice_here(step, message)


CommandHandler = Callable[[Ctx, "Step | None"], Awaitable[Outcome]]
DB_ERRORS = (OperationalError, DBAPIError, PoolTimeout, ConnectionError, OSError)


def token_for(screen_id: str, value: str) -> str:
    return hashlib.blake2s(f"{screen_id}|{value}".encode(), digest_size=6).hexdigest()


class Engine:
    """Walks the step table for every inbound update; see the module docstring.

    With a committer, an update of a chat whose last state is cached is first tried without
    reading anything: if its steps need only that state, the new state goes to the group
    commit. If a step reaches for the database, or the cached state was stale, the update is
    redone in a transaction of its own, exactly as if the first try never happened.
    """

    def __init__(
        self,
        steps: Mapping[str, Step],
        commands: Mapping[str, CommandHandler],
        uow_factory: Callable[[], UnitOfWork],
        services: Services,
        committer: StateCommitter | None = None,
        cache_size: int = 0,
        restricted: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        self._steps = steps
        self._commands = commands
        self._restricted = restricted or {}  # command -> the roles it is for
        self._uow = uow_factory
        self.services = services
        self._committer = committer
        self._cache = ConversationCache(cache_size if committer is not None else 0)

    @property
    def cached_chats(self) -> int:
        return len(self._cache)

    async def handle(self, inbound: Inbound) -> list[Reply]:
        began = time.perf_counter()
        outcome = "error"
        try:
            replies = await self._handle(inbound)
            outcome = _outcome(replies)
            return replies
        finally:
            self.services.metrics.handled(inbound.channel, outcome, time.perf_counter() - began)

    async def _handle(self, inbound: Inbound) -> list[Reply]:
        # True once a try failed in a way that may have hidden its own COMMIT: the connection
        # dropped after the server committed but before it said so.
        may_have_landed = False
        try:
            replies = await self._from_cache(inbound)
        except DB_ERRORS as exc:
            self.services.metrics.database_error(type(exc).__name__)
            log.warning("state batch failed (%s); redoing the update", type(exc).__name__)
            self._cache.forget(inbound.channel, inbound.chat_id)
            replies, may_have_landed = None, True
        if replies is not None:
            return replies
        reconnected = False
        for attempt in range(MAX_ATTEMPTS):
            try:
                return await self._once(inbound, may_have_landed)
            except (VersionConflict, IntegrityError):
                # Another worker won a race on this chat (or created the same row): start over
                # from what the database holds.
                log.info("write conflict, retry %d", attempt + 1)
                self._cache.forget(inbound.channel, inbound.chat_id)
                await asyncio.sleep(random.uniform(0, 0.01 * 2**attempt))
            except DB_ERRORS as exc:
                self.services.metrics.database_error(type(exc).__name__)
                if _connection_lost(exc) and not reconnected:
                    # The pool has dropped its connections from before the loss (the server
                    # restarted, say): once more on a new one, as a pre-ping would have done.
                    reconnected = may_have_landed = True
                    continue
                log.error("database unavailable: %s", type(exc).__name__)
                return [Reply(BUSY)]
        return [Reply(BUSY)]

    async def _from_cache(self, inbound: Inbound) -> list[Reply] | None:
        """The fast path; None when the update must be handled in a transaction."""
        if self._committer is None or inbound.chat_id != inbound.user_id:
            return None  # in a group chat the snapshot's sign-in is not the writer's
        snapshot = self._cache.get(inbound.channel, inbound.chat_id)
        if snapshot is None:
            return None
        state = jsontext.loads(snapshot.state_json)
        if _seen(state, inbound):
            return []
        ctx = Ctx(
            inbound,
            self.services,
            state,
            self.services.clock.now(),
            consented=snapshot.consented,
            cached_profile=snapshot.profile,
        )
        try:
            replies = await self._run(ctx)
        except NeedsDatabase:
            return None
        state_json = jsontext.dumps(ctx.state)
        write = StateWrite(
            inbound.channel,
            inbound.chat_id,
            snapshot.version,
            state_json,
            ctx.now,
            profile=ctx.saved_profile,
        )
        if not await self._committer.write(write):
            self._cache.forget(inbound.channel, inbound.chat_id)
            return None
        self._remember(ctx, state_json, snapshot.version + 1)
        return replies

    async def _once(self, inbound: Inbound, may_have_landed: bool = False) -> list[Reply]:
        async with self._uow() as uow:
            state, version = await self._state_of(uow, inbound)
            now = self.services.clock.now()
            ctx = Ctx(inbound, self.services, state, now, unit_of_work=uow)
            if _seen(state, inbound):
                # Answered already; unless by our own try whose reply was never sent.
                return await self._where_it_stands(ctx) if may_have_landed else []
            replies = await self._run(ctx)
            if ctx.saved_profile is not None and ctx.loaded_person is not None:
                ctx.saved_profile.copy_to(ctx.loaded_person, now)
            await uow.conversations.save(inbound.channel, inbound.chat_id, ctx.state, version, now)
            await uow.commit()
        self._remember(ctx, jsontext.dumps(ctx.state), version + 1)
        return replies

    async def _where_it_stands(self, ctx: Ctx) -> list[Reply]:
        """The reply of an update committed by a try that then lost its connection (the
        reply was lost with it): the current screen under what the lost reply said."""
        step = self._steps.get(ctx.state.get("step", ""))
        if step is None:
            return []
        await self._load_identity(ctx)
        said = ctx.state.get("said", {})
        if "message" in said:
            message = f"{ANSWER_UNHEARD}\n\n{said['message']}"
            return [await self._render(ctx, step, message=message)]
        notice = f"{SAVED_UNHEARD}\n\n{said['notice']}" if "notice" in said else SAVED_UNHEARD
        return [await self._render(ctx, step, notice=notice)]

    async def _state_of(self, uow: UnitOfWork, inbound: Inbound) -> tuple[dict[str, Any], int]:
        snapshot = self._cache.get(inbound.channel, inbound.chat_id)
        cached = (snapshot.state_json, snapshot.version) if snapshot else None
        return await uow.conversations.load(inbound.channel, inbound.chat_id, cached)

    async def _run(self, ctx: Ctx) -> list[Reply]:
        if self._flooding(ctx.state):
            replies = [Reply(SLOW_DOWN)]
        else:
            if ctx.unit_of_work is not None:
                await self._load_identity(ctx)
            ctx.state.pop("said", None)
            replies = await self._dispatch(ctx)
        update_id = ctx.inbound.update_id
        if update_id is not None:
            ctx.state["seen"] = [*ctx.state.get("seen", []), update_id][-SEEN_UPDATES:]
        return replies

    def _remember(self, ctx: Ctx, state_json: str, version: int) -> None:
        snapshot = Snapshot(state_json, version, ctx.consented, ctx.profile)
        self._cache.put(ctx.inbound.channel, ctx.inbound.chat_id, snapshot)

    def _flooding(self, state: dict[str, Any]) -> bool:
        """Per-chat rate limit over the last minute of real time (not the business clock)."""
        limit = self.services.rate_limit_per_minute
        if limit <= 0:
            return False
        now = time.time()
        recent = [t for t in state.get("recent", []) if now - t < 60][-limit:]
        state["recent"] = [*recent, now]
        return len(recent) >= limit

    async def _load_identity(self, ctx: Ctx) -> None:
        ctx.identity, ctx.consented, ctx.person = await ctx.uow.people.login_of(
            ctx.inbound.channel, ctx.inbound.user_id
        )

    def gate(self, ctx: Ctx) -> str | None:
        if not ctx.consented:
            return "consent"
        if not ctx.signed_in:
            return "phone"
        return None

    async def _dispatch(self, ctx: Ctx) -> list[Reply]:
        current = self._steps.get(ctx.state.get("step", ""))
        if not await self._relay(ctx):
            return []
        command = _command_of(ctx.inbound.text)
        if command is not None:
            handler = self._commands.get(command)
            if handler is None:
                message = await self._unknown(ctx, command)
                return [await self._render(ctx, current, message=message)]
            return await self._apply(ctx, current, await handler(ctx, current))
        gate = self.gate(ctx)
        if current is None or (gate and current.key not in GATE_FREE_STEPS):
            return await self._apply(ctx, None, Goto(gate or "menu"))
        return await self._apply(ctx, current, await self._answer(ctx, current))

    async def _relay(self, ctx: Ctx) -> bool:
        """A reply to a ticket notification becomes `/tl <ticket> <text>`. In group chats that
        is the only thing read; returns False when the update is to be ignored."""
        inbound = ctx.inbound
        ticket = None
        if inbound.reply_to and inbound.text and not inbound.text.startswith("/"):
            ticket = await relayed(ctx.uow, inbound.channel, inbound.chat_id, inbound.reply_to)
        if ticket is not None:
            ctx.inbound = replace(inbound, text=f"/tl {ticket} {inbound.text}")
            return True
        return inbound.chat_id == inbound.user_id

    async def _unknown(self, ctx: Ctx, command: str) -> str:
        """The commands this person may use: officers' and helpers' only to those roles."""
        person_id = ctx.person_id
        held = {g.role for g in await ctx.uow.roles.of_person(person_id)} if person_id else set()
        usable = sorted(
            name
            for name in self._commands
            if name != "/start"
            and (name not in self._restricted or held & (self._restricted[name] | {ADMIN}))
        )
        return f"Không có lệnh {command[:32]}. Các lệnh dùng được: {', '.join(usable)}."

    async def _answer(self, ctx: Ctx, step: Step) -> Outcome:
        inbound = ctx.inbound
        await step.prepare(ctx)  # options may come from the database
        if inbound.token is not None:
            value = self._value_of_token(ctx, step, inbound.token)
            if value is None:
                ctx.view["alert"] = STALE_ALERT
                return await step.on_stale(ctx) or Stay(STALE)
            return await self._choose(ctx, step, value)
        if inbound.file is not None:
            return await step.on_file(ctx, inbound.file)
        if inbound.contact_phone is not None:
            return await step.on_contact(ctx, inbound.contact_phone)
        # Line breaks stay: a description pasted in paragraphs is kept in paragraphs; the
        # parsers of one-line answers clean them away themselves.
        text = clean_multiline(inbound.text or "")
        if not text:
            return Stay(EMPTY)
        typed = self._value_of_typed(ctx, step, text)
        if isinstance(typed, Stay):
            return typed
        if typed is None:
            return await step.on_text(ctx, text)
        return await self._choose(ctx, step, typed)

    def _all_options(self, ctx: Ctx, step: Step) -> list[Option]:
        options = step.options(ctx)
        extra = [Option("", NEXT), Option("", PREV)] if len(options) > PAGE_SIZE else []
        if step.can_go_back(ctx):
            extra.append(Option("", BACK))
        return options + extra

    def _value_of_token(self, ctx: Ctx, step: Step, token: str) -> str | None:
        screen_id = ctx.state.get("screen", "")
        for option in self._all_options(ctx, step):
            if secrets.compare_digest(token_for(screen_id, option.value), token):
                return option.value
        return None

    def _value_of_typed(self, ctx: Ctx, step: Step, text: str) -> str | Stay | None:
        """The option a typed answer picks: its number on the screen (at every step that shows
        options, so “1” at “Bỏ qua” skips rather than being read as the answer), its label, one
        of its keys, or, at a choice, words found in one label only. None: the text is the
        answer itself."""
        shown: list[list[str]] = ctx.state.get("shown", [])
        if text.isascii() and text.isdigit() and shown:
            number = int(text)
            if 1 <= number <= len(shown):
                return shown[number - 1][1]
            if step.expects is Expect.CHOICE:
                return Stay(
                    f"Số {number} không có trong danh sách. Vui lòng gửi số từ 1 đến "
                    f"{len(shown)} hoặc gõ tên mục."
                )
        key = match_key(text)
        for _token, value, label in shown:
            if match_key(label) == key:
                return value
        options = step.options(ctx)
        named = option_named(options, key)
        if named is not None:
            return named.value
        if step.expects is Expect.CHOICE and step.matches_parts:
            return _part_of_one_label(ctx, options, key)
        return None

    async def _choose(self, ctx: Ctx, step: Step, value: str) -> Outcome:
        if value in (NEXT, PREV):
            pages = max(1, -(-len(step.options(ctx)) // PAGE_SIZE))
            page = ctx.state.get("page", 0) + (1 if value == NEXT else -1)
            ctx.state["page"] = min(max(page, 0), pages - 1)  # no wrapping round
            return Stay("")
        if value == BACK:
            return await step.on_back(ctx)
        return await step.on_choice(ctx, value)

    async def _apply(self, ctx: Ctx, step: Step | None, outcome: Outcome) -> list[Reply]:
        # What the reply says above its screen is kept with the state until the next update,
        # so that a reply lost with the connection after the commit can be said again.
        if isinstance(outcome, Stay):
            if outcome.message:
                ctx.state["said"] = {"message": outcome.message}
            return [await self._render(ctx, step, message=outcome.message)]
        target = self._resolve(ctx, step, outcome.step)
        new_step = self._steps[target]
        if step is None or target != step.key:
            ctx.state.pop("local", None)
        ctx.state.update(step=target, page=0, screen=secrets.token_hex(4))
        if new_step.in_draft and ctx.has_draft:
            ctx.draft["step"] = target
        if outcome.notice:
            ctx.state["said"] = {"notice": outcome.notice}
        return [await self._render(ctx, new_step, notice=outcome.notice)]

    def _resolve(self, ctx: Ctx, step: Step | None, target: str) -> str:
        if (
            step is not None
            and step.in_draft
            and ctx.state.get("edit_until") == step.key
            and target != step.key
        ):
            ctx.state.pop("edit_until")
            target = "review"
        gate = self.gate(ctx)
        if gate and target not in GATE_FREE_STEPS:
            return gate
        return target

    def _linked(self, ctx: Ctx) -> tuple[OutgoingFile, ...]:
        links = self.services.links
        files: list[OutgoingFile] = ctx.view.get("files", [])
        if links is None:
            return tuple(files)
        return tuple(
            replace(
                f,
                url=links.url_for(
                    f.path, f.name, ctx.now, EXPORT_RETENTION if f.export else LIFETIME
                ),
            )
            for f in files
        )

    async def _render(
        self, ctx: Ctx, step: Step | None, *, notice: str | None = None, message: str | None = None
    ) -> Reply:
        if step is None:
            return Reply(message or "", files=self._linked(ctx))
        await step.prepare(ctx)
        options = step.options(ctx)
        page = ctx.state.get("page", 0)
        visible = options[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        nav: list[Option] = []
        pages = -(-len(options) // PAGE_SIZE)
        if page > 0:
            nav.append(Option("« Trang trước", PREV))
        if page < pages - 1:
            nav.append(Option("Trang sau »", NEXT))
        if step.can_go_back(ctx):
            nav.append(Option("↩ Quay lại", BACK))
        screen_id = ctx.state.get("screen", "")
        buttons = tuple(
            Button(number, option.label, token_for(screen_id, option.value))
            for number, option in enumerate([*visible, *nav], start=1)
        )
        ctx.state["shown"] = [
            [b.token, o.value, o.label] for b, o in zip(buttons, [*visible, *nav], strict=True)
        ]
        if message:
            text = message
        elif message is not None:  # a page turn: repeat the question's first line
            text = step.text(ctx).splitlines()[0]
        else:
            text = step.text(ctx) if notice is None else f"{notice}\n\n{step.text(ctx)}"
        if pages > 1:
            text += f"\n(Trang {page + 1}/{pages})"
        keys = {k for option in visible for k in option.keys}
        yes_no = YES_KEYS[0] in keys and NO_KEYS[0] in keys
        files = self._linked(ctx)
        return Reply(text, buttons, step.expects, ctx.view.get("alert"), yes_no, files)


def option_named(options: list[Option], key: str) -> Option | None:
    """The option a typed answer (as `match_key` folds it) names by its label or a key."""
    return next((o for o in options if match_key(o.label) == key or key in o.keys), None)


def labels_holding(options: list[Option], key: str) -> list[Option]:
    """The options whose labels hold the typed words (“kỹ thuật”, “công nhân”); none for
    fewer than three letters."""
    if len(key) < 3:
        return []
    return [o for o in options if f" {key} " in f" {match_key(o.label)} "]


def _part_of_one_label(ctx: Ctx, options: list[Option], key: str) -> str | Stay | None:
    """Words typed from the middle of a label (“kỹ thuật”, “công nhân”): the one option whose
    label holds them; with several, ask back listing those, by their numbers on the screen."""
    found = labels_holding(options, key)
    if len(found) == 1:
        return found[0].value
    if not found:
        return None
    numbers = {value: number for number, (_t, value, _l) in enumerate(ctx.state["shown"], 1)}
    listed = "\n".join(
        f"{numbers[o.value]}. {o.label}" if o.value in numbers else f"• {o.label}" for o in found
    )
    return Stay(f"“{key}” có trong nhiều mục:\n{listed}\nBạn chọn mục nào? Gửi số thứ tự của mục.")


def _connection_lost(exc: Exception) -> bool:
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def _seen(state: dict[str, Any], inbound: Inbound) -> bool:
    """True for a re-delivered update (the platform retried): it is answered already."""
    return inbound.update_id is not None and inbound.update_id in state.get("seen", [])


def _command_of(text: str | None) -> str | None:
    if not text or "/" not in text:  # most messages: no need to clean them here
        return None
    stripped = clean(text)
    if not stripped.startswith("/") or len(stripped) < 2:
        return None
    return stripped.split(" ", 1)[0].split("@", 1)[0].lower()
