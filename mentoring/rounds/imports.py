"""Reading a coordinator's CSV of leaders to invite: bytes in, a result out. No database, no Flask.

Line numbers are the ones the coordinator sees in Excel: the header is line 1, the first leader
line 2 (a quoted cell that spans lines is still one line there, so records are counted, not
physical lines). Every bad line is reported with every reason; problems with the file itself
(encoding, no email column, too many lines, not a CSV) are reported once.

The separator is whatever the header line uses: commas, semicolons (Excel in much of Europe
writes those, and so do some NHS laptops set to other locales) or tabs (pasted from a sheet).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from pydantic import EmailStr, TypeAdapter, ValidationError

from mentoring import spreadsheet
from mentoring.configuration import vocabularies
from mentoring.configuration.vocabularies import Vocabularies
from mentoring.text import has_control_characters
from mentoring.vocab import CareerStage

COLUMNS = ("email", "name", "profession", "organisation", "borough", "career_stage",
           "mentoring")
DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs"}
# What a coordinator may write, in any case: the key a profile keeps.
CAREER_STAGES = {
    "experienced": CareerStage.EXPERIENCED, "experienced leader": CareerStage.EXPERIENCED,
    "emerging": CareerStage.EMERGING, "emerging leader": CareerStage.EMERGING,
}
# Whether they mentor, are mentored, or both; the leader confirms the numbers in their profile.
MENTORING = {"mentor": "mentor", "mentee": "mentee", "both": "both"}
PROBLEM_COLUMN = "problem"
REQUIRED_COLUMNS = ("email",)
MAX_ROWS = 5000
MAX_BYTES = 1024 * 1024
NAME_MAX = 120
ORGANISATION_MAX = 160
SAVE_AS_UTF8 = ("Save the file as CSV UTF-8: in Excel, choose File, Save a copy, and the type "
                "'CSV UTF-8 (Comma delimited)'.")
_EMAIL = TypeAdapter(EmailStr)
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Person:
    """One good line: who to invite and what we know of them (vocabulary keys, not labels)."""

    line: int
    email: str
    name: str = ""
    profession: str = ""
    organisation: str = ""
    borough: str = ""
    career_stage: str = ""
    mentoring: str = ""


@dataclass(frozen=True)
class LineProblem:
    line: int
    email: str
    reasons: tuple[str, ...]
    cells: tuple[str, ...] = ()  # the line as it was in the file, to send back for fixing

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


@dataclass
class ParsedFile:
    people: list[Person] = field(default_factory=list)
    problems: list[LineProblem] = field(default_factory=list)
    file_error: str = ""  # the file as a whole cannot be read: nothing in it is imported
    ignored_columns: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)  # the first line, as written
    delimiter: str = ","

    @property
    def delimiter_name(self) -> str:
        return DELIMITER_NAMES[self.delimiter]

    @property
    def ok(self) -> bool:
        return not self.file_error and not self.problems

    @property
    def usable(self) -> bool:
        """Some lines can be imported (perhaps after skipping the bad ones)."""
        return not self.file_error and bool(self.people)


def _words(value: str) -> str:
    return " ".join(re.sub(r"[-_]", " ", value).split()).casefold()


def _lookup(vocabulary: Mapping[str, str]) -> dict[str, str]:
    """Key or label, in any case, with hyphens, underscores and spaces alike -> the key."""
    table = {}
    for key, text in vocabulary.items():
        table[_words(key)] = key
        table[_words(text)] = key
    return table


@lru_cache(maxsize=8)
def _lookups(words: Vocabularies) -> tuple[dict[str, str], dict[str, str]]:
    """(profession, borough) lookups for a set of vocabularies: built once, not per row. Only
    terms that are offered: a new participant does not get a retired profession or place."""
    return _lookup(words.offered("profession")), _lookup(words.offered("place"))


def check_email(value: str) -> tuple[str, str]:
    """(normalised email, "") or ("", reason)."""
    email = value.strip()
    if not email:
        return "", "Enter an email address"
    try:
        _EMAIL.validate_python(email)
    except ValidationError:
        return "", f"'{email}' is not a valid email address"
    return email.lower(), ""


def check_person(line: int, values: Mapping[str, str]) -> tuple[Person | None, dict[str, str]]:
    """One person's details, checked: the Person, or why not (column -> reason)."""
    errors: dict[str, str] = {}
    email, reason = check_email(values.get("email", ""))
    if reason:
        errors["email"] = reason
    if any(has_control_characters(values.get(column) or "") for column in values):
        # Spaces and line breaks are tidied below; other invisible characters are refused
        # rather than sent on in emails and exports.
        for column, value in values.items():
            if has_control_characters(value or ""):
                errors[column] = "Remove the invisible control characters from this value"
    name = " ".join((values.get("name") or "").split())
    if len(name) > NAME_MAX:
        errors["name"] = f"The name is longer than {NAME_MAX} characters"
    organisation = " ".join((values.get("organisation") or "").split())
    if len(organisation) > ORGANISATION_MAX:
        errors["organisation"] = f"The organisation is longer than {ORGANISATION_MAX} characters"
    elif len(organisation) == 1:
        errors["organisation"] = "The organisation needs at least 2 characters"
    words = vocabularies.current()
    profession_lookup, borough_lookup = _lookups(words)
    profession = (values.get("profession") or "").strip()
    profession_key = profession_lookup.get(_words(profession), "") if profession else ""
    if profession and not profession_key:
        errors["profession"] = f"Unknown profession '{profession}': use one from the list"
    borough = (values.get("borough") or "").strip()
    borough_key = borough_lookup.get(_words(borough), "") if borough else ""
    if borough and not borough_key:
        errors["borough"] = (f"Unknown borough '{borough}': use one of "
                             f"{', '.join(words.offered('place').values())}")
    career_stage = " ".join((values.get("career_stage") or "").split()).casefold()
    if career_stage and career_stage not in CAREER_STAGES:
        errors["career_stage"] = (f"Unknown career stage '{values['career_stage'].strip()}': "
                                  "use experienced or emerging")
    mentoring = (values.get("mentoring") or "").strip().casefold()
    if mentoring and mentoring not in MENTORING:
        errors["mentoring"] = (f"Unknown mentoring '{values['mentoring'].strip()}': use mentor, "
                               "mentee or both")
    if errors:
        return None, errors
    return Person(line, email, name, profession_key, organisation, borough_key,
                  str(CAREER_STAGES.get(career_stage, "")), MENTORING.get(mentoring, "")), {}


def _decode(data: bytes) -> tuple[str, str]:
    """(text, "") or ("", why not): UTF-8, with or without a byte order mark."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "", f"The file is saved as UTF-16 ('Unicode text'), not UTF-8. {SAVE_AS_UTF8}"
    body = data.removeprefix(_BOM)
    try:
        return body.decode("utf-8"), ""
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1
        return "", (f"The file is not saved as UTF-8 (line {line} has a character that cannot "
                    f"be read, often an accented letter like é). {SAVE_AS_UTF8}")


def _looks_binary(data: bytes) -> bool:
    # Excel workbooks (.xlsx) are zip files; old .xls files and PDFs have NUL bytes early on.
    return data.startswith((b"PK\x03\x04", b"%PDF")) or b"\x00" in data[:4096]


def _header_name(cell: str) -> str:
    return "_".join(cell.strip().lower().split())


def parse_participants_csv(data: bytes, filename: str = "") -> ParsedFile:
    """Check every line of an uploaded CSV of leaders."""
    if filename and not filename.lower().endswith(".csv"):
        return ParsedFile(file_error="The file must be a CSV file (its name ends in .csv). "
                                     + SAVE_AS_UTF8)
    if len(data) > MAX_BYTES:
        return ParsedFile(file_error=f"The file must be smaller than {MAX_BYTES // 1024 // 1024} "
                                     "MB. Split it into smaller files.")
    if not data.removeprefix(_BOM).strip():
        return ParsedFile(file_error="The file is empty")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return ParsedFile(file_error=_decode(data)[1])
    if _looks_binary(data):
        return ParsedFile(file_error="The file is not a CSV file (it looks like a spreadsheet "
                                     "or a document). " + SAVE_AS_UTF8)
    if b"\x00" in data:  # past the first 4 KB: PostgreSQL cannot store it in a name
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        return ParsedFile(file_error=f"Line {line} of the file has a NUL character (a zero "
                                     "byte), which cannot be stored. Remove it and upload the "
                                     "file again.")
    text, error = _decode(data)
    if error:
        return ParsedFile(file_error=error)
    delimiter = detect_delimiter(text)
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        return ParsedFile(file_error=f"The file cannot be read as CSV ({exc}). " + SAVE_AS_UTF8)
    return _check_records(records, delimiter)


def detect_delimiter(text: str) -> str:
    """The separator under which the header line names the most known columns (commas when
    none does better, so a one-column file of emails is read as it always was)."""
    first_line = text.lstrip("\r\n").splitlines()[0] if text.strip() else ""

    def known_columns(delimiter: str) -> int:
        cells = next(csv.reader([first_line], delimiter=delimiter), [])
        return len({_header_name(cell) for cell in cells} & set(COLUMNS))

    return max(DELIMITERS, key=lambda delimiter: (known_columns(delimiter),
                                                  delimiter == ","))


def _check_records(records: list[list[str]], delimiter: str = ",") -> ParsedFile:
    header = [_header_name(cell) for cell in records[0]] if records else []
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        return ParsedFile(file_error=(
            f"The first line must name the columns, and there is no '{missing[0]}' column. "
            f"The columns are: {', '.join(COLUMNS)} (only email is required), separated by "
            "commas, semicolons or tabs."
        ))
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if repeated:
        return ParsedFile(file_error=f"The column '{repeated[0]}' appears twice in the first line")
    body = [(number, cells) for number, cells in enumerate(records[1:], start=2)
            if any(cell.strip() for cell in cells)]  # Excel leaves empty lines like ",,,"
    if len(body) > MAX_ROWS:
        return ParsedFile(file_error=f"The file has {len(body):,} leaders; the limit is "
                                     f"{MAX_ROWS:,}. Split it into smaller files.")
    if not body:
        return ParsedFile(file_error="The file has a header line but no leaders")
    result = ParsedFile(
        ignored_columns=[name for name in dict.fromkeys(header)
                         if name and name not in COLUMNS and name != PROBLEM_COLUMN],
        header=list(records[0]), delimiter=delimiter,
    )
    first_line: dict[str, int] = {}
    for number, cells in body:
        values = {name: cells[index] for index, name in enumerate(header)
                  if name in COLUMNS and index < len(cells)}
        person, errors = check_person(number, values)
        if person is not None and person.email in first_line:
            person, errors = None, {"email": f"The email address is already on line "
                                             f"{first_line[person.email]}"}
        if person is None:
            result.problems.append(LineProblem(number, values.get("email", "").strip(),
                                               tuple(errors.values()), tuple(cells)))
        else:
            first_line[person.email] = number
            result.people.append(person)
    return result


def rejected_lines_csv(parsed: ParsedFile) -> str:
    """The lines that cannot be used, as they were, with a last column saying why: the
    coordinator fixes them in Excel and uploads this file again (the reasons column is ignored
    then, and replaced if the file comes back with problems still). Same separator as the
    upload, so it opens the way the original did."""
    width = len(parsed.header)
    kept = [index for index, cell in enumerate(parsed.header)
            if _header_name(cell) != PROBLEM_COLUMN]
    header = [parsed.header[index] for index in kept]
    rows = []
    for problem in parsed.problems:
        cells = [*problem.cells, *[""] * (width - len(problem.cells))]
        rows.append([*(cells[index] for index in kept), problem.reason])
    return spreadsheet.csv_text([*header, PROBLEM_COLUMN], rows, delimiter=parsed.delimiter)


def template_csv() -> str:
    """The downloadable starting point: the header and two example lines."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerow(["amara.okafor@nhs.net", "Amara Okafor", "Community pharmacist",
                     "Peckham Community Pharmacy", "Southwark", "experienced", "mentor"])
    writer.writerow(["j.smith@nhs.net", "", "", "", "", "", ""])
    return "\ufeff" + out.getvalue()
