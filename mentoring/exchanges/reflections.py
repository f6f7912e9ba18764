"""A leader's private reflection log: write, edit and delete entries, and take the log away as
text (Markdown), a Word document or a PDF for appraisal, revalidation or CPD. No Flask here.

Every way of reading the log goes through `reflection_log`, so the page and each download show
the same entries, in the same order, each linked to the exchange it is about.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, select

from mentoring.exchanges.services import LeaderError, NotFound, get_exchange, required_text
from mentoring.models import Exchange, LeaderProfile, Reflection
from mentoring.notifications.calendar import LONDON
from mentoring.notifications.plan import when

TEXT_LIMIT = 10000
TITLE = "Leadership exchange: reflection log"


@dataclass(frozen=True)
class LogEntry:
    reflection: Reflection
    exchange_id: int | None
    exchange: str  # "Ben Mentor visits Ada Leader, Tuesday 5 January 2027, 9am to 1pm", or ""

    @property
    def written(self) -> datetime:
        return self.reflection.created_at.astimezone(LONDON)

    @property
    def heading(self) -> str:
        return f"{self.written.day} {self.written:%B %Y}, {self.written:%H:%M}"

    @property
    def paragraphs(self) -> list[str]:
        text = self.reflection.text.replace("\r\n", "\n").strip()
        return [paragraph.strip() for paragraph in text.split("\n") if paragraph.strip()]


def my_reflections(session: Session, me: LeaderProfile) -> list[Reflection]:
    """Newest first, as the page lists them."""
    return list(session.exec(
        select(Reflection)
        .where(Reflection.leader_id == me.id)
        .order_by(Reflection.created_at.desc(), Reflection.id.desc())  # type: ignore[union-attr]
    ).all())


def reflection_log(session: Session, me: LeaderProfile, *, oldest_first: bool = False,
                   ) -> list[LogEntry]:
    reflections = my_reflections(session, me)
    if oldest_first:
        reflections.reverse()
    return [LogEntry(reflection, *_exchange_of(session, reflection)) for reflection in reflections]


def _exchange_of(session: Session, reflection: Reflection) -> tuple[int | None, str]:
    exchange = (session.get(Exchange, reflection.exchange_id)
                if reflection.exchange_id is not None else None)
    if exchange is None:
        return None, ""
    host = session.get(LeaderProfile, exchange.host_id)
    visitor = session.get(LeaderProfile, exchange.visitor_id)
    day = when(exchange.starts_at, exchange.ends_at)
    return exchange.id, f"{visitor.name} visits {host.name}, {day}"


def _own_reflection(session: Session, me: LeaderProfile, reflection_id: int) -> Reflection:
    reflection = session.get(Reflection, reflection_id)
    if reflection is None or reflection.leader_id != me.id:
        raise NotFound  # someone else's entry looks like no entry at all
    return reflection


def _checked(session: Session, me: LeaderProfile, text: str, exchange_id: int | None) -> str:
    text = required_text(text, "text", "Enter your reflection", TEXT_LIMIT)
    if exchange_id is not None:
        get_exchange(session, me, exchange_id)  # NotFound for someone else's exchange
    return text


def add_reflection(session: Session, me: LeaderProfile, text: str, exchange_id: int | None,
                   now: datetime) -> Reflection:
    reflection = Reflection(leader_id=me.id, exchange_id=exchange_id, created_at=now,
                            text=_checked(session, me, text, exchange_id))
    session.add(reflection)
    session.flush()
    return reflection


def edit_reflection(session: Session, me: LeaderProfile, reflection_id: int, text: str,
                    exchange_id: int | None) -> Reflection:
    """Keeps the date it was first written: the log is in the order things happened."""
    reflection = _own_reflection(session, me, reflection_id)
    reflection.text = _checked(session, me, text, exchange_id)
    reflection.exchange_id = exchange_id
    session.add(reflection)
    session.flush()
    return reflection


def delete_reflection(session: Session, me: LeaderProfile, reflection_id: int) -> None:
    session.delete(_own_reflection(session, me, reflection_id))
    session.flush()


def get_reflection(session: Session, me: LeaderProfile, reflection_id: int) -> Reflection:
    return _own_reflection(session, me, reflection_id)


# --- taking the log away ---------------------------------------------------------------------


def log_as_markdown(session: Session, me: LeaderProfile, now: datetime, base_url: str) -> str:
    """Oldest first, each entry under its date, the exchange it is about linked to its page."""
    lines = [f"# {TITLE}", "", f"{me.name}. Exported on {_day(now)}.", ""]
    for entry in reflection_log(session, me, oldest_first=True):
        lines += [f"## {entry.heading}", ""]
        if entry.exchange:
            lines += [f"*Exchange: [{entry.exchange}]({exchange_url(base_url, entry)})*", ""]
        lines += ["\n".join(entry.paragraphs), ""]
    return "\n".join(lines)


def log_as_word(session: Session, me: LeaderProfile, now: datetime, base_url: str) -> bytes:
    """The same log as a Word document (python-docx): headings a reader can navigate by, and a
    link from each entry to its exchange."""
    from docx import Document  # only when someone downloads one

    document = Document()
    document.core_properties.title = TITLE
    document.core_properties.author = me.name
    document.add_heading(TITLE, level=0)
    document.add_paragraph(f"{me.name}. Exported on {_day(now)}.")
    entries = reflection_log(session, me, oldest_first=True)
    if not entries:
        document.add_paragraph("No reflections written yet.")
    for entry in entries:
        document.add_heading(entry.heading, level=1)
        if entry.exchange:
            paragraph = document.add_paragraph("Exchange: ")
            _add_link(paragraph, exchange_url(base_url, entry), entry.exchange)
        for text in entry.paragraphs:
            document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def log_as_pdf(session: Session, me: LeaderProfile, now: datetime, base_url: str,
               font: Path) -> bytes:
    """The same log as an A4 PDF (fpdf2), in `font` (a TrueType font with the letters of every
    script the leader writes in), pages numbered, each exchange a link to its page."""
    from fpdf import FPDF

    class LogPdf(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("body", size=9)
            self.cell(0, 6, f"Page {self.page_no()} of {{nb}}", align="R")

    pdf = LogPdf(format="A4")
    pdf.set_title(TITLE)
    pdf.set_author(me.name)
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_font("body", "", str(font))
    bold = font.with_name(font.stem + "-Bold" + font.suffix)
    pdf.add_font("body", "B", str(bold if bold.is_file() else font))
    pdf.add_page()

    def block(text: str, size: float, *, style: str = "", gap: float = 2, link: str = "") -> None:
        pdf.set_font("body", style, size)
        pdf.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT", link=link)
        pdf.ln(gap)

    block(TITLE, 18, style="B", gap=3)
    block(f"{me.name}. Exported on {_day(now)}.", 11, gap=6)
    entries = reflection_log(session, me, oldest_first=True)
    if not entries:
        block("No reflections written yet.", 11)
    for entry in entries:
        block(entry.heading, 13, style="B")
        if entry.exchange:
            block(f"Exchange: {entry.exchange}", 10, link=exchange_url(base_url, entry))
        for text in entry.paragraphs:
            block(text, 11)
        pdf.ln(4)
    return bytes(pdf.output())


def exchange_url(base_url: str, entry: LogEntry) -> str:
    return f"{base_url.rstrip('/')}/exchanges/{entry.exchange_id}"


def _day(moment: datetime) -> str:
    local = moment.astimezone(LONDON)
    return f"{local.day} {local:%B %Y}"


def _add_link(paragraph, url: str, text: str) -> None:
    """python-docx has no call for a hyperlink: it is a relationship and a w:hyperlink run."""
    from docx.enum.dml import MSO_THEME_COLOR_INDEX
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    relationship = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), relationship)
    run = paragraph.add_run(text)
    run.font.underline = True
    run.font.color.theme_color = MSO_THEME_COLOR_INDEX.HYPERLINK
    link.append(run._r)
    paragraph._p.append(link)


__all__ = ["LeaderError", "LogEntry", "NotFound", "add_reflection", "delete_reflection",
           "edit_reflection", "get_reflection", "log_as_markdown", "log_as_pdf", "log_as_word",
           "my_reflections", "reflection_log"]
