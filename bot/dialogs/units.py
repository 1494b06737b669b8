"""The nested unit menu: kind -> unit -> sub-units, with paging, back and type-to-search."""

from __future__ import annotations

from typing import Any

from bot.access import COLLECTOR, OFFICER, scope_of
from bot.dialogs.account import save_profile
from bot.dialogs.engine import Ctx, Goto, Outcome, Stay, Step
from bot.dialogs.types import Expect, Option
from rules.text import clean

SEARCH_LIMIT = 40


class UnitStep(Step):
    key = "unit"
    in_draft = True
    back = "workplace"
    expects = Expect.CHOICE
    matches_parts = False  # typing searches the whole catalog
    next = "target_group"

    def text(self, ctx: Ctx) -> str:
        catalog, local = ctx.services.catalog, ctx.local
        if "results" in local:
            return (
                f"Tìm “{local['query']}”: {len(local['results'])} đơn vị phù hợp. "
                "Chọn đơn vị của bạn, hoặc gõ tên khác để tìm lại."
            )
        if "at" in local:
            unit = catalog.unit(local["at"])
            return (
                f"{catalog.label(unit.code)}\nChọn đơn vị trực thuộc nơi bạn sinh hoạt "
                f"công đoàn, hoặc chọn chính {unit.name}."
            )
        if "kind" in local:
            kind = next(k for k in catalog.kinds if k.code == local["kind"])
            return f"Chọn đơn vị thuộc “{kind.name}” (hoặc gõ tên để tìm, ví dụ: Bắc Giang)."
        return (
            "Bạn sinh hoạt công đoàn ở đơn vị nào? Chọn loại đơn vị, hoặc gõ tên để tìm "
            "(ví dụ: Bắc Giang, Công đoàn Giáo dục)."
        )

    def options(self, ctx: Ctx) -> list[Option]:
        catalog, local = ctx.services.catalog, ctx.local
        if "results" in local:
            query = str(local.get("query", ""))
            return [
                Option(catalog.found_label(code, query), f"unit:{code}")
                for code in local["results"]
            ]
        if "at" in local:
            unit = catalog.unit(local["at"])
            return [Option(f"✔ Chọn chính {unit.name}", f"pick:{unit.code}")] + [
                Option(catalog.unit(code).name, f"unit:{code}") for code in unit.children
            ]
        if "kind" in local:
            kind = next(k for k in catalog.kinds if k.code == local["kind"])
            return [Option(catalog.unit(code).name, f"unit:{code}") for code in kind.roots]
        return [Option(kind.name, f"kind:{kind.code}") for kind in catalog.kinds]

    def can_go_back(self, ctx: Ctx) -> bool:
        return True

    async def on_back(self, ctx: Ctx) -> Outcome:
        local = ctx.local
        if "results" in local:
            self._replace(ctx, local.get("before", {}))
        elif "at" in local:
            parent = ctx.services.catalog.unit(local["at"]).parent
            self._replace(ctx, {"kind": local["kind"], **({"at": parent} if parent else {})})
        elif "kind" in local:
            self._replace(ctx, {})
        else:
            return Goto(self.back or "menu")
        return Goto(self.key)

    async def on_choice(self, ctx: Ctx, value: str) -> Outcome:
        catalog = ctx.services.catalog
        action, _, code = value.partition(":")
        if action == "kind" and any(k.code == code for k in catalog.kinds):
            self._replace(ctx, {"kind": code})
            return Goto(self.key)
        if code not in catalog.units:
            return await super().on_choice(ctx, value)
        unit = catalog.unit(code)
        if action == "unit" and unit.children:
            self._replace(ctx, {"kind": unit.kind, "at": code})
            return Goto(self.key)
        if ctx.draft.get("for_member"):
            # a collector files only for members of units they collect for
            scope = await scope_of(ctx.uow, ctx.person_id, COLLECTOR, OFFICER)
            if not scope.covers(catalog, code):
                return Stay(
                    f"{catalog.label(code)} nằm ngoài phạm vi bạn được nộp hộ. Vui lòng chọn "
                    "đơn vị của tác giả trong phạm vi của bạn."
                )
        ctx.draft["unit_code"] = code
        if not ctx.draft.get("for_member"):
            save_profile(ctx)
        return Goto(self.next, f"Đơn vị: {catalog.label(code)}.")

    async def on_text(self, ctx: Ctx, text: str) -> Outcome:
        catalog = ctx.services.catalog
        exact = catalog.exact(text)
        if exact is not None:
            return await self._chosen_by_name(ctx, exact.code, text)
        found = catalog.search(text, SEARCH_LIMIT)
        if not found:
            return Stay(
                f"Không tìm thấy đơn vị nào khớp “{clean(text)[:60]}”. Hãy gõ ngắn hơn, chỉ tên "
                "tỉnh hoặc ngành (ví dụ: Bắc Giang, Giáo dục), hoặc chọn trong danh sách."
            )
        if len(found) == 1:
            return await self._chosen_by_name(ctx, found[0].code, text)
        before = {k: v for k, v in ctx.local.items() if k not in ("results", "query", "before")}
        self._replace(
            ctx, {"results": [u.code for u in found], "query": clean(text)[:60], "before": before}
        )
        return Goto(self.key)

    async def _chosen_by_name(self, ctx: Ctx, code: str, typed: str) -> Outcome:
        """A unit found by the name typed; one found by a merged province's old name says
        so (“Đơn vị: Bắc Ninh (gồm Bắc Giang cũ)”), so nobody wonders where theirs went."""
        outcome = await self.on_choice(ctx, f"unit:{code}")
        catalog = ctx.services.catalog
        label = catalog.found_label(code, typed)
        if isinstance(outcome, Goto) and label != catalog.label(code):
            return Goto(outcome.step, f"Đơn vị: {label}.")
        return outcome

    @staticmethod
    def _replace(ctx: Ctx, local: dict[str, Any]) -> None:
        ctx.state["local"] = local
