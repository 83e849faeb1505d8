"""One table model: a titled table with paragraphs around it, built where the data is (a scenario
builds its own), rendered to markdown (cells escaped) or handed to report/'s HTML template (which
escapes every value itself)."""

from __future__ import annotations

from dataclasses import dataclass, field


def md_cell(value: object) -> str:
    """A value as a markdown table cell: no pipe or newline breaks the row, no tag reaches a page."""
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


@dataclass
class Table:
    title: str = ""
    head: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    before: list[str] = field(default_factory=list)  # paragraphs above the table
    after: list[str] = field(default_factory=list)  # and below it
    id: str = ""

    def markdown(self) -> str:
        lines = [f"## {self.title}", ""] if self.title else []
        lines += [*self.before, *([""] if self.before else [])]
        if self.head:
            lines.append("| " + " | ".join(md_cell(h) for h in self.head) + " |")
            lines.append("|" + "---|" * len(self.head))
            lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in self.rows]
        lines += [*([""] if self.after else []), *self.after]
        return "\n".join(lines)
