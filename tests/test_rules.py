"""The pure rules: parsers, campaign windows, the catalog and file checks."""

from __future__ import annotations

import io
import struct
import unicodedata
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules import fields as rf
from rules.campaigns import TZ, CampaignError, check_end, load_campaigns
from rules.dates import parse_date
from rules.files import DOCX, JPEG, PDF, PNG, identify_file
from rules.phone import mask_phone, parse_phone
from rules.text import clean, clean_multiline, fold
from rules.units import CatalogError, load_catalog
from rules.verdict import Ok, Rejected

ROOT = Path(__file__).resolve().parent.parent
CAMPAIGNS = load_campaigns((ROOT / "campaigns.yaml").read_text(encoding="utf-8"))
CATALOG = load_catalog((ROOT / "units.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "raw",
    [
        "0901.234.567",
        "0901 234 567",
        "+84901234567",
        "84901234567",
        "0901-234-567",
        "(+84) 901 234 567",
        "０９０１２３４５６７",
    ],
)
def test_phone_forms_normalise_to_e164(raw: str) -> None:
    assert parse_phone(unicodedata.normalize("NFKC", raw)) == Ok("+84901234567")


@pytest.mark.parametrize(
    "raw", ["0912abc510", "12345", "091282051", "+1 415 555 0100", "0112820510", "", "☎️"]
)
def test_bad_phones_are_refused_with_a_message(raw: str) -> None:
    verdict = parse_phone(raw)
    assert isinstance(verdict, Rejected) and "10 chữ số" in verdict.message


def test_phone_mask_hides_the_middle() -> None:
    assert mask_phone("+84901234567") == "0901***567"


@pytest.mark.parametrize(
    "raw", ["01/09/2021", "1/9/2021", "2021-09-01", " 01 / 09 / 2021 ", "01.09.2021", "1-9-2021"]
)
def test_date_forms(raw: str) -> None:
    assert parse_date(raw) == Ok(date(2021, 9, 1))


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("31/02/2022", "không có trên lịch"),
        ("0/0/0", "định dạng"),
        ("1/1/2122", "Năm 2122"),
        ("hôm qua", "định dạng"),
        ("2022/13/01", "định dạng"),
        ("32/01/2022", "không có trên lịch"),
    ],
)
def test_bad_dates_say_why(raw: str, words: str) -> None:
    verdict = parse_date(raw)
    assert isinstance(verdict, Rejected) and words in verdict.message


def test_end_before_start_is_refused() -> None:
    verdict = check_end(date(2022, 1, 10), date(2022, 1, 9))
    assert isinstance(verdict, Rejected) and "trước ngày bắt đầu" in verdict.message


@pytest.mark.parametrize(
    ("raw", "amount"),
    [
        ("150.000.000", 150_000_000),
        ("150,000,000", 150_000_000),
        ("150 triệu", 150_000_000),
        ("1,5 tỷ đồng", 1_500_000_000),
        ("1.5 tỷ", 1_500_000_000),
        ("200000 VNĐ", 200_000),
        ("50k", 50_000),
        ("2 tr", 2_000_000),
    ],
)
def test_money(raw: str, amount: int) -> None:
    assert rf.parse_money_vnd(raw) == Ok(amount)


@pytest.mark.parametrize(
    "raw",
    ["nhiều tiền", "0", "-5", "1e9", "10^20", "9" * 400 + " tỷ", "9" * 5000, "1,5", "5"],
)
def test_bad_money(raw: str) -> None:
    assert isinstance(rf.parse_money_vnd(raw), Rejected)


def test_money_asks_back_when_unsure() -> None:
    several = rf.parse_money_vnd("năm đầu 10 triệu, năm sau 20 triệu")
    assert isinstance(several, Rejected) and "Có nhiều số tiền" in several.message
    bare = rf.parse_money_vnd("5")
    assert isinstance(bare, Rejected) and "5 đồng có đúng không?" in bare.message


def money_styles(amount: int) -> list[str]:
    """Ways a worker writes this amount of đồng."""
    dotted = f"{amount:,}".replace(",", ".")
    styles = [
        dotted,
        f"{amount:,}",
        str(amount),
        f"{dotted} đồng",
        f"{dotted}đ",
        f"{amount} VNĐ",
        f"Làm lợi {dotted} đồng/năm",
    ]
    millions, rest = divmod(amount, 10**6)
    if rest == 0:
        styles += [
            f"{millions} triệu",
            f"{millions}tr",
            f"{millions} TRIỆU",
            f"Tiết kiệm khoảng {millions} triệu đồng mỗi năm",
            f"{millions} triệu/năm",
        ]
    billions, below = divmod(amount, 10**9)
    if billions and below % 10**8 == 0:
        decimal = f"{billions},{below // 10**8}" if below else str(billions)
        styles += [f"{decimal} tỷ", f"{decimal.replace(',', '.')} tỷ đồng", f"{decimal} tỉ"]
    if billions and below and below % 10**6 == 0:
        styles.append(f"{billions} tỷ {below // 10**6} triệu")
    return styles


@given(
    st.one_of(
        st.integers(min_value=1_000, max_value=10**12),
        st.integers(min_value=1, max_value=999_999).map(lambda m: m * 10**6),
        st.integers(min_value=1, max_value=9_999).map(lambda t: t * 10**8),
    )
)
def test_every_style_of_an_amount_parses_to_it(amount: int) -> None:
    for written in money_styles(amount):
        assert rf.parse_money_vnd(written) == Ok(amount), written


DATE_STYLES = ["{d}/{m}/{yy}", "{d}/{m}/{y}", "{dd}/{mm}/{y}", "ngày {d} tháng {m} năm {y}"]


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    st.sampled_from(
        ["{d}/{m}/{yy}", "{d}/{m}/{y}", "{dd}/{mm}/{y}", "ngày {d} tháng {m} năm {y}"]
    ),
)
def test_every_style_of_a_date_parses_to_it(day: date, style: str) -> None:
    written = style.format(
        d=day.day,
        m=day.month,
        dd=f"{day.day:02d}",
        mm=f"{day.month:02d}",
        y=day.year,
        yy=f"{day.year % 100:02d}",
    )
    assert parse_date(written) == Ok(day), written


def test_doc_numbers_lose_a_leading_so() -> None:
    assert rf.parse_doc_number("số 5") == Ok("5")
    assert rf.parse_doc_number("Số: 45/QĐ-UBND") == Ok("45/QĐ-UBND")
    assert isinstance(rf.parse_doc_number("không số"), Rejected)


@pytest.mark.parametrize(
    "raw",
    [
        "https://drive.google.com/file/d/1AbCdEfGhIjKlMnOpQrStUv/view?usp=sharing",
        "https://drive.google.com/drive/folders/1AbCdEfGhIjKlMnOpQ",
        "drive.google.com/open?id=1AbCdEfGhIjKlMnOpQ",
        "https://docs.google.com/document/d/1AbCdEfGhIjKlMnOpQrS/edit",
    ],
)
def test_drive_links_accepted(raw: str) -> None:
    assert isinstance(rf.parse_drive_link(raw), Ok)


@pytest.mark.parametrize(
    "raw",
    [
        "http://drive.google.com/file/d/1AbCdEfGhIjKlMnOpQrStUv/view",
        "https://evil.com/drive",
        "https://drive.google.com.evil.com/file/d/1AbCdEfGhIjKlMnOpQ",
        "https://drive.google.com/",
        "javascript:alert(1)",
        "xem link nhé https://drive.google.com/file/d/1AbCdEfGhIjKlMnOpQ",
    ],
)
def test_other_links_refused(raw: str) -> None:
    assert isinstance(rf.parse_drive_link(raw), Rejected)


def test_names() -> None:
    assert rf.parse_full_name("  phạm   thị hoa ") == Ok("Phạm Thị Hoa")
    nfd = unicodedata.normalize("NFD", "Trần Văn Bắc")
    assert rf.parse_full_name(nfd) == Ok("Trần Văn Bắc")
    for bad in ["😀😀", "Nguyễn 123", "<b>An</b>", "", "A" * 81]:
        assert isinstance(rf.parse_full_name(bad), Rejected), bad


@given(st.text(max_size=300))
def test_folding_is_its_plain_definition(raw: str) -> None:
    """The fast paths of `clean` and `fold` give what the plain rules say: white space runs
    to one space; every combining mark (category Mn) dropped after NFD."""
    import re

    from rules.text import _SPACES

    assert _SPACES.sub(" ", raw) == re.sub(r"\s+", " ", raw)
    cleaned = clean(raw)
    decomposed = unicodedata.normalize("NFD", cleaned.replace("đ", "d").replace("Đ", "d"))
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    assert fold(raw) == bare.casefold()


def test_long_text_says_by_how_much() -> None:
    verdict = rf.parse_long_text("a" * 2013, "phần mô tả", 2000)
    assert isinstance(verdict, Rejected) and "vượt 13 ký tự" in verdict.message


@given(st.text(max_size=300))
def test_clean_drops_exactly_the_control_characters(raw: str) -> None:
    """Control characters (Unicode category Cc) go, but tab and newline become spaces; in
    descriptions line breaks stay. Nothing else is dropped."""
    normal = unicodedata.normalize("NFC", raw)
    assert all(unicodedata.category(ch) != "Cc" for ch in clean(raw))
    assert all(ch == "\n" or unicodedata.category(ch) != "Cc" for ch in clean_multiline(raw))
    without = "".join(ch for ch in normal if ch in "\t\n" or unicodedata.category(ch) != "Cc")
    assert clean(raw) == clean(without)
    lines = normal.replace("\r\n", "\n").replace("\r", "\n")
    without_lines = "".join(ch for ch in lines if ch == "\n" or unicodedata.category(ch) != "Cc")
    assert clean_multiline(raw) == clean_multiline(without_lines)


def test_clean_and_fold() -> None:
    assert clean("Bắc\u200b  Giang\u202e\x07") == "Bắc Giang"
    assert fold(unicodedata.normalize("NFD", "BẮC GIANG")) == "bac giang"
    assert fold("Đắk Lắk") == "dak lak"


def test_one_million_campaign_windows() -> None:
    campaign = CAMPAIGNS["1trieu"]
    at = lambda *a: datetime(*a, tzinfo=TZ)  # noqa: E731
    assert isinstance(campaign.window(at(2022, 1, 8, 6, 59)), Rejected)
    assert campaign.window(at(2022, 1, 8, 7, 0)) == Ok(campaign.phases[0])
    assert campaign.window(at(2022, 5, 31, 23, 59)) == Ok(campaign.phases[0])
    between = campaign.window(at(2022, 6, 1, 3, 0))
    assert isinstance(between, Rejected) and "chưa mở" not in between.message
    assert (
        "Giai đoạn 1 của Chương trình “01 triệu sáng kiến” đã kết thúc nhận sáng kiến ngày "
        "31/05/2022. Giai đoạn 2 bắt đầu nhận từ 07h00 ngày 01/06/2022." in between.message
    )
    assert campaign.window(at(2023, 9, 1, 23, 59)) == Ok(campaign.phases[1])
    closed = campaign.window(at(2023, 9, 2, 0, 0))
    assert isinstance(closed, Rejected) and "đã kết thúc" in closed.message
    phase1 = campaign.phases[0]
    assert isinstance(campaign.check_start(date(2021, 8, 31), phase1, date(2022, 3, 1)), Rejected)
    assert isinstance(campaign.check_start(date(2021, 9, 1), phase1, date(2022, 3, 1)), Ok)
    future = campaign.check_start(date(2022, 3, 2), phase1, date(2022, 3, 1))
    assert isinstance(future, Rejected)


def test_75k_campaign() -> None:
    campaign = CAMPAIGNS["75nghin"]
    assert campaign.description_limit == 1000
    assert [g.name for g in campaign.target_groups] == [
        "Khối doanh nghiệp",
        "Khối cơ quan hành chính, sự nghiệp",
    ]
    assert isinstance(campaign.window(datetime(2021, 4, 20, 23, 59, tzinfo=TZ)), Ok)
    assert isinstance(campaign.window(datetime(2021, 4, 21, 0, 0, tzinfo=TZ)), Rejected)


def test_bad_campaign_file() -> None:
    with pytest.raises(CampaignError):
        load_campaigns("campaigns: [{code: x}]")


def test_catalog_has_the_provinces_and_both_versions() -> None:
    old, new = CATALOG.version("2021"), CATALOG.version("2025")
    provinces = next(k for k in old.kinds if k.code == "tinh")
    assert len(provinces.roots) == 63
    assert len(next(k for k in new.kinds if k.code == "tinh").roots) == 34
    assert len(old.unit("t24").children) >= 10 and len(old.unit("t34").children) >= 8
    assert all(u.successor in new.units for u in old.units.values() if u.successor)
    assert old.unit("t24").successor == "n24"  # Bắc Giang merged into the new Bắc Ninh
    assert {k.code for k in old.kinds} == {"tinh", "nganh", "tct"}


@pytest.mark.parametrize(
    "query",
    [
        "bac giang",
        "BẮC GIANG",
        "Bắc Giang",
        "tỉnh bắc giang",
        unicodedata.normalize("NFD", "Bắc Giang"),
    ],
)
def test_catalog_search(query: str) -> None:
    version = CATALOG.version("2021")
    found = version.exact(query)
    assert found is not None and found.code == "t24"
    assert version.search(query)[0].code == "t24"


BAD_CATALOGS = {
    "duplicate": """versions: [{code: a, name: A, valid_from: 2021-01-01, kinds: [{code: k,
        name: K, units: [{code: x, name: X}, {code: x, name: Y}]}]}]""",
    "cycle": """versions: [{code: a, name: A, valid_from: 2021-01-01, kinds: [{code: k, name: K,
        units: &loop [{code: x, name: X, children: *loop}]}]}]""",
    "successor": """versions: [{code: a, name: A, valid_from: 2021-01-01, kinds: [{code: k,
        name: K, units: [{code: x, name: X, successor: nowhere}]}]}]""",
    "missing name": """versions: [{code: a, name: A, valid_from: 2021-01-01, kinds: [{code: k,
        name: K, units: [{code: x}]}]}]""",
    "not yaml": "versions: [",
}


@pytest.mark.parametrize("name", list(BAD_CATALOGS))
def test_bad_catalogs_are_refused_with_a_reason(name: str) -> None:
    with pytest.raises(CatalogError) as info:
        load_catalog(BAD_CATALOGS[name])
    assert str(info.value)


def _docx(extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_files_judged_by_bytes() -> None:
    cap = 1024 * 1024
    assert identify_file(b"%PDF-1.7 ...", cap) == Ok(PDF)
    assert identify_file(b"\xff\xd8\xff\xe0JFIF", cap) == Ok(JPEG)
    assert identify_file(b"\x89PNG\r\n\x1a\n....", cap) == Ok(PNG)
    assert identify_file(_docx(), cap) == Ok(DOCX)
    for bad in [b"MZ\x90\x00 this is an exe", b"", b"#!/bin/sh\nrm -rf /", b"a" * (cap + 1)]:
        verdict = identify_file(bad, cap)
        assert isinstance(verdict, Rejected) and verdict.message


def test_zip_bomb_renamed_docx_is_refused() -> None:
    bomb = _docx({"word/media/big.bin": b"\0" * (50 * 1024 * 1024)})
    verdict = identify_file(bomb, 20 * 1024 * 1024)
    assert isinstance(verdict, Rejected) and "giải nén" in verdict.message


def test_a_docx_whose_directory_understates_its_size_is_refused() -> None:
    """The declared sizes are a lie the file tells: 50 MB of zeros declared as 1 KB."""
    real = 50 * 1024 * 1024
    lying = bytearray(_docx({"word/media/big.bin": b"\0" * real}))
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (start := lying.find(signature, start)) != -1:
            if struct.unpack_from("<I", lying, start + offset)[0] == real:
                struct.pack_into("<I", lying, start + offset, 1024)
            start += 4
    with zipfile.ZipFile(io.BytesIO(bytes(lying))) as archive:
        assert sum(i.file_size for i in archive.infolist()) < 2048  # what it claims
    verdict = identify_file(bytes(lying), 20 * 1024 * 1024)
    assert isinstance(verdict, Rejected)


def test_plain_zip_is_not_a_docx() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", "x")
    assert isinstance(identify_file(buffer.getvalue(), 10**6), Rejected)


PARSERS = [
    parse_phone,
    parse_date,
    rf.parse_full_name,
    rf.parse_title,
    rf.parse_money_vnd,
    rf.parse_doc_number,
    rf.parse_drive_link,
    lambda t: rf.parse_birth_year(t, 2022),
    lambda t: rf.parse_long_text(t, "mô tả", 2000),
    lambda t: rf.parse_short_text(t, "chức vụ"),
]


@given(st.text(max_size=300))
def test_no_parser_raises_and_every_rejection_explains(raw: str) -> None:
    for parse in PARSERS:
        verdict = parse(raw)
        assert isinstance(verdict, Ok | Rejected)
        if isinstance(verdict, Rejected):
            assert len(verdict.message) > 10


@given(st.binary(max_size=2000))
def test_file_identification_never_raises(data: bytes) -> None:
    verdict = identify_file(data, 1000)
    assert isinstance(verdict, Ok | Rejected)


@given(st.text(max_size=200))
def test_matching_helpers_never_raise(raw: str) -> None:
    from rules.faq import best_answer
    from rules.similar import fingerprint, most_similar
    from rules.text import match_key

    version = CATALOG.version("2021")
    assert isinstance(version.search(raw), list)
    assert version.exact(raw) is None or version.exact(raw).code in version.units
    found = best_answer(raw, CAMPAIGNS["1trieu"].faq)
    assert found is None or 0 <= found < len(CAMPAIGNS["1trieu"].faq)
    other = fingerprint("Số hóa quy trình", "tiếp nhận hồ sơ")
    assert most_similar(raw, fingerprint(raw, raw), [(raw, other)]) in (None, (0, 1.0))
    assert most_similar(raw, fingerprint(raw, raw), [(raw, fingerprint(raw, raw))]) in (
        None,  # no words at all
        (0, 1.0),
    )
    assert match_key(match_key(raw)) == match_key(raw)


WORDS = st.sampled_from(["số", "hóa", "Quy", "trình", "hồ", "sơ", "bệnh", "nhân", "🔧", "."])


@given(st.lists(WORDS, max_size=30), st.lists(WORDS, max_size=30))
def test_fingerprints_score_as_the_word_pairs_do(first: list[str], second: list[str]) -> None:
    """The stored fingerprints give the Jaccard overlap of the two texts' word pairs."""
    from itertools import pairwise

    from rules.similar import fingerprint, pair_hashes, similarity
    from rules.text import match_key

    def pairs(words: list[str]) -> set[tuple[str, str]]:
        folded = match_key(" ".join(words)).split()
        return set(pairwise(folded)) if len(folded) > 1 else {(w, "") for w in folded}

    a, b = pairs(first), pairs(second)
    expected = len(a & b) / len(a | b) if a and b else 0.0
    mine = pair_hashes("", " ".join(first))
    assert similarity(mine, fingerprint(" ".join(second), "")) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("typed", "first"),
    [
        ("Bà Rịa Vũng Tàu", "t77"),
        ("ba ria-vung tau", "t77"),
        ("than khoáng sản", "ng.than_ks"),
        ("Than", "ng.than_ks"),  # a whole word beats the start of "Thanh Hóa"
        ("TKV", "ng.than_ks"),
        ("EVN", "ng.dien_luc"),
        ("Vinatex", "ng.det_may"),
        ("KCN Bắc Giang", "t24.kcn"),
        ("TP.HCM", "t79"),
        ("tp hồ chí minh", "t79"),
        ("thanh hoa", "t38"),
    ],
)
def test_unit_search_knows_punctuation_and_short_forms(typed: str, first: str) -> None:
    found = CATALOG.version("2021").search(typed, 5)
    assert found and found[0].code == first, [u.code for u in found]


@pytest.mark.parametrize(
    ("typed", "year"),
    [
        ("1988", 1988),
        ("năm 1988", 1988),
        ("Tôi sinh năm 1988 ạ", 1988),
        ("12/05/1988", 1988),
        (" 1988\n", 1988),
        ("88", None),
        ("19888", None),
        ("1988 hoặc 1989", None),
        ("một chín tám tám", None),
        ("2015", None),  # too young: told the range
    ],
)
def test_a_birth_year_on_its_own_or_in_a_sentence(typed: str, year: int | None) -> None:
    verdict = rf.parse_birth_year(typed, 2022)
    if year is None:
        assert isinstance(verdict, Rejected) and "Năm sinh" in verdict.message
    else:
        assert verdict == Ok(year)
