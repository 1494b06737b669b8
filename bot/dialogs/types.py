"""What channels hand to the engine and what the engine hands back."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Expect(StrEnum):
    """What the current step wants; channels use it to pick an input widget."""

    TEXT = "text"
    CHOICE = "choice"
    PHONE = "phone"
    FILE = "file"


@dataclass(frozen=True, slots=True)
class IncomingFile:
    data: bytes
    filename: str | None = None
    declared_mime: str | None = None


@dataclass(frozen=True, slots=True)
class Inbound:
    """One update from any platform, already translated by its channel adapter."""

    channel: str
    chat_id: str
    user_id: str
    text: str | None = None
    token: str | None = None
    file: IncomingFile | None = None
    contact_phone: str | None = None
    update_id: str | None = None
    reply_to: str | None = None  # the platform id of the message this one replies to


@dataclass(frozen=True, slots=True)
class Option:
    label: str
    value: str
    keys: tuple[str, ...] = ()  # folded words that also choose it, e.g. ("co",) for "yes"


YES_KEYS = ("co", "dong y", "yes", "ok")
NO_KEYS = ("khong", "ko", "no")


@dataclass(frozen=True, slots=True)
class Button:
    number: int
    label: str
    token: str


@dataclass(frozen=True, slots=True)
class OutgoingFile:
    """A stored file to send with a reply: a document, or a picture shown inline."""

    path: str
    name: str
    mime: str
    photo: bool = False
    url: str | None = None  # a signed download link, where `serve` is public
    export: bool = False  # generated: kept (and linked) for EXPORT_RETENTION only
    personal: bool = False  # holds phone numbers: deleted once a channel has uploaded it


@dataclass(frozen=True, slots=True)
class Reply:
    """One message to send: text plus numbered buttons bound to the current screen."""

    text: str
    buttons: tuple[Button, ...] = ()
    expects: Expect = Expect.TEXT
    alert: str | None = None  # a short notice for the pressed button itself (stale press)
    yes_no: bool = False  # the choice is a yes/no question ("CÓ / KHÔNG" on text channels)
    files: tuple[OutgoingFile, ...] = ()
