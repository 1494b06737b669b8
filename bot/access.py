"""Who may do what where: roles over unit subtrees, checked in this one place."""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.models import RoleGrant
from bot.store.uow import UnitOfWork
from rules.units import WHOLE_COUNTRY, CatalogVersion

HELPER, OFFICER, ADMIN, COLLECTOR = "helper", "officer", "admin", "collector"
ROLES = (HELPER, OFFICER, ADMIN, COLLECTOR)
ROLE_NAMES = {
    HELPER: "hỗ trợ (Tổ hỗ trợ sáng kiến)",
    OFFICER: "cán bộ duyệt và thống kê",
    ADMIN: "quản trị",
    COLLECTOR: "nộp hộ sáng kiến của đoàn viên",
}
ALL_UNITS = WHOLE_COUNTRY
# Roles that may see authors' phone numbers (in review cards and exports).
SEES_PHONES = frozenset({OFFICER, ADMIN})
DENIED = "Lệnh này dành cho cán bộ công đoàn được phân quyền. Bạn chưa có quyền dùng lệnh này."
OUT_OF_SCOPE = "Đơn vị này nằm ngoài phạm vi bạn được phân quyền."


@dataclass(frozen=True, slots=True)
class Scope:
    """The unit subtrees a person holds some roles over, each root with the roles granted on
    it; empty means no access. A role counts only inside the subtree it was granted on."""

    grants: tuple[tuple[str, str], ...]  # (unit code, role)

    @property
    def roots(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(unit for unit, _role in self.grants))

    @property
    def everything(self) -> bool:
        return ALL_UNITS in self.roots

    def __bool__(self) -> bool:
        return bool(self.grants)

    def covers(self, catalog: CatalogVersion, unit_code: str) -> bool:
        return bool(self.roles_at(catalog, unit_code))

    def roles_at(self, catalog: CatalogVersion, unit_code: str) -> frozenset[str]:
        """The roles that reach this unit: those granted on it, on an ancestor or on '*'.
        A role granted on a unit of an older map (Bắc Giang, before 1/7/2025) reaches what
        was filed under that unit, not the whole unit it became part of (docs/operations.md)."""
        path = set(catalog.lineage(unit_code))
        return frozenset(role for unit, role in self.grants if unit in path)

    def holds(self, catalog: CatalogVersion, unit_code: str, roles: frozenset[str]) -> bool:
        return bool(self.roles_at(catalog, unit_code) & roles)

    def units(self, catalog: CatalogVersion) -> list[str] | None:
        """Every unit code inside the scope; None means all units."""
        if self.everything:
            return None
        return sorted({code for root in self.roots for code in catalog.within(root)})

    @property
    def default_unit(self) -> str:
        return ALL_UNITS if self.everything else self.roots[0]


def scope_from(grants: list[RoleGrant], roles: frozenset[str]) -> Scope:
    chosen = [g for g in grants if g.role in roles or g.role == ADMIN]
    return Scope(tuple(dict.fromkeys((g.unit_code, g.role) for g in chosen)))


async def scope_of(uow: UnitOfWork, person_id: int | None, *roles: str) -> Scope:
    if person_id is None:
        return Scope(())
    return scope_from(await uow.roles.of_person(person_id), frozenset(roles))
