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
    """The unit subtrees a person holds some roles over; empty means no access."""

    roots: tuple[str, ...]
    roles: frozenset[str]

    @property
    def everything(self) -> bool:
        return ALL_UNITS in self.roots

    def __bool__(self) -> bool:
        return bool(self.roots)

    def covers(self, catalog: CatalogVersion, unit_code: str) -> bool:
        if self.everything:
            return True
        if unit_code not in catalog.units:
            return False
        path = {unit.code for unit in catalog.path(unit_code)}
        return any(root in path for root in self.roots)

    def units(self, catalog: CatalogVersion) -> list[str] | None:
        """Every unit code inside the scope; None means all units."""
        if self.everything:
            return None
        codes = {
            u.code for root in self.roots if root in catalog.units for u in catalog.subtree(root)
        }
        return sorted(codes)

    @property
    def default_unit(self) -> str:
        return ALL_UNITS if self.everything else self.roots[0]


def scope_from(grants: list[RoleGrant], roles: frozenset[str]) -> Scope:
    chosen = [g for g in grants if g.role in roles or g.role == ADMIN]
    return Scope(
        tuple(dict.fromkeys(g.unit_code for g in chosen)), frozenset(g.role for g in chosen)
    )


async def scope_of(uow: UnitOfWork, person_id: int | None, *roles: str) -> Scope:
    if person_id is None:
        return Scope((), frozenset())
    return scope_from(await uow.roles.of_person(person_id), frozenset(roles))
