"""Collecting the reasons behind a decision, each tied to the pack setting and the document line.

Every setting a decision rests on passes through here (`add`, or `uses` for one that
shaped the outcome without a line of its own), so the provisional defaults among them
— figures the documents do not give, awaiting the county — are known at the end and
put first, plainly: `final()`.
"""
from __future__ import annotations

from shared.policy.assessment import Provisional, Reason
from shared.policy.pack import Pack


class Reasons:
    def __init__(self, pack: Pack) -> None:
        self._pack = pack
        self._awaiting = [d for d in pack.defaults if d.awaiting]  # few and cheap: Pack.awaiting() describes them all
        self._provisional: dict[str, Provisional] = {}
        self.items: list[Reason] = []

    def add(self, code: str, text: str, *, setting: str, source: str | None = None) -> None:
        """Record `text`; the rule names the pack, the setting, its document source, and any default."""
        pack = self._pack
        rule = f"{pack.name}{pack.year}年度政策包 {setting}"
        if source:
            rule += f"（依据：{source}）"
        why = pack.default_note(setting)
        if why:
            rule += f"；默认设置（文件未明确）：{why}"
        waiting_for = self.uses(setting)
        if waiting_for:
            rule += f"；暂定，待{'、'.join(waiting_for)}填入实际标准"
        self.items.append(Reason(code=code, text=text, rule=rule))

    def uses(self, setting: str) -> list[str]:
        """Note that the decision rests on `setting`; who must still fill it in, if it is provisional."""
        found = [d for d in self._awaiting if setting == d.setting or setting.startswith(d.setting + ".")]
        for d in found:
            assert d.awaiting is not None, "only awaiting defaults are kept"
            if d.setting not in self._provisional:
                self._provisional[d.setting] = Provisional(setting=d.setting, what=self._pack.describe(d.setting),
                                                           awaiting=d.awaiting, why=d.why)
        return [d.awaiting for d in found if d.awaiting]

    def provisional(self) -> tuple[Provisional, ...]:
        return tuple(self._provisional.values())

    def final(self) -> tuple[Reason, ...]:
        """The reasons, led by a plain 暂定 notice when a provisional default was used."""
        if not self._provisional:
            return tuple(self.items)
        pack, used = self._pack, self._provisional.values()
        text = "暂定：本次核定用到文件未载明的标准，暂按默认值计算，待" + "；".join(
            f"{p.awaiting}填入{p.what}" for p in used) + "后重新核定，结果可能变化"
        rule = f"{pack.name}{pack.year}年度政策包 defaults（暂定默认值）：" + "；".join(
            f"{p.setting}：{p.why}" for p in used)
        return (Reason(code="provisional_default", text=text, rule=rule), *self.items)
