"""The nested unit catalog (units.yaml): typed, validated, searchable."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import yaml

from rules.text import fold_words
from rules.yamlfile import describe, load_yaml

# The scope above every unit: the whole country (roles, counters, filters).
CONFEDERATION = "Tổng Liên đoàn Lao động Việt Nam"
PROVINCES = "tinh"  # the kind whose units are provinces and cities (units.yaml)
WHOLE_COUNTRY = "*"
AUTO = "auto"  # a campaign's `catalog`: the version in force on each day


class CatalogError(ValueError):
    """units.yaml is malformed; the message says where."""


@dataclass(frozen=True, slots=True)
class Unit:
    code: str
    name: str
    kind: str
    parent: str | None
    depth: int
    confirmed: bool
    successor: str | None
    children: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()  # folded name, aliases and the names merged into it
    # the 2021 provinces a 2025 province was formed from (Nghị quyết 202/2025/QH15)
    merged_from: tuple[str, ...] = ()
    imported: bool = False  # added by `sangkien units import`, not in units.yaml

    @property
    def search_key(self) -> str:
        return " ".join(self.keys)


@dataclass(frozen=True, slots=True)
class Kind:
    code: str
    name: str
    roots: tuple[str, ...]


@dataclass(slots=True)
class CatalogVersion:
    code: str
    name: str
    valid_from: date
    valid_to: date | None
    kinds: tuple[Kind, ...]
    units: dict[str, Unit] = field(default_factory=dict)
    # Units of the other versions, as this one counts them (Catalog.link): a code to the unit
    # here it became part of, and its own path (codes) and name in the version it came from.
    legacy: dict[str, str] = field(default_factory=dict)
    former_paths: dict[str, frozenset[str]] = field(default_factory=dict)
    former_names: dict[str, str] = field(default_factory=dict)
    # legacy codes that reach a unit here only through an ancestor (a dissolved district LĐLĐ)
    dissolved: frozenset[str] = frozenset()
    absorbed: dict[str, tuple[str, ...]] = field(default_factory=dict)  # here -> legacy codes
    # lineage() per code: asked three times for every filing, the same each time
    lineages: dict[str, list[str]] = field(default_factory=dict)

    def unit(self, code: str) -> Unit:
        return self.units[code]

    def resolve(self, code: str) -> str:
        """The unit here a code of any version counts under (Bắc Giang t24 -> Bắc Ninh n24);
        a code no version knows stays as it is."""
        return code if code in self.units else self.legacy.get(code, code)

    def lineage(self, code: str) -> list[str]:
        """The codes a filing at `code` counts for, the whole country last: its unit here and
        that unit's ancestors, then the units it stood under on an older map (Bắc Giang and
        its district LĐLĐ), so roles granted there keep working. Callers must not change it."""
        found = self.lineages.get(code)
        if found is None:
            here = self.resolve(code)
            path = [u.code for u in self.path(here)] if here in self.units else [here]
            former = sorted(self.former_paths.get(code, frozenset()) - set(path))
            found = self.lineages[code] = [*path, *former, WHOLE_COUNTRY]
        return found

    def within(self, root: str) -> list[str]:
        """The codes filings inside a unit may carry: its subtree's, the older units' that
        became part of it, and for a unit of an older map the codes filed under it."""
        if root in self.units:
            return self.filed_codes([u.code for u in self.subtree(root)])
        return sorted(code for code, path in self.former_paths.items() if root in path)

    def filed_codes(self, codes: list[str]) -> list[str]:
        """The codes filings may carry for these units: theirs and the older units' that
        became part of them."""
        found = dict.fromkeys(codes)
        for code in codes:
            found.update(dict.fromkeys(self.absorbed.get(code, ())))
        return list(found)

    def former_label(self, code: str) -> str | None:
        """“Bắc Giang (cũ)” for a unit of another version that is now part of one here."""
        if code in self.units or code not in self.former_names:
            return None
        return f"{self.former_names[code]} (cũ)"

    def path(self, code: str) -> list[Unit]:
        """The unit and its ancestors, top first."""
        chain: list[Unit] = []
        current: str | None = code
        while current is not None:
            unit = self.units[current]
            chain.append(unit)
            current = unit.parent
        return chain[::-1]

    def label(self, code: str) -> str:
        if code not in self.units and code in self.former_names:
            return f"{self.former_names[code]} (cũ, nay thuộc {self.label(self.legacy[code])})"
        return " › ".join(u.name for u in self.path(code))

    def knows(self, code: str) -> bool:
        """A unit of this version, or one of an older map that became part of one here."""
        return code in self.units or code in self.former_names

    def scope_label(self, code: str) -> str:
        """The label of a unit, or of the whole country."""
        return "Toàn quốc" if code == WHOLE_COUNTRY else self.label(code)

    def union_name(self, code: str) -> str:
        """The union a unit stands for, as its documents head them: a province is its
        Liên đoàn Lao động; other units are named as unions already."""
        if code == WHOLE_COUNTRY:
            return CONFEDERATION
        unit = self.units[code]
        if unit.parent is None and any(
            code in kind.roots for kind in self.kinds if kind.code == PROVINCES
        ):
            city = unit.name.startswith("Thành phố")
            return f"Liên đoàn Lao động {unit.name if city else 'tỉnh ' + unit.name}"
        return unit.name

    def issuer_lines(self, code: str) -> tuple[str, ...]:
        """The two header lines of a document the unit issues (Decree 30/2020/NĐ-CP: the
        body above it, then the issuing body), upper case."""
        if code == WHOLE_COUNTRY or code not in self.units:
            return (CONFEDERATION.upper(),)
        parent = self.units[code].parent
        above = self.union_name(parent) if parent else CONFEDERATION
        return (above.upper(), self.union_name(code).upper())

    def where(self, code: str) -> str:
        """A unit inside a sentence: “tại Bắc Giang”, or “trên phạm vi toàn quốc”."""
        return "trên phạm vi toàn quốc" if code == WHOLE_COUNTRY else f"tại {self.label(code)}"

    def describe(self, code: str | None) -> str:
        """The label of a unit (“Bắc Ninh — Bắc Giang (cũ)” for a filing at a unit it
        absorbed: both, as filed and as counted now), or the bare code when no version knows
        it."""
        if code is None:
            return "—"
        if code in self.units:
            return self.label(code)
        here = self.resolve(code)
        if here in self.units:
            return f"{self.label(here)} — {self.former_names[code]} (cũ)"
        return code

    def subtree(self, code: str) -> Iterator[Unit]:
        stack = [code]
        while stack:
            unit = self.units[stack.pop()]
            yield unit
            stack.extend(reversed(unit.children))

    def exact(self, query: str) -> Unit | None:
        """The one unit named exactly so (ignoring case, accents, punctuation, 'tỉnh',
        'LĐLĐ'...), if any."""
        key = search_key(query)
        found = [
            u for u in self.units.values() if key in u.keys or _strip_unit_words(u.keys[0]) == key
        ]
        if not found:
            return None
        top = min(u.depth for u in found)
        shallowest = [u for u in found if u.depth == top]
        return shallowest[0] if len(shallowest) == 1 else None

    def found_label(self, code: str, query: str) -> str:
        """A search result's label; one found by a name merged into it says so:
        “Bắc Ninh (gồm Bắc Giang cũ)”."""
        unit, key = self.units[code], search_key(query)
        merged = [
            name
            for name in unit.merged_from
            if name != unit.name and _words(name) and _words(name) in key
        ]
        label = self.label(code)
        return f"{label} (gồm {', '.join(merged)} cũ)" if merged else label

    def search(self, query: str, limit: int = 40) -> list[Unit]:
        """Units whose name matches the query, best first: the name or an alias itself; the
        words at the start of a name; the words as whole words anywhere; every word, in any
        order; words that start a name's words; anywhere inside (so “Than” lists the coal
        union before Thanh Hóa); when nothing matches so, a name of two words or more said
        inside a sentence (“tôi làm ở LĐLĐ Bắc Giang”)."""
        key = search_key(query)
        if not key:
            return []
        whole = re.compile(rf"\b{re.escape(key)}\b")
        starts = re.compile(rf"\b{re.escape(key)}")
        words = key.split(" ")
        said = f" {key} "
        scored, inside = [], []
        for unit in self.units.values():
            text = unit.search_key
            if key in unit.keys or _strip_unit_words(unit.keys[0]) == key:
                rank = 0
            elif any(_strip_unit_words(k).startswith(key + " ") for k in unit.keys):
                rank = 1
            elif whole.search(text):
                rank = 2
            elif all(re.search(rf"\b{re.escape(w)}\b", text) for w in words):
                rank = 3
            elif starts.search(text):
                rank = 4
            elif key in text:
                rank = 5
            else:
                if any(" " in k and f" {k} " in said for k in map(_strip_unit_words, unit.keys)):
                    inside.append((6, unit.depth, unit.name, unit))
                continue
            scored.append((rank, unit.depth, unit.name, unit))
        scored = scored or inside
        scored.sort(key=lambda item: item[:3])
        return [item[3] for item in scored[:limit]]


# Words people add in front of a unit's name that should not block a match.
_UNIT_WORDS = re.compile(
    r"^(?:(?:ldld|lien doan lao dong|cong doan|cd|tinh|thanh pho|tp|huyen|quan|thi xa|nganh)\s+)+"
)


def _strip_unit_words(key: str) -> str:
    stripped = _UNIT_WORDS.sub("", key).strip()
    return stripped or key


# Short forms people type, as folded words.
ABBREVIATIONS = {
    "kcn": "khu cong nghiep",
    "kcx": "khu che xuat",
    "hcm": "ho chi minh",
    "tphcm": "thanh pho ho chi minh",
    "ldld": "lien doan lao dong",
    "cd": "cong doan",
    "cdcs": "cong doan co so",
    "gtvt": "giao thong van tai",
    "nn": "nong nghiep",
    "ptnt": "phat trien nong thon",
}


def _words(text: str) -> str:
    """Folded, without punctuation ('Bà Rịa - Vũng Tàu' -> 'ba ria vung tau'), short forms
    written out."""
    return " ".join(ABBREVIATIONS.get(word, word) for word in fold_words(text).split(" "))


def search_key(query: str) -> str:
    return _strip_unit_words(_words(query))


@dataclass(slots=True)
class Catalog:
    versions: dict[str, CatalogVersion]

    def version(self, code: str) -> CatalogVersion:
        try:
            return self.versions[code]
        except KeyError:
            raise CatalogError(f"không có phiên bản danh mục “{code}”") from None

    def for_campaign(self, code: str, day: date) -> CatalogVersion:
        """The version a campaign names (`auto`: the one in force on the day)."""
        return self.in_force(day) if code == AUTO else self.version(code)

    def in_force(self, day: date) -> CatalogVersion:
        """The version valid on a day (`catalog: auto`): the latest that has started."""
        started = [v for v in self.versions.values() if v.valid_from <= day]
        if not started:
            return min(self.versions.values(), key=lambda v: v.valid_from)
        return max(started, key=lambda v: v.valid_from)

    def link(self) -> None:
        """Carry imported sub-units forward to the newer versions and let every version
        count the others' units (see CatalogVersion.legacy); run after any change."""
        ordered = sorted(self.versions.values(), key=lambda v: v.valid_from)
        for index, older in enumerate(ordered):
            for newer in ordered[index + 1 :]:
                _carry_imported(older, newer)
        for index, version in enumerate(ordered):
            _link_version(version, ordered[:index])


def _heir(source: CatalogVersion, code: str, target: CatalogVersion) -> tuple[str, bool] | None:
    """The unit of `target` a unit of `source` became part of, and whether it did so itself
    (not only through an ancestor)."""
    for depth, unit in enumerate(reversed(source.path(code))):
        if unit.code in target.units:
            return unit.code, depth == 0
        if unit.successor in target.units:
            return str(unit.successor), depth == 0
    return None


def _carry_imported(older: CatalogVersion, newer: CatalogVersion) -> None:
    """Sub-units imported under an older version's unit follow it into the newer version
    (a grassroots union under Bắc Giang t24 appears under Bắc Ninh n24)."""
    roots = [code for kind in older.kinds for code in kind.roots]
    for root in roots:
        for unit in older.subtree(root):
            if not unit.imported or unit.code in newer.units or unit.parent is None:
                continue
            heir = _heir(older, unit.parent, newer)
            if heir is not None:
                _place(newer, NewUnit(unit.code, unit.name, heir[0], unit.keys[1:]))


def _link_version(version: CatalogVersion, others: list[CatalogVersion]) -> None:
    version.legacy, version.former_paths, version.former_names = {}, {}, {}
    version.lineages = {}
    dissolved, absorbed = set(), defaultdict(list)
    for other in others:
        for code in other.units:
            path = frozenset(u.code for u in other.path(code))
            version.former_paths[code] = version.former_paths.get(code, frozenset()) | path
            if code in version.units or code in version.legacy:
                continue
            heir = _heir(other, code, version)
            if heir is None:
                continue
            version.legacy[code], version.former_names[code] = heir[0], other.units[code].name
            absorbed[heir[0]].append(code)
            if not heir[1]:
                dissolved.add(code)
    version.dissolved = frozenset(dissolved)
    version.absorbed = {code: tuple(found) for code, found in absorbed.items()}


def _require(raw: Any, key: str, where: str) -> Any:
    if not isinstance(raw, dict) or key not in raw or raw[key] in (None, ""):
        raise CatalogError(f"{where}: thiếu trường “{key}”")
    return raw[key]


def _walk(
    version: CatalogVersion,
    raw_units: Any,
    kind: str,
    parent: str | None,
    depth: int,
    ancestors: set[int],
    where: str,
) -> tuple[str, ...]:
    if not isinstance(raw_units, list):
        raise CatalogError(f"{where}: cần một danh sách đơn vị")
    if id(raw_units) in ancestors:
        raise CatalogError(f"{where}: danh mục có vòng lặp (một đơn vị chứa chính nó)")
    ancestors.add(id(raw_units))
    codes = []
    for index, raw in enumerate(raw_units):
        here = f"{where}[{index}]"
        code = str(_require(raw, "code", here))
        name = str(_require(raw, "name", here))
        if not re.fullmatch(r"[a-z0-9][a-z0-9_.\-]*", code):
            raise CatalogError(f"{here}: mã “{code}” chỉ được gồm chữ thường, số, . _ -")
        if code in version.units:
            raise CatalogError(
                f"{here}: mã đơn vị “{code}” bị trùng trong phiên bản {version.code}"
            )
        version.units[code] = Unit(code, name, kind, parent, depth, True, None)  # placeholder
        children = _walk(
            version,
            raw.get("children") or [],
            kind,
            code,
            depth + 1,
            ancestors,
            f"{here}.children",
        )
        version.units[code] = Unit(
            code=code,
            name=name,
            kind=kind,
            parent=parent,
            depth=depth,
            confirmed=bool(raw.get("confirmed", True)),
            successor=str(raw["successor"]) if raw.get("successor") else None,
            children=children,
            keys=tuple(
                dict.fromkeys(
                    _words(n) for n in [name, *raw.get("aliases", []), *raw.get("merged_from", [])]
                )
            ),
            merged_from=tuple(str(n) for n in raw.get("merged_from") or ()),
        )
        codes.append(code)
    ancestors.discard(id(raw_units))
    return tuple(codes)


def _version(raw: Any, index: int) -> CatalogVersion:
    where = f"versions[{index}]"
    version = CatalogVersion(
        code=str(_require(raw, "code", where)),
        name=str(_require(raw, "name", where)),
        valid_from=date.fromisoformat(str(_require(raw, "valid_from", where))),
        valid_to=date.fromisoformat(str(raw["valid_to"])) if raw.get("valid_to") else None,
        kinds=(),
    )
    kinds = []
    for k_index, raw_kind in enumerate(_require(raw, "kinds", where)):
        k_where = f"{where}.kinds[{k_index}]"
        code = str(_require(raw_kind, "code", k_where))
        roots = _walk(
            version, _require(raw_kind, "units", k_where), code, None, 0, set(), f"{k_where}.units"
        )
        kinds.append(Kind(code, str(_require(raw_kind, "name", k_where)), roots))
    version.kinds = tuple(kinds)
    return version


def load_catalog(text: str) -> Catalog:
    """Parse and validate units.yaml text; raises CatalogError with a readable reason."""
    try:
        raw = load_yaml(text)
        versions = [_version(v, i) for i, v in enumerate(_require(raw, "versions", "units.yaml"))]
    except CatalogError:
        raise
    except yaml.YAMLError as exc:
        raise CatalogError(f"units.yaml không đọc được: {describe(exc)}") from exc
    except (TypeError, ValueError, AttributeError) as exc:
        raise CatalogError(f"units.yaml không đọc được: {exc}") from exc
    catalog = Catalog({v.code: v for v in versions})
    if len(catalog.versions) != len(versions):
        raise CatalogError("mã phiên bản danh mục bị trùng")
    for version in versions:
        for unit in version.units.values():
            if unit.successor and not any(unit.successor in v.units for v in versions):
                raise CatalogError(
                    f"đơn vị “{unit.code}” ({version.code}) trỏ tới đơn vị kế thừa "
                    f"“{unit.successor}” không có trong danh mục"
                )
    catalog.link()
    return catalog


@dataclass(frozen=True, slots=True)
class NewUnit:
    """A unit from an import file (or the extra catalog file): under an existing parent."""

    code: str
    name: str
    parent: str
    aliases: tuple[str, ...] = ()
    line: int = 0  # where it was read, for the messages
    # its parent on an older map (a district LĐLĐ dissolved on 1/7/2025): the unit is placed
    # there too, so the older view still shows it where it was
    old_parent: str | None = None


def add_units(version: CatalogVersion, new: list[NewUnit], base: set[str]) -> list[str]:
    """Add or rename units in `version`; returns the problems (nothing is changed when there
    are any). Units of `base` (units.yaml itself) cannot be changed by an import; a parent may
    come later in the same list."""
    problems = []
    seen: set[str] = set()
    for unit in new:
        where = f"dòng {unit.line} ({unit.code or 'không có mã'})" if unit.line else unit.code
        if not re.fullmatch(r"[a-z0-9][a-z0-9_.\-]*", unit.code):
            problems.append(f"{where}: mã chỉ được gồm chữ thường, số, . _ -")
        if unit.code in seen:
            problems.append(f"{where}: mã bị trùng trong tệp")
        if unit.code in base:
            problems.append(f"{where}: mã đã có trong units.yaml, không sửa bằng tệp nhập")
        if not unit.name.strip():
            problems.append(f"{where}: thiếu tên đơn vị")
        seen.add(unit.code)
    pending = {u.code: u for u in new}
    order: list[NewUnit] = []
    while pending:
        placed = {u.code for u in order}
        ready = [u for u in pending.values() if u.parent in version.units or u.parent in placed]
        if not ready:
            problems += [
                f"{f'dòng {u.line} ({u.code})' if u.line else u.code}: đơn vị cấp trên "
                f"“{u.parent}” không có trong danh mục"
                for u in pending.values()
            ]
            break
        for unit in ready:
            order.append(unit)
            del pending[unit.code]
    if problems:
        return problems
    for unit in order:  # parents first
        _place(version, unit)
    return []


def _place(version: CatalogVersion, new: NewUnit) -> None:
    version.lineages.clear()  # the tree changes under them
    old = version.units.get(new.code)
    parent = version.units[new.parent]
    if old is not None and old.parent != new.parent and old.parent is not None:
        former = version.units[old.parent]
        version.units[former.code] = replace(
            former, children=tuple(c for c in former.children if c != new.code)
        )
        parent = version.units[new.parent]
    if new.code not in parent.children:
        version.units[parent.code] = replace(parent, children=(*parent.children, new.code))
    version.units[new.code] = Unit(
        code=new.code,
        name=new.name.strip(),
        kind=parent.kind,
        parent=parent.code,
        depth=parent.depth + 1,
        confirmed=True,
        successor=None,
        children=old.children if old else (),
        keys=tuple(dict.fromkeys(_words(n) for n in [new.name, *new.aliases])),
        imported=True,
    )


def load_extra(catalog: Catalog, text: str) -> None:
    """Apply the extra units file (written by `sangkien units import`) to the catalog."""
    try:
        raw = load_yaml(text) or {}
        for code, units in (raw.get("versions") or {}).items():
            version = catalog.version(str(code))
            new = [_new_unit(item) for item in units]
            problems = add_units(version, new, set(version.units))
            if problems:
                raise CatalogError("; ".join(problems[:5]))
            _place_on_older_maps(catalog, version, new)
        catalog.link()
    except CatalogError:
        raise
    except (yaml.YAMLError, TypeError, ValueError, AttributeError, KeyError) as exc:
        raise CatalogError(f"tệp đơn vị bổ sung không đọc được: {exc}") from exc


def _new_unit(item: dict[str, Any]) -> NewUnit:
    return NewUnit(
        str(item["code"]),
        str(item["name"]),
        str(item["parent"]),
        tuple(str(a) for a in item.get("aliases") or ()),
        old_parent=str(item["old_parent"]) if item.get("old_parent") else None,
    )


def _place_on_older_maps(catalog: Catalog, version: CatalogVersion, new: list[NewUnit]) -> None:
    """Units imported with an old parent are placed under it in the version that has it."""
    for unit in new:
        if unit.old_parent is None:
            continue
        older = [v for v in catalog.versions.values() if unit.old_parent in v.units]
        if not older:
            raise CatalogError(
                f"{unit.code}: đơn vị cấp trên cũ “{unit.old_parent}” không có trong danh mục"
            )
        for other in older:
            if other is not version and unit.code not in other.units:
                _place(other, replace(unit, parent=unit.old_parent))
