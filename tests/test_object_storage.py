"""Files in S3-compatible storage (SANGKIEN_FILES_URL), against a real S3 API server (moto's
server mode) reached over HTTP: two `serve` processes with folders of their own share one
bucket; erasure and the export sweep reach the bucket; backups say how it is kept."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.backup import backup
from bot.bucket import Bucket
from bot.clock import FixedClock
from bot.config import Settings
from bot.errors import ConfigError
from bot.files import FileStore
from bot.links import FileLinks
from tests.conftest import CliRun, running_app
from tests.fake_s3 import S3Server, start_s3
from tests.fake_zalo import FakeZalo, FakeZaloPerson
from tests.fakechat import FakeChat
from tests.flow import PDF_BYTES, grant_role, login, submit_new
from tests.processes import free_port, stop_bot, wait_healthy
from tests.test_zalo_e2e import JPEG, SECRET, full_submission, start_zalo_bot

LINK_SECRET = "l" * 32
PUBLIC_URL = "https://bot.example.vn"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    server, info = start_s3()
    for name, value in info.environment.items():
        monkeypatch.setenv(name, value)
    yield info
    server.stop()


@pytest.mark.postgres  # two processes: SQLite is for one
async def test_two_serve_processes_with_their_own_folders_share_one_bucket(
    s3: S3Server, clean_postgres_url: str, tmp_path: Path
) -> None:
    zalo = FakeZalo()
    zalo.flat_webhook_bodies = True
    await zalo.start()
    ports = [free_port(), free_port()]

    async def serve(port: int, folder: str) -> asyncio.subprocess.Process:
        return await start_zalo_bot(
            ["serve", "--port", str(port)],
            zalo,
            tmp_path,
            SANGKIEN_DATABASE_URL=clean_postgres_url,
            SANGKIEN_FILES_DIR=str(tmp_path / folder),
            SANGKIEN_FILES_URL=s3.url(),
            SANGKIEN_PUBLIC_URL=PUBLIC_URL,
            SANGKIEN_LINK_SECRET=LINK_SECRET,
            SANGKIEN_ZALO_WEBHOOK_URL=f"http://127.0.0.1:{port}/zalo/webhook",
            SANGKIEN_ZALO_WEBHOOK_SECRET=SECRET,
        )

    first = await serve(ports[0], "files-a")
    second = None
    stored = f"{hashlib.sha256(JPEG).hexdigest()}.jpg"
    link = FileLinks(PUBLIC_URL, LINK_SECRET).url_for(stored, "anh.jpg", datetime.now(UTC))
    path = link.removeprefix(PUBLIC_URL)
    try:
        async with aiohttp.ClientSession() as http:
            await wait_healthy(http, ports[0])
            await _until(lambda: zalo.webhook_url is not None)
            # a worker's photo reaches the first process; it is in the bucket before the
            # worker hears it was received
            await full_submission(FakeZaloPerson(zalo, "5f1e2d3c4b5a69788796"), zalo)
            assert s3.read(f"sangkien/{stored[:2]}/{stored}") == JPEG
            second = await serve(ports[1], "files-b")
            await wait_healthy(http, ports[1])
            assert not (tmp_path / "files-b" / stored[:2] / stored).exists()
            async with http.get(f"http://127.0.0.1:{ports[1]}{path}") as response:
                assert response.status == 200
                assert await response.read() == JPEG
            assert (tmp_path / "files-b" / stored[:2] / stored).read_bytes() == JPEG
            forged = path.replace("sig=", "sig=0")
            async with http.get(f"http://127.0.0.1:{ports[1]}{forged}") as response:
                assert response.status == 403
    finally:
        for process in (first, second):
            if process is not None:
                await stop_bot(process)
        await zalo.stop()


async def test_the_bucket_is_written_through_and_read_back(s3: S3Server, tmp_path: Path) -> None:
    here = FileStore(tmp_path / "here", Bucket(s3.url("p")))
    there = FileStore(tmp_path / "there", Bucket(s3.url("p")))
    digest = await here.put(b"%PDF-1.4 hello", "pdf")
    assert s3.read(f"p/{digest[:2]}/{digest}.pdf") == b"%PDF-1.4 hello"
    fetched = await there.find(f"{digest}.pdf")
    assert fetched is not None and fetched.read_bytes() == b"%PDF-1.4 hello"
    export = await here.put_export(b"a,b\n", "csv")
    assert (await there.find(export.name)) == tmp_path / "there" / "exports" / export.name
    assert await there.find("0" * 64 + ".pdf") is None  # nowhere: no file, no error
    # erasure on one machine: gone from the bucket, so from every machine's next request
    assert await here.discard([(digest, "pdf")]) == 1
    assert s3.read(f"p/{digest[:2]}/{digest}.pdf") is None
    await here.sweep_exports(everything=True)
    assert s3.read(f"p/exports/{export.name}") is None
    # the other machine's cached copies leave its disk at its own sweep (a day later)
    assert (tmp_path / "there" / digest[:2] / f"{digest}.pdf").exists()


async def test_exports_leave_the_bucket_after_their_hour(s3: S3Server, tmp_path: Path) -> None:
    store = FileStore(tmp_path / "files", Bucket(s3.url()))
    made = await store.put_export(b"x;y\n", "csv")
    await store.sweep_exports()
    assert s3.read(f"sangkien/exports/{made.name}") == b"x;y\n"  # still within its hour
    bucket = store.bucket
    assert bucket is not None
    late = datetime.now().astimezone() + timedelta(hours=1, minutes=1)
    assert await bucket.written_before("exports", late) == [f"exports/{made.name}"]


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("files", "phải có dạng s3://tên-kho/thư-mục"),
        ("s3://", "phải có dạng s3://tên-kho/thư-mục"),
        ("s3://no-such-bucket/p", "không dùng được kho tệp s3://no-such-bucket/p"),
    ],
)
async def test_a_wrong_bucket_is_said_plainly(s3: S3Server, url: str, said: str) -> None:
    with pytest.raises(ConfigError, match=said.replace(".", r"\.")):
        await Bucket(url).reachable()


def test_a_backup_says_how_the_bucket_is_kept(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    from bot.store.db import upgrade

    upgrade(url)
    (tmp_path / "files" / "ab").mkdir(parents=True)
    (tmp_path / "files" / "ab" / "cached.pdf").write_bytes(b"%PDF")
    said = backup(url, tmp_path / "files", tmp_path / "backup", "s3://sangkien-files/sk")
    assert "kho s3://sangkien-files/sk" in said and "aws s3 sync" in said
    assert not (tmp_path / "backup" / "files").exists()  # the folder is a cache, not the files


async def _until(condition: object, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("never happened")


async def test_serve_with_an_unreachable_bucket_stops_and_says_so(tmp_path: Path) -> None:
    zalo = FakeZalo()
    await zalo.start()
    port = free_port()
    try:
        process = await start_zalo_bot(
            ["serve", "--port", str(port)],
            zalo,
            tmp_path,
            SANGKIEN_FILES_URL="s3://sangkien-files/sk",
            SANGKIEN_ZALO_WEBHOOK_URL=f"http://127.0.0.1:{port}/zalo/webhook",
            SANGKIEN_ZALO_WEBHOOK_SECRET=SECRET,
            AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}",  # nothing listens there
            AWS_ACCESS_KEY_ID="wrong",
            AWS_SECRET_ACCESS_KEY="wrong",
            AWS_REGION="us-east-1",
            AWS_ALLOW_HTTP="true",
        )
        _, err = await asyncio.wait_for(process.communicate(), 60)
    finally:
        await zalo.stop()
    assert process.returncode != 0
    said = err.decode()
    assert "không dùng được kho tệp s3://sangkien-files/sk" in said
    assert "wrong" not in said and "Traceback" not in said


async def test_an_officer_on_another_machine_gets_the_attachment(
    s3: S3Server, db_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    """Two machines (two apps, folders of their own, one database and bucket): a worker files
    with a PDF on one, an officer reviews on the other and gets the PDF with the card."""

    def machine(folder: str) -> Settings:
        return Settings(  # type: ignore[call-arg]
            database_url=db_url,
            files_dir=tmp_path / folder,
            files_url=s3.url("desk"),
            rate_limit_per_minute=0,
        )

    async with (
        running_app(machine("a"), clock) as first,
        running_app(machine("b"), clock) as second,
    ):
        worker = FakeChat(first.engine, user_id="worker")
        await login(worker)
        assert "SK-2022-000001" in await submit_new(worker)
        officer = FakeChat(second.engine, user_id="officer")
        await login(officer, "0987 000 111")
        await grant_role(second, clock, officer, "officer", "t24")
        await officer.send("/duyet SK-2022-000001")
        [sent] = officer.last.files
        assert sent.name == "quyet-dinh.pdf" and Path(sent.path).read_bytes() == PDF_BYTES
        assert Path(sent.path).is_relative_to(tmp_path / "b")  # fetched into its own folder


@pytest.mark.parametrize("command", [["run", "telegram"], ["chat"]])
async def test_polling_or_chat_with_an_unreachable_bucket_stops_and_says_so(
    cli: CliRun, db_url: str, command: list[str]
) -> None:
    said = await asyncio.to_thread(
        cli,
        [*command, "--db", db_url],
        SANGKIEN_TELEGRAM_TOKEN="123456:AAtoken",
        SANGKIEN_FILES_URL="s3://sangkien-files/sk",
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}",  # nothing listens there
        AWS_ACCESS_KEY_ID="wrong",
        AWS_SECRET_ACCESS_KEY="wrong",
        AWS_REGION="us-east-1",
        AWS_ALLOW_HTTP="true",
    )
    assert said.returncode == 2, said.stderr
    assert "không dùng được kho tệp s3://sangkien-files/sk" in said.stderr
