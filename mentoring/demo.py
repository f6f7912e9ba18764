"""The demo data set: a south-east-London-like integrated care system, ready to match.

`load_demo` creates about 180 invented leaders in real-looking organisations across the six
boroughs, one open programme round with everyone's half-day availability, and sign-in accounts
for a coordinator, an admin, an experienced mentor and an emerging leader. Same seed, same data
(only dates move with `today`). Loading twice changes nothing.

Every generated email address is under the reserved `.example` top-level domain (RFC 2606), so
nothing the app sends to a demo leader can reach a real person.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Container, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from random import Random

import sqlalchemy as sa
from sqlmodel import Session, func, select

from mentoring import audit
from mentoring.calendar_days import closed_between
from mentoring.confidence.demo import load_finished_round
from mentoring.configuration import programme
from mentoring.exchanges.visits import copy_from_host
from mentoring.models import (
    Availability,
    Exchange,
    ExchangeBooking,
    LeaderProfile,
    Match,
    Organisation,
    ProgrammeRound,
    RoundBlackout,
    RoundParticipant,
    User,
    utcnow,
)
from mentoring.notifications.plan import plan_exchange
from mentoring.passwords import hash_password
from mentoring.releases.services import request_releases
from mentoring.slots import bounds
from mentoring.vocab import (
    BOROUGHS,
    TOPICS,
    CareerStage,
    ExchangeStatus,
    MatchStatus,
    OrganisationSize,
    ParticipantStatus,
    Period,
    ProfessionPreference,
    Role,
    RoundStatus,
)

DEMO_PASSWORD = "walk-in-their-shoes"  # noqa: S105  (printed by `mentoring demo`: demo only)
DEMO_DOMAIN = "demo.example.nhs.uk"
COORDINATOR_EMAIL = f"coordinator@{DEMO_DOMAIN}"
ADMIN_EMAIL = f"admin@{DEMO_DOMAIN}"
MENTOR_EMAIL = f"mentor@{DEMO_DOMAIN}"
MENTEE_EMAIL = f"leader@{DEMO_DOMAIN}"
SIGN_INS: list[tuple[str, str]] = [
    ("coordinator", COORDINATOR_EMAIL),
    ("admin", ADMIN_EMAIL),
    ("mentor", MENTOR_EMAIL),
    ("mentee", MENTEE_EMAIL),
]
ROUND_WEEKS = 12
MENTOR_SHARE = 0.4

# --------------------------------------------------------------------------------------------
# Organisations and the people in them. The NHS trusts and councils are south east London's
# own; the PCNs, practices, pharmacies and charities are invented.
# --------------------------------------------------------------------------------------------


# fmt: off
@dataclass(frozen=True)
class _Org:
    name: str
    kind: str
    sector: str
    borough: str
    size: str
    domain: str
    sites: tuple[str, ...]


# name | kind | sector | home borough | size | email domain | boroughs of its sites (home if none)
_ORGANISATION_TABLE = """
Guy's and St Thomas' NHS Foundation Trust | acute | acute | lambeth | large | gstt.nhs.example | lambeth southwark
King's College Hospital NHS Foundation Trust | acute | acute | southwark | large | kch.nhs.example | southwark lambeth bromley
Lewisham and Greenwich NHS Trust | acute | acute | lewisham | large | lgt.nhs.example | lewisham greenwich
South London and Maudsley NHS Foundation Trust | mental_health | mental_health | southwark | large | slam.nhs.example | southwark lambeth lewisham
Oxleas NHS Foundation Trust | mental_health | mental_health | greenwich | large | oxleas.nhs.example | greenwich bexley bromley
Bromley and Bexley Community Health CIC | community | community_health | bromley | medium | bbch.nhs.example | bromley bexley
Lambeth and Southwark Community Nursing Partnership | community | community_health | lambeth | medium | lscn.nhs.example | lambeth southwark
Erith and Belvedere PCN | pcn | primary_care | bexley | small | nhs.example |
Sidcup Green PCN | pcn | primary_care | bexley | small | nhs.example |
Orpington Hills PCN | pcn | primary_care | bromley | small | nhs.example |
Beckenham Parks PCN | pcn | primary_care | bromley | small | nhs.example |
Woolwich Riverside PCN | pcn | primary_care | greenwich | small | nhs.example |
Eltham Common PCN | pcn | primary_care | greenwich | small | nhs.example |
Brixton and Herne Hill PCN | pcn | primary_care | lambeth | small | nhs.example |
Streatham Vale PCN | pcn | primary_care | lambeth | small | nhs.example |
Deptford Creek PCN | pcn | primary_care | lewisham | small | nhs.example |
Catford and Bellingham PCN | pcn | primary_care | lewisham | small | nhs.example |
Peckham Rye PCN | pcn | primary_care | southwark | small | nhs.example |
Bermondsey Docks PCN | pcn | primary_care | southwark | small | nhs.example |
Welling Broadway Medical Practice | practice | primary_care | bexley | small | nhs.example |
Chislehurst Road Surgery | practice | primary_care | bromley | small | nhs.example |
Plumstead High Street Health Centre | practice | primary_care | greenwich | small | nhs.example |
Kennington Oval Group Practice | practice | primary_care | lambeth | small | nhs.example |
Lee Green Family Practice | practice | primary_care | lewisham | small | nhs.example |
Camberwell Grove Medical Centre | practice | primary_care | southwark | small | nhs.example |
Crayford Parade Pharmacy | pharmacy | community_pharmacy | bexley | small | crayfordparade.pharmacy.example |
Penge Lane Pharmacy | pharmacy | community_pharmacy | bromley | small | pengelane.pharmacy.example |
Thamesmead Health Pharmacy | pharmacy | community_pharmacy | greenwich | small | thamesmeadhealth.pharmacy.example |
Stockwell Corner Chemist | pharmacy | community_pharmacy | lambeth | small | stockwellcorner.pharmacy.example |
Forest Hill Family Pharmacy | pharmacy | community_pharmacy | lewisham | small | foresthillfamily.pharmacy.example |
Walworth Road Pharmacy | pharmacy | community_pharmacy | southwark | small | walworthroad.pharmacy.example |
London Borough of Bexley adult social care | council | social_care | bexley | medium | bexley.gov.example |
London Borough of Bromley adult social care | council | social_care | bromley | medium | bromley.gov.example |
Royal Borough of Greenwich adult social care | council | social_care | greenwich | medium | royalgreenwich.gov.example |
London Borough of Lambeth adult social care | council | social_care | lambeth | medium | lambeth.gov.example |
London Borough of Lewisham adult social care | council | social_care | lewisham | medium | lewisham.gov.example |
London Borough of Southwark adult social care | council | social_care | southwark | medium | southwark.gov.example |
Bexleyheath Carers Circle | vcse | vcse | bexley | small | carerscircle.org.example |
Crystal Palace Men's Sheds | vcse | vcse | bromley | small | cpsheds.org.example |
Woolwich Welcome Refugee Health Link | vcse | vcse | greenwich | small | woolwichwelcome.org.example |
Brixton Sickle Cell Support Network | vcse | vcse | lambeth | small | brixtonsicklecell.org.example |
Lewisham Kitchen Table Befrienders | vcse | vcse | lewisham | small | kitchentable.org.example |
Peckham Pathways Community Trust | vcse | vcse | southwark | small | peckhampathways.org.example |
NHS South East London ICB | icb | icb | southwark | medium | selicb.nhs.example | bexley bromley greenwich lambeth lewisham southwark
"""  # noqa: E501


def _parse_organisations(table: str) -> tuple[_Org, ...]:
    orgs = []
    for line in table.strip().splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        name, kind, sector, borough, size, domain, sites = cells
        orgs.append(_Org(name, kind, sector, borough, OrganisationSize(size), domain,
                         tuple(sites.split()) or (borough,)))
    return tuple(orgs)


ORGANISATIONS = _parse_organisations(_ORGANISATION_TABLE)

# How many leaders each kind of organisation sends, relative to one another.
KIND_WEIGHTS = {
    "acute": 21, "mental_health": 11, "community": 6, "pcn": 17, "practice": 10, "pharmacy": 10,
    "council": 10, "vcse": 9, "icb": 6,
}
SIZE_WEIGHTS = {OrganisationSize.LARGE: 5, OrganisationSize.MEDIUM: 2, OrganisationSize.SMALL: 1}

# Which professions work in each kind of organisation, and in what proportions.
KIND_PROFESSIONS: dict[str, tuple[tuple[str, int], ...]] = {
    "acute": (
        ("nurse", 35), ("acute_clinical_director", 15), ("hospital_pharmacist", 15),
        ("consultant_pharmacist", 6), ("allied_health_professional", 14), ("manager", 15),
    ),
    "mental_health": (
        ("mental_health_nurse", 45), ("nurse", 5), ("social_worker", 10),
        ("consultant_pharmacist", 8), ("allied_health_professional", 12), ("manager", 15),
        ("patient_representative", 5),
    ),
    "community": (("nurse", 45), ("allied_health_professional", 35), ("manager", 20)),
    "pcn": (
        ("gp", 25), ("pcn_clinical_director", 22), ("pcn_pharmacy_lead", 18),
        ("practice_pharmacist", 15), ("allied_health_professional", 6), ("manager", 10),
        ("other", 4),
    ),
    "practice": (
        ("gp", 50), ("nurse", 20), ("practice_pharmacist", 12), ("manager", 15),
        ("patient_representative", 3),
    ),
    "pharmacy": (("community_pharmacist", 85), ("manager", 15)),
    "council": (("social_worker", 65), ("allied_health_professional", 12), ("manager", 23)),
    "vcse": (("vcse_representative", 65), ("patient_representative", 25), ("manager", 10)),
    "icb": (
        ("manager", 40), ("gp", 15), ("nurse", 12), ("consultant_pharmacist", 10),
        ("patient_representative", 13), ("other", 10),
    ),
}

# Relative chance of being one of the experienced mentors.
EXPERIENCE_PROPENSITY = {
    "acute_clinical_director": 6.0, "pcn_clinical_director": 6.0, "consultant_pharmacist": 5.0,
    "pcn_pharmacy_lead": 2.0, "gp": 1.6, "manager": 1.5, "vcse_representative": 1.2,
    "social_worker": 1.0, "hospital_pharmacist": 1.0, "nurse": 0.9, "mental_health_nurse": 0.9,
    "allied_health_professional": 0.9, "community_pharmacist": 0.9, "practice_pharmacist": 0.7,
    "patient_representative": 0.7, "other": 0.8,
}

# profession: (titles of experienced leaders, titles of emerging ones)
JOB_TITLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "gp": (
        ("GP partner", "Senior GP partner", "Clinical lead for long-term conditions"),
        ("Salaried GP", "GP in the first five years", "Portfolio GP"),
    ),
    "pcn_clinical_director": (
        ("PCN clinical director",),
        ("PCN clinical director (new in post)", "Deputy PCN clinical director"),
    ),
    "acute_clinical_director": (
        ("Clinical director, emergency medicine", "Clinical director, surgery",
         "Clinical director, women's services", "Clinical director, older people's medicine"),
        ("Associate clinical director, medicine", "Deputy clinical director, surgery"),
    ),
    "pcn_pharmacy_lead": (
        ("PCN pharmacy lead", "Lead clinical pharmacist, PCN"),
        ("PCN pharmacy lead (new in post)",),
    ),
    "practice_pharmacist": (
        ("Senior practice pharmacist",),
        ("Practice pharmacist", "Clinical pharmacist, PCN team"),
    ),
    "community_pharmacist": (
        ("Pharmacist owner", "Superintendent pharmacist"),
        ("Pharmacist manager", "Community pharmacist", "Relief pharmacist"),
    ),
    "consultant_pharmacist": (
        ("Consultant pharmacist, older people", "Consultant pharmacist, antimicrobials",
         "Consultant pharmacist, mental health"),
        ("Trainee consultant pharmacist",),
    ),
    "hospital_pharmacist": (
        ("Chief pharmacist", "Lead pharmacist, critical care"),
        ("Specialist pharmacist, medicine", "Rotational pharmacist"),
    ),
    "nurse": (
        ("Matron", "Head of nursing", "Lead nurse, safeguarding", "Advanced nurse practitioner"),
        ("Ward manager", "Practice nurse", "District nursing team leader", "Charge nurse"),
    ),
    "mental_health_nurse": (
        ("Modern matron, inpatient services", "Lead nurse, crisis services"),
        ("Community mental-health nurse", "Ward manager, acute inpatient",
         "Team leader, home treatment"),
    ),
    "social_worker": (
        ("Principal social worker", "Head of adult safeguarding",
         "Team manager, hospital discharge"),
        ("Senior social worker", "Approved mental health professional", "Social worker"),
    ),
    "allied_health_professional": (
        ("Head of therapies", "Consultant physiotherapist"),
        ("Occupational therapist", "First-contact physiotherapist",
         "Speech and language therapist", "Dietitian"),
    ),
    "vcse_representative": (
        ("Chief executive", "Director of services"),
        ("Project coordinator", "Community development worker", "Volunteer manager"),
    ),
    "patient_representative": (
        ("Lay member", "Patient participation group chair"),
        ("Community health champion", "Expert by experience"),
    ),
    "manager": (
        ("Director of operations", "General manager", "Head of integrated commissioning"),
        ("Practice manager", "Service manager", "PCN operations manager", "Programme manager"),
    ),
    "other": (
        ("Head of health and wellbeing",),
        ("Social prescribing link worker", "Health and wellbeing coach"),
    ),
}

# Topics a profession is likely to be strong in or to want to grow.
TOPIC_AFFINITY: dict[str, tuple[str, ...]] = {
    "gp": ("population_health", "integrated_care", "quality_improvement"),
    "pcn_clinical_director": ("system_leadership", "integrated_care", "finance_contracts",
                              "influencing"),
    "acute_clinical_director": ("system_leadership", "change_management", "governance",
                                "workforce"),
    "pcn_pharmacy_lead": ("medicines_optimisation", "workforce", "integrated_care"),
    "practice_pharmacist": ("medicines_optimisation", "quality_improvement"),
    "community_pharmacist": ("medicines_optimisation", "population_health", "finance_contracts"),
    "consultant_pharmacist": ("medicines_optimisation", "research_evidence", "system_leadership"),
    "hospital_pharmacist": ("medicines_optimisation", "digital_data", "governance"),
    "nurse": ("quality_improvement", "workforce", "coaching", "resilience"),
    "mental_health_nurse": ("resilience", "patient_voice", "integrated_care", "coaching"),
    "social_worker": ("partnership_working", "integrated_care", "patient_voice"),
    "allied_health_professional": ("quality_improvement", "integrated_care", "research_evidence"),
    "vcse_representative": ("partnership_working", "patient_voice", "population_health",
                            "influencing"),
    "patient_representative": ("patient_voice", "influencing", "governance"),
    "manager": ("finance_contracts", "governance", "digital_data", "change_management"),
    "other": ("population_health", "partnership_working", "resilience"),
}

# Boroughs that share a border: where a leader will usually travel for a visit.
NEIGHBOURS = {
    "bexley": ("greenwich", "bromley"),
    "bromley": ("bexley", "greenwich", "lewisham", "lambeth", "southwark"),
    "greenwich": ("bexley", "bromley", "lewisham"),
    "lambeth": ("southwark", "bromley"),
    "lewisham": ("greenwich", "bromley", "southwark"),
    "southwark": ("lambeth", "lewisham", "bromley"),
}

# Visit details: invented addresses on invented streets, in real places, with the nearest real
# station. Phone numbers are from Ofcom's ranges kept for drama (020 7946 0000-0999, 07700 900000-
# 900999), so no demo number rings anyone.
# borough: (area, postcode district, nearest station), ...
PLACES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "bexley": (("Bexleyheath", "DA6", "Bexleyheath station"), ("Erith", "DA8", "Erith station"),
               ("Sidcup", "DA14", "Sidcup station"), ("Welling", "DA16", "Welling station"),
               ("Crayford", "DA1", "Crayford station")),
    "bromley": (("Bromley", "BR1", "Bromley South station"),
                ("Orpington", "BR6", "Orpington station"),
                ("Beckenham", "BR3", "Beckenham Junction station"),
                ("Penge", "SE20", "Penge West station"),
                ("Chislehurst", "BR7", "Chislehurst station")),
    "greenwich": (("Woolwich", "SE18", "Woolwich Arsenal station"),
                  ("Eltham", "SE9", "Eltham station"),
                  ("Greenwich", "SE10", "Cutty Sark DLR station"),
                  ("Thamesmead", "SE28", "Abbey Wood station (Elizabeth line)"),
                  ("Plumstead", "SE18", "Plumstead station")),
    "lambeth": (("Brixton", "SW2", "Brixton Underground station"),
                ("Stockwell", "SW9", "Stockwell Underground station"),
                ("Kennington", "SE11", "Kennington Underground station"),
                ("Streatham", "SW16", "Streatham station"),
                ("West Norwood", "SE27", "West Norwood station")),
    "lewisham": (("Deptford", "SE8", "Deptford Bridge DLR station"),
                 ("Catford", "SE6", "Catford station"), ("Lewisham", "SE13", "Lewisham station"),
                 ("Forest Hill", "SE23", "Forest Hill station"), ("Lee", "SE12", "Lee station")),
    "southwark": (("Peckham", "SE15", "Peckham Rye station"),
                  ("Bermondsey", "SE16", "Bermondsey Underground station"),
                  ("Camberwell", "SE5", "Denmark Hill station"),
                  ("Walworth", "SE17", "Elephant & Castle station"),
                  ("East Dulwich", "SE22", "East Dulwich station")),
}
STREETS = ("Orchard Way", "Mill Lane", "Beacon Road", "Station Parade", "Heron Walk",
           "Lantern Court", "Kestrel Road", "Willow Terrace", "Foundry Street", "Chapel Row",
           "Lamplighter Close", "Ropemaker Road", "Cressfield Avenue", "Tannery Lane")
BUILDINGS = ("Riverside House", "Orchard Building", "Beacon Wing", "Cedar Unit", "Harbour House",
             "Thames View Building", "Linden Centre")
POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # the letters an inward code uses
TRAVEL_NOTES = (
    "No visitor parking: please come by public transport.",
    "Pay-and-display parking on {street}.",
    "A few visitor spaces behind the building: ask at reception for a permit.",
    "Cycle racks by the main entrance.",
)
MEETING_NOTES = (
    "Report to main reception and ask for {first}.",
    "Come to the staff entrance on {street} and ring the bell; {first} meets you there.",
    "Sign in at reception on the ground floor. {first}, or a colleague from the team, meets you.",
)
BRING_NOTES = (
    "Photo ID. Smart casual; no uniform.",
    "Photo ID. Comfortable shoes: we are on our feet a lot.",
    "Photo ID. Please do not wear your own organisation's uniform. Bring your own lunch.",
    "Photo ID. Smart casual. Tea and coffee provided.",
)
ACCESS_NOTES = (
    "Step-free entrance, lift to all floors, accessible toilet on the ground floor.",
    "Step-free on the ground floor, with a lift to the meeting rooms. Hearing loop at reception.",
    "Two steps at the front door, with a ramp at the side entrance (ring the bell). Accessible "
    "toilet on the ground floor.",
    "Fully step-free. A quiet room is available if you need a break.",
)

# Invented people, each drawn mostly (not only) from one naming tradition, as London's are.
NAME_POOLS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (  # West African
        ("Amara", "Adebayo", "Chidi", "Ngozi", "Kwame", "Abena", "Yaw", "Efua", "Tunde",
         "Folake", "Segun", "Bisi", "Ife", "Kofi", "Esi", "Chiamaka", "Emeka", "Akosua"),
        ("Okafor", "Adeyemi", "Mensah", "Boateng", "Owusu", "Asante", "Okonkwo", "Balogun",
         "Oyelaran", "Osei", "Appiah", "Eze", "Adewale", "Nwosu", "Agyeman", "Ogunleye"),
    ),
    (  # South Asian
        ("Priya", "Arjun", "Sanjay", "Anjali", "Rohan", "Meera", "Nadia", "Imran", "Ayesha",
         "Farhan", "Tahmina", "Rahim", "Kavitha", "Tharshan", "Nirmala", "Harpreet", "Gurpreet",
         "Sunita", "Vikram", "Shreya"),
        ("Patel", "Shah", "Sharma", "Gupta", "Kaur", "Singh", "Iyer", "Nair", "Khan", "Ahmed",
         "Hussain", "Rahman", "Begum", "Chowdhury", "Sivakumar", "Rajendran", "Thavarajah",
         "Mistry", "Desai", "Malik"),
    ),
    (  # British and Irish
        ("Grace", "Emma", "Oliver", "Sophie", "James", "Hannah", "Thomas", "Charlotte", "Daniel",
         "Rebecca", "Siobhan", "Ciaran", "Aoife", "Niamh", "Patrick", "Sarah", "David", "Laura",
         "Michael", "Rachel", "Andrew", "Claire", "Lucy", "Ben", "Ruth", "Helen"),
        ("Williams", "Thompson", "Brown", "Johnson", "Smith", "Jones", "Taylor", "Davies",
         "Evans", "Wilson", "Clarke", "Walker", "Wright", "Murphy", "O'Brien", "Kelly", "Byrne",
         "Hughes", "Morgan", "Ellis", "Fletcher", "Barnes", "Lloyd", "Doyle"),
    ),
    (  # Caribbean British
        ("Marcus", "Jerome", "Shanice", "Tanisha", "Leon", "Delroy", "Beverley", "Natasha",
         "Jermaine", "Simone", "Andre", "Keisha"),
        ("Campbell", "Grant", "Bennett", "Francis", "Edwards", "Greene", "Morrison", "Reid",
         "Henry", "Samuels", "Forbes", "Gayle"),
    ),
    (  # East and South-East Asian
        ("Wei", "Mei", "Jun", "Hui", "Thanh", "Linh", "Maricel", "Jocelyn", "Rhea", "Paolo",
         "Minh", "Jia"),
        ("Wong", "Chen", "Li", "Zhang", "Nguyen", "Tran", "Reyes", "Dela Cruz", "Santos",
         "Bautista", "Lim", "Tan"),
    ),
    (  # European
        ("Agnieszka", "Tomasz", "Katarzyna", "Piotr", "João", "Inês", "Ana", "Miguel", "Maria",
         "Carlos", "Dimitri", "Eleni", "Olga", "Marta", "Luca", "Giulia"),
        ("Nowak", "Kowalski", "Wiśniewska", "Silva", "Ferreira", "Costa", "Pereira", "Fernandes",
         "Papadopoulos", "Georgiou", "Rossi", "Moretti", "Lewandowski", "Santos"),
    ),
    (  # Somali, Turkish, Middle Eastern
        ("Hodan", "Abdi", "Yusuf", "Fatima", "Mehmet", "Elif", "Deniz", "Samira", "Omar",
         "Layla", "Hassan", "Zeynep"),
        ("Mohamed", "Abdullahi", "Yilmaz", "Demir", "Ali", "Hassan", "Warsame", "Kaya",
         "Haddad", "Aziz", "Farah", "Celik"),
    ),
)
NAME_POOL_WEIGHTS = (20, 20, 30, 10, 8, 8, 6)
# fmt: on

PROTECTED_HOURS = (4, 6, 8, 10, 12, 16)


@dataclass
class DemoSummary:
    leaders: int = 0
    organisations: int = 0
    boroughs: int = 0
    mentors: int = 0
    mentees: int = 0
    hosts: int = 0
    availability: int = 0
    round_name: str = ""
    round_starts_on: date | None = None
    round_ends_on: date | None = None
    sign_ins: list[tuple[str, str]] = field(default_factory=lambda: list(SIGN_INS))
    created: bool = False

    def describe(self) -> str:
        if not self.created:
            text = "Demo data already present: nothing changed."
            if self.round_name:
                text += (
                    f" {self.leaders} demo leaders in round '{self.round_name}'"
                    f" ({self.round_starts_on:%d %b %Y} to {self.round_ends_on:%d %b %Y})."
                )
            return text
        return (
            f"Demo data loaded: {self.leaders} leaders in {self.organisations} organisations"
            f" across {self.boroughs} boroughs ({self.mentors} offer mentoring, {self.mentees}"
            f" want a mentor, {self.hosts} can host visits); round '{self.round_name}' open from"
            f" {self.round_starts_on:%a %d %b %Y} to {self.round_ends_on:%a %d %b %Y} with"
            f" {self.availability} free half-days."
        )


@dataclass
class _Leader:
    """A leader before it becomes rows: everything `load_demo` decides from the seed."""

    name: str
    email: str
    org: _Org
    profession: str
    borough: str
    experienced: bool = False
    job_title: str = ""
    mentor_capacity: int = 0
    wants_mentor: bool = False
    can_host: bool = False
    max_hosted_per_week: int | None = None
    strengths: list[str] = field(default_factory=list)
    goals: list[str] = field(default_factory=list)
    protected_hours: float = 8
    preference: str = ProfessionPreference.ANY
    travel: list[str] = field(default_factory=list)
    usual: list[tuple[int, str]] = field(default_factory=list)  # (weekday, period)
    line_manager_name: str = ""
    line_manager_email: str = ""
    free: list[tuple[date, str]] = field(default_factory=list)
    phone: str = ""
    visit: dict[str, str] = field(default_factory=dict)  # LeaderProfile's visit_* fields


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------


def load_demo(
    session: Session, *, seed: int = 2021, leaders: int = 180, today: date | None = None
) -> DemoSummary:
    """Create the demo data set in `session` (flushed, not committed), or find it there."""
    existing = session.exec(
        select(User).where(User.email.in_([email for _, email in SIGN_INS]))
    ).first()
    if existing is not None:
        return _existing_summary(session)

    rng = Random(seed)
    today = today or date.today()
    starts_on = today + timedelta(days=7 - today.weekday())  # the Monday after today
    ends_on = starts_on + timedelta(weeks=ROUND_WEEKS, days=-3)  # a Friday
    days = [starts_on + timedelta(days=offset) for offset in range((ends_on - starts_on).days + 1)]
    weekdays = [day for day in days if day.weekday() < 5]

    # No demo leader is free on a bank holiday or in Christmas week, so none is offered or
    # booked then (the problem builder would leave such days out anyway).
    blackouts = _christmas_weeks(starts_on, ends_on)
    closed = closed_between(starts_on, ends_on, blackouts)

    people = _named_leaders() + _generate_leaders(rng, max(leaders, 0))
    for person in people:
        if not person.usual:
            person.usual = _usual_half_days(rng)
        person.free = _availability(rng, person.usual, weekdays, closed)
        if not person.visit:
            _visit_details(seed, person)
    _avoid_existing_emails(session, people)

    now = utcnow()
    password_hash = hash_password(DEMO_PASSWORD)

    organisations = _organisations(session, people)
    # The programme's mailbox (ORGANIZER and Reply-To of every invitation) on the demo's own
    # domain too, so the demo's emails name one address, not the seeded south east London one.
    programme.save(session, {**programme.load(session),
                             "contact_email": f"leadership.programme@{DEMO_DOMAIN}"})

    demo_round = ProgrammeRound(
        name=_round_name(starts_on),
        description=(
            "Demo round: pairs an experienced leader with an emerging one from another part of"
            " south east London's system for mentoring and two 'walking in their shoes' visits."
        ),
        starts_on=starts_on,
        ends_on=ends_on,
        status=RoundStatus.OPEN,
        contact_name="South east London leadership programme",
        contact_email=f"leadership.programme@{DEMO_DOMAIN}",
        ask_line_manager_release=True,
        joining_closes_on=today + timedelta(days=2),
        matching_on=today + timedelta(days=3),
        offers_on=today + timedelta(days=4),
    )
    priority = set(demo_round.priority_professions)

    staff = [
        User(
            email=COORDINATOR_EMAIL,
            role=Role.COORDINATOR,
            password_hash=password_hash,
            verified_at=now,
        ),
        User(email=ADMIN_EMAIL, role=Role.ADMIN, password_hash=password_hash, verified_at=now),
    ]
    users = [
        User(email=person.email, role=Role.LEADER, password_hash=password_hash, verified_at=now)
        for person in people
    ]
    session.add_all([*staff, *users])
    session.flush()
    demo_round.created_by_id = staff[0].id
    session.add(demo_round)
    session.flush()
    session.add_all(RoundBlackout(round_id=demo_round.id, starts_on=first, ends_on=last,
                                  reason=reason, created_by_id=staff[0].id)
                    for first, last, reason in blackouts)

    profiles = [
        LeaderProfile(
            user_id=user.id,
            organisation_id=organisations[person.org.name].id,
            name=person.name,
            job_title=person.job_title,
            profession=person.profession,
            sector=person.org.sector,
            borough=person.borough,
            career_stage=CareerStage.EXPERIENCED if person.experienced else CareerStage.EMERGING,
            mentor_capacity=person.mentor_capacity,
            wants_mentor=person.wants_mentor,
            can_host=person.can_host,
            max_hosted_per_week=person.max_hosted_per_week,
            strengths=person.strengths,
            goals=person.goals,
            protected_hours_per_month=person.protected_hours,
            profession_preference=person.preference,
            travel_boroughs=person.travel,
            phone=person.phone,
            **person.visit,
            line_manager_name=person.line_manager_name,
            line_manager_email=person.line_manager_email,
            priority_group=person.profession in priority,
            consent_at=now,
            created_at=now,
            updated_at=now,
        )
        for person, user in zip(people, users, strict=True)
    ]
    session.add_all(profiles)
    session.flush()

    session.add_all(
        RoundParticipant(
            round_id=demo_round.id,
            leader_id=profile.id,
            status=ParticipantStatus.JOINED,
            joined_at=now,
        )
        for profile in profiles
    )
    availability = [
        {"round_id": demo_round.id, "leader_id": profile.id, "day": day, "period": period}
        for person, profile in zip(people, profiles, strict=True)
        for day, period in person.free
    ]
    if availability:
        session.execute(sa.insert(Availability), availability)
    _demo_matches(session, demo_round, people, profiles, staff[0], now)
    # A finished round before this one, with leaders' self-assessments ("did it work").
    demo_leader = next((profile for person, profile in zip(people, profiles, strict=True)
                        if person.email == MENTEE_EMAIL), None)
    finished_starts_on = today - timedelta(days=21 + 7 * ROUND_WEEKS - 3)
    load_finished_round(session, rng, profiles, demo_leader, _round_name(finished_starts_on),
                        today, staff[0].id)
    audit.record(
        session,
        "demo.loaded",
        obj=demo_round,
        detail={"seed": seed, "leaders": len(people)},
    )
    session.flush()

    return DemoSummary(
        leaders=len(people),
        organisations=len({person.org.name for person in people}),
        boroughs=len({person.borough for person in people}),
        mentors=sum(1 for person in people if person.mentor_capacity > 0),
        mentees=sum(1 for person in people if person.wants_mentor),
        hosts=sum(1 for person in people if person.can_host),
        availability=len(availability),
        round_name=demo_round.name,
        round_starts_on=starts_on,
        round_ends_on=ends_on,
        created=True,
    )


def _demo_matches(session, demo_round, people, profiles, coordinator, now) -> None:
    """So that a demo shows both states at once: the two sign-in leaders start booked (both
    accepted, two exchanges, one at each workplace, confirmations and reminders queued), and the
    mentor also has an offer waiting for an answer (exchanges held, introductions queued). The
    optimiser keeps both pairs fixed."""
    from mentoring.offers.services import make_offer, send_offer

    mentor, mentee = profiles[:2]
    booked = _demo_pair(session, demo_round, (people[0], mentor), (people[1], mentee),
                        coordinator, now, reasons=[
        "Grace's strengths cover 2 of Ravi's 3 goals: system leadership, integrated care",
        "Crosses sectors: primary care and community pharmacy",
        "Neighbouring boroughs: Lewisham and Greenwich, both within Ravi's travel",
    ])
    if booked is None:
        return
    booked.status = MatchStatus.ACCEPTED
    booked.offered_at = booked.mentor_accepted_at = booked.mentee_accepted_at = now
    for exchange in booked_exchanges(session, booked):
        exchange.status = ExchangeStatus.SCHEDULED
        plan_exchange(session, exchange, now)
    request_releases(session, booked, now)  # their line managers' links, in the outbox
    taken = {(x.starts_at.date()) for x in booked_exchanges(session, booked)}
    for person, profile in zip(people[2:], profiles[2:], strict=True):
        # An emerging leader Grace can help (one of her strengths is one of their goals) who
        # can host her in return: the optimiser keeps this pair fixed, so it must be feasible.
        if not (person.wants_mentor and not person.experienced
                and person.can_host and person.max_hosted_per_week != 0
                and person.org.name != people[0].org.name
                and set(person.goals) & set(people[0].strengths)
                and (person.protected_hours or 99) >= 8):
            continue
        offer = _demo_pair(session, demo_round, (people[0], mentor), (person, profile),
                           coordinator, now, avoid_days=taken)
        if offer is not None:
            make_offer(session, offer, demo_round, now)
            send_offer(session, offer, now)
            return


def booked_exchanges(session, match) -> list[Exchange]:
    return list(session.exec(select(Exchange).where(Exchange.match_id == match.id)).all())


def _demo_pair(session, demo_round, mentor_side, mentee_side, coordinator, now, *,
               reasons=(), avoid_days=frozenset()) -> Match | None:
    """A match with two held exchanges in half-days both are free (the mentor hosts the first,
    the mentee the second, in different weeks), or None when they share too few."""
    (mentor_person, mentor), (mentee_person, mentee) = mentor_side, mentee_side
    spacing = timedelta(days=max(demo_round.min_days_between_exchanges, 7))
    common = sorted(slot for slot in set(mentor_person.free) & set(mentee_person.free)
                    if not {day for day in avoid_days
                            if abs((day - slot[0]).days) < 7})
    first = next((slot for slot in common if slot[0] >= demo_round.starts_on + timedelta(days=8)),
                 None)
    second = first and next((slot for slot in common if slot[0] >= first[0] + spacing), None)
    if not (first and second):
        return None
    match = Match(round_id=demo_round.id, mentor_id=mentor.id, mentee_id=mentee.id,
                  status=MatchStatus.OFFERED, score=8.5, decided_at=now,
                  decided_by_id=coordinator.id, reasons=list(reasons))
    session.add(match)
    session.flush()
    for number, ((day, period), host, visitor) in enumerate(
        [(first, mentor, mentee), (second, mentee, mentor)], start=1
    ):
        starts_at, ends_at = bounds(day, period)
        exchange = Exchange(
            match_id=match.id, host_id=host.id, visitor_id=visitor.id, starts_at=starts_at,
            ends_at=ends_at, uid=f"demo-{match.id}-{number}@leadership-exchange",
            status=ExchangeStatus.HELD,
            preparation="Read each other's profiles and agree one question to explore.",
        )
        copy_from_host(exchange, host)
        session.add(exchange)
        session.flush()
        session.add_all(
            ExchangeBooking(exchange_id=exchange.id, leader_id=leader.id, starts_at=starts_at)
            for leader in (host, visitor)
        )
    return match


# --------------------------------------------------------------------------------------------
# Finding an existing demo
# --------------------------------------------------------------------------------------------


def _existing_summary(session: Session) -> DemoSummary:
    summary = DemoSummary(created=False)
    demo_round = session.exec(
        select(ProgrammeRound)
        .join(RoundParticipant, RoundParticipant.round_id == ProgrammeRound.id)
        .join(LeaderProfile, LeaderProfile.id == RoundParticipant.leader_id)
        .join(User, User.id == LeaderProfile.user_id)
        .where(User.email == MENTEE_EMAIL)
        .order_by(ProgrammeRound.id)
    ).first()
    if demo_round is None:
        return summary
    in_round = (
        select(LeaderProfile)
        .join(RoundParticipant, RoundParticipant.leader_id == LeaderProfile.id)
        .where(RoundParticipant.round_id == demo_round.id)
    )
    profiles = session.exec(in_round).all()
    summary.leaders = len(profiles)
    summary.organisations = len({p.organisation_id for p in profiles if p.organisation_id})
    summary.boroughs = len({p.borough for p in profiles})
    summary.mentors = sum(1 for p in profiles if p.mentor_capacity > 0)
    summary.mentees = sum(1 for p in profiles if p.wants_mentor)
    summary.hosts = sum(1 for p in profiles if p.can_host)
    summary.availability = session.exec(
        select(func.count()).select_from(Availability).where(Availability.round_id == demo_round.id)
    ).one()
    summary.round_name = demo_round.name
    summary.round_starts_on = demo_round.starts_on
    summary.round_ends_on = demo_round.ends_on
    return summary


# --------------------------------------------------------------------------------------------
# Generating people
# --------------------------------------------------------------------------------------------


def _named_leaders() -> list[_Leader]:
    """The two leaders a demo signs in as: complete, believable profiles that could match."""
    by_name = {org.name: org for org in ORGANISATIONS}
    mentor = _Leader(
        name="Grace Mensah",
        email=MENTOR_EMAIL,
        org=by_name["Deptford Creek PCN"],
        profession="pcn_clinical_director",
        borough="lewisham",
        experienced=True,
        job_title="GP partner and PCN clinical director",
        mentor_capacity=2,
        wants_mentor=False,
        can_host=True,
        max_hosted_per_week=1,
        strengths=["system_leadership", "integrated_care", "population_health", "coaching"],
        goals=["digital_data"],
        protected_hours=16,  # both her pairs: four half-days, even in one month
        travel=["lewisham", "greenwich", "southwark"],
        usual=[(1, Period.PM), (3, Period.AM), (3, Period.PM)],
        phone="07700 900 123",
        visit={
            "visit_site": "Deptford Creek Health Centre",
            "visit_address": "27 Creekside Walk\nDeptford\nLondon SE8 4QX",
            "visit_directions": "Deptford Bridge DLR is a 5-minute walk. Buses 47, 53, 177 and "
                                "453 stop on Deptford Church Street. No visitor parking.",
            "visit_meeting": "Main reception, ground floor: ask for Grace Mensah. If Grace is "
                             "with a patient, Jo Adeyemi, the practice manager, meets you.",
            "visit_bring": "Photo ID. Smart casual; no uniform. Lunch is not provided, but "
                           "there are cafés on Deptford High Street.",
            "visit_accessibility": "Step-free entrance on Creekside Walk, lift to all floors, "
                                   "accessible toilet on the ground floor, hearing loop at "
                                   "reception.",
            "visit_phone": "020 7946 0321",
        },
        line_manager_name="Dr Kwame Asante",
        line_manager_email=f"kwame.asante@{DEMO_DOMAIN}",
    )
    mentee = _Leader(
        name="Ravi Sivakumar",
        email=MENTEE_EMAIL,
        org=by_name["Thamesmead Health Pharmacy"],
        profession="community_pharmacist",
        borough="greenwich",
        experienced=False,
        job_title="Pharmacist manager",
        mentor_capacity=0,
        wants_mentor=True,
        can_host=True,
        max_hosted_per_week=1,
        strengths=["medicines_optimisation"],
        goals=["system_leadership", "integrated_care", "influencing"],
        protected_hours=8,  # room for both booked exchanges if they fall in one month
        travel=["greenwich", "lewisham", "bexley"],
        usual=[(1, Period.PM), (3, Period.PM)],
        phone="07700 900 456",
        visit={
            "visit_site": "Thamesmead Health Pharmacy",
            "visit_address": "Unit 4, Lakeside Parade\nThamesmead\nLondon SE28 8RN",
            "visit_directions": "From Abbey Wood station (Elizabeth line), bus 229 or 469 to "
                                "Lakeside Parade, about 10 minutes. Free parking in front of the "
                                "parade.",
            "visit_meeting": "Come to the pharmacy counter and ask for Ravi, who takes you "
                             "through to the consultation room.",
            "visit_bring": "Photo ID. Smart casual. There is a spare pharmacy tunic if you "
                           "would like to work behind the counter.",
            "visit_accessibility": "Step-free entrance with an automatic door; the consultation "
                                   "room is on the ground floor. No accessible toilet on site: "
                                   "the health centre next door has one.",
            "visit_phone": "020 7946 0654",
        },
        line_manager_name="Helen Okafor",
        line_manager_email=f"helen.okafor@{DEMO_DOMAIN}",
    )
    return [mentor, mentee]


def _generate_leaders(rng: Random, count: int) -> list[_Leader]:
    orgs = list(ORGANISATIONS)
    org_weights = [KIND_WEIGHTS[org.kind] * SIZE_WEIGHTS[org.size] for org in orgs]
    kind_totals: dict[str, int] = {}
    for org, weight in zip(orgs, org_weights, strict=True):
        kind_totals[org.kind] = kind_totals.get(org.kind, 0) + weight
    # Share of leaders per organisation: kinds in KIND_WEIGHTS proportions, large ones larger.
    org_weights = [
        KIND_WEIGHTS[org.kind] * weight / kind_totals[org.kind]
        for org, weight in zip(orgs, org_weights, strict=True)
    ]

    # Every organisation and every profession is represented, then the rest by weight.
    plan: list[tuple[_Org, str | None]] = [(org, None) for org in orgs]
    for profession in EXPERIENCE_PROPENSITY:
        if profession == "other":
            continue
        homes = [org for org in orgs if profession in dict(KIND_PROFESSIONS[org.kind])]
        plan.append((rng.choice(homes), profession))
    while len(plan) < count:
        plan.append((rng.choices(orgs, weights=org_weights)[0], None))
    plan = plan[:count]

    taken_names = {person.name for person in _named_leaders()}
    taken_emails = {person.email for person in _named_leaders()}
    people = []
    for org, profession in plan:
        if profession is None:
            professions, weights = zip(*KIND_PROFESSIONS[org.kind], strict=True)
            profession = rng.choices(professions, weights=weights)[0]
        name = _new_name(rng, taken_names)
        email = _email_for(name, org.domain, taken_emails)
        borough = rng.choice(org.sites)
        people.append(
            _Leader(name=name, email=email, org=org, profession=profession, borough=borough)
        )

    _choose_mentors(rng, people)
    for person in people:
        _fill_profile(rng, person)
    return people


def _new_name(rng: Random, taken: set[str]) -> str:
    while True:
        first_pool = rng.choices(range(len(NAME_POOLS)), weights=NAME_POOL_WEIGHTS)[0]
        last_pool = first_pool
        if rng.random() < 0.15:  # partners, parents, second generations: names mix
            last_pool = rng.choices(range(len(NAME_POOLS)), weights=NAME_POOL_WEIGHTS)[0]
        name = f"{rng.choice(NAME_POOLS[first_pool][0])} {rng.choice(NAME_POOLS[last_pool][1])}"
        if name not in taken:
            taken.add(name)
            return name


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(char for char in ascii_text.lower() if char.isalnum())


def _email_for(name: str, domain: str, taken: set[str]) -> str:
    first, _, last = name.partition(" ")
    local = f"{_slug(first)}.{_slug(last)}"
    email, number = f"{local}@{domain}", 1
    while email in taken:
        number += 1
        email = f"{local}{number}@{domain}"
    taken.add(email)
    return email


def _choose_mentors(rng: Random, people: list[_Leader]) -> None:
    """Exactly MENTOR_SHARE of leaders are experienced, senior professions more often."""
    # Weighted sampling without replacement (Efraimidis and Spirakis): key u ** (1 / weight).
    keys = [rng.random() ** (1 / EXPERIENCE_PROPENSITY[person.profession]) for person in people]
    ranked = sorted(range(len(people)), key=lambda index: (-keys[index], index))
    for index in ranked[: round(MENTOR_SHARE * len(people))]:
        people[index].experienced = True


def _topics(rng: Random, profession: str, count: int, avoid: Sequence[str] = ()) -> list[str]:
    favoured = set(TOPIC_AFFINITY[profession])
    topics = [topic for topic in TOPICS if topic not in avoid]
    weights = [5.0 if topic in favoured else 1.0 for topic in topics]
    chosen: list[str] = []
    while len(chosen) < count and topics:
        index = rng.choices(range(len(topics)), weights=weights)[0]
        chosen.append(topics.pop(index))
        weights.pop(index)
    return chosen


def _fill_profile(rng: Random, person: _Leader) -> None:
    senior_titles, junior_titles = JOB_TITLES[person.profession]
    if person.experienced:
        person.job_title = rng.choice(senior_titles)
        person.mentor_capacity = rng.choices((1, 2, 3), weights=(45, 40, 15))[0]
        person.wants_mentor = rng.random() < 0.1  # a mentor who also wants one, a step up
        person.can_host = rng.random() < 0.9
        person.max_hosted_per_week = rng.choices((1, 2, 3), weights=(55, 35, 10))[0]
        person.strengths = _topics(rng, person.profession, rng.randint(3, 5))
        person.goals = (
            _topics(rng, person.profession, rng.randint(1, 2), avoid=person.strengths)
            if person.wants_mentor
            else []
        )
        person.protected_hours = rng.choices(PROTECTED_HOURS, weights=(5, 10, 30, 20, 20, 15))[0]
    else:
        person.job_title = rng.choice(junior_titles)
        person.mentor_capacity = 0
        person.wants_mentor = True
        person.can_host = rng.random() < 0.8
        person.max_hosted_per_week = 1
        person.strengths = _topics(rng, person.profession, rng.randint(1, 2))
        person.goals = _topics(rng, person.profession, rng.randint(2, 4), avoid=person.strengths)
        person.protected_hours = rng.choices(PROTECTED_HOURS, weights=(25, 25, 25, 12, 8, 5))[0]
    if not person.can_host:
        person.max_hosted_per_week = None
    person.preference = rng.choices(
        (ProfessionPreference.ANY, ProfessionPreference.DIFFERENT, ProfessionPreference.SAME),
        weights=(85, 10, 5),
    )[0]
    neighbours = list(NEIGHBOURS[person.borough])
    extra = rng.sample(neighbours, k=min(len(neighbours), rng.choice((0, 1, 1, 2, 2, 3))))
    person.travel = [person.borough, *sorted(extra, key=list(BOROUGHS).index)]


# --------------------------------------------------------------------------------------------
# Availability: clustered on a few usual half-days, as diaries are, with a week or two of leave
# --------------------------------------------------------------------------------------------

HALF_DAYS = [(weekday, period) for weekday in range(5) for period in (Period.AM, Period.PM)]
# Tuesday to Thursday afternoons are the commonest protected time; Monday mornings the rarest.
HALF_DAY_WEIGHTS = [2, 3, 4, 6, 5, 7, 4, 6, 3, 3]


def _site_name(rng: Random, org: _Org, area: str) -> str:
    if org.kind == "pcn":
        return org.name.removesuffix(" PCN") + " Health Centre"
    if org.kind in ("practice", "pharmacy", "vcse"):
        return org.name
    if org.kind == "council":
        return f"{area} Civic Offices, adult social care"
    return f"{rng.choice(BUILDINGS)}, {org.name}"


def _visit_details(seed: int, person: _Leader) -> None:
    """A phone for most leaders and, for a host, visit details at one of their organisation's
    sites in their borough. Drawn from a generator of their own, so adding these left every
    other demo value as it was."""
    rng = Random(f"{seed}:visit:{person.email}")
    if rng.random() < 0.6:
        person.phone = f"07700 900 {rng.randrange(1000):03d}"
    if not person.can_host:
        return
    area, district, station = rng.choice(PLACES[person.borough])
    street = rng.choice(STREETS)
    inward = f"{rng.randrange(1, 10)}{''.join(rng.choices(POSTCODE_LETTERS, k=2))}"
    town = "London" if district.startswith("S") else area
    lines = [f"{rng.randrange(2, 180)} {street}", *([area] if town != area else []),
             f"{town} {district} {inward}"]
    first = person.name.split(" ")[0]
    person.visit = {
        "visit_site": _site_name(rng, person.org, area),
        "visit_address": "\n".join(lines),
        "visit_directions": f"{station} is a {rng.randrange(3, 15)}-minute walk. "
                            + rng.choice(TRAVEL_NOTES).format(street=street),
        "visit_meeting": rng.choice(MEETING_NOTES).format(first=first, street=street),
        "visit_bring": rng.choice(BRING_NOTES),
        "visit_accessibility": rng.choice(ACCESS_NOTES),
        "visit_phone": f"020 7946 0{rng.randrange(1000):03d}",
    }


def _usual_half_days(rng: Random) -> list[tuple[int, str]]:
    count = rng.choices((1, 2, 3), weights=(25, 45, 30))[0]
    slots = list(range(len(HALF_DAYS)))
    weights = list(HALF_DAY_WEIGHTS)
    usual = []
    for _ in range(count):
        index = rng.choices(range(len(slots)), weights=weights)[0]
        usual.append(HALF_DAYS[slots.pop(index)])
        weights.pop(index)
    return sorted(usual)


def _christmas_weeks(starts_on: date, ends_on: date) -> list[tuple[date, date, str]]:
    """A "Christmas week" blackout (24 December to 1 January) for each Christmas the window
    reaches, cut to the window; only where it holds a weekday (a blackout must)."""
    weeks = []
    for year in range(starts_on.year - 1, ends_on.year + 1):
        first = max(date(year, 12, 24), starts_on)
        last = min(date(year + 1, 1, 1), ends_on)
        if first <= last and any(
                (first + timedelta(days=n)).weekday() < 5 for n in range((last - first).days + 1)):
            weeks.append((first, last, "Christmas week"))
    return weeks


def _availability(
    rng: Random, usual: list[tuple[int, str]], weekdays: list[date], closed: Container[date]
) -> list[tuple[date, str]]:
    usual_set = set(usual)
    weeks = sorted({(day - weekdays[0]).days // 7 for day in weekdays}) if weekdays else []
    leave = set(rng.sample(weeks, k=min(len(weeks), rng.choices((0, 1, 2), (10, 50, 40))[0])))
    free = []
    for day in weekdays:
        on_leave = (day - weekdays[0]).days // 7 in leave
        for period in (Period.AM, Period.PM):
            chance = 0.8 if (day.weekday(), period) in usual_set else 0.1
            # Draw anyway: leave and closed days keep the stream (and so the demo) the same.
            if rng.random() < chance and not on_leave and day not in closed:
                free.append((day, period.value))
    return free


# --------------------------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------------------------


def _organisations(session: Session, people: list[_Leader]) -> dict[str, Organisation]:
    """The organisations the demo leaders work in, reusing any already in the database."""
    wanted = [org for org in ORGANISATIONS if any(person.org is org for person in people)]
    names = [org.name for org in wanted]
    found = {
        org.name: org
        for org in session.exec(select(Organisation).where(Organisation.name.in_(names))).all()
    }
    new = [
        Organisation(name=org.name, sector=org.sector, borough=org.borough, size=org.size)
        for org in wanted
        if org.name not in found
    ]
    session.add_all(new)
    session.flush()
    found.update({org.name: org for org in new})
    return found


def _avoid_existing_emails(session: Session, people: list[_Leader]) -> None:
    """Should a real account already use a generated address, number the demo one instead."""
    emails = [person.email for person in people]
    clashes = set(session.exec(select(User.email).where(User.email.in_(emails))).all())
    if not clashes:
        return
    taken = set(emails) | clashes
    for person in people:
        if person.email in clashes:
            local, _, domain = person.email.partition("@")
            number = 1
            while f"{local}.demo{number}@{domain}" in taken:
                number += 1
            person.email = f"{local}.demo{number}@{domain}"
            taken.add(person.email)


def _round_name(starts_on: date) -> str:
    season = {
        12: "Winter",
        1: "Winter",
        2: "Winter",
        3: "Spring",
        4: "Spring",
        5: "Spring",
        6: "Summer",
        7: "Summer",
        8: "Summer",
    }.get(starts_on.month, "Autumn")
    return f"{season} {starts_on.year} leadership exchange"


__all__ = ["DEMO_PASSWORD", "DemoSummary", "load_demo"]
