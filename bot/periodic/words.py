"""The periodic report's fixed words, as content/periodic.yaml holds them (Vietnamese
administrative style, Decree 30/2020): one accessor, so a word that is missing fails
`canhgiac content check`, which draws a report over an empty period."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Words:
    periodic: dict[str, Any]

    def raw(self, key: str) -> Any:
        """The value at a dotted key, e.g. 'sections.tips'; KeyError if absent."""
        node: Any = self.periodic
        for part in key.split("."):
            node = node[part]
        return node

    def __call__(self, key: str, **values: Any) -> str:
        """A text with its {fields} filled (plain text: documents are not markup)."""
        text = self.raw(key)
        assert isinstance(text, str), key
        return text.format(**values) if values else text

    def lines(self, key: str) -> list[str]:
        found = self.raw(key)
        assert isinstance(found, list), key
        return [str(line) for line in found]

    def mapping(self, key: str) -> dict[str, str]:
        found = self.raw(key)
        assert isinstance(found, dict), key
        return {str(k): str(v) for k, v in found.items()}

    def caption(self, table: str, number: int) -> str:
        """'Bảng 8. Theo tháng'."""
        return self("table_caption", number=number, caption=self(f"tables.{table}.caption"))

    def row(self, table: str, figure: str) -> str:
        return self(f"tables.{table}.rows.{figure}")

    def status(self, code: str) -> str:
        return str(self.periodic["status"].get(code, code))
