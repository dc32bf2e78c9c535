"""Collecting the reasons behind a decision, each tied to the pack setting and the document line."""
from __future__ import annotations

from shared.policy.assessment import Reason
from shared.policy.pack import Pack


class Reasons:
    def __init__(self, pack: Pack) -> None:
        self._pack = pack
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
        self.items.append(Reason(code=code, text=text, rule=rule))
