"""configuration: vocabularies and programme text as data an admin manages

Revision ID: 0007a
Revises: 0006d

Places, sectors, professions and topics move from code into `vocabulary_term`, seeded with south
east London's lists (the ones the CHECK constraints held); the CHECK constraints on sector,
borough and profession are dropped (the service layer validates against the table now). The
programme text (service name, footer, contact, privacy notice) starts with south east London's
wording. No row of people's data changes.

Going down restores the CHECK constraints with the seeded keys plus any other key a row holds
by then (a term an admin added), so nothing is lost and nothing fails; the tables are dropped.
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0007a'
down_revision = '0006d'
branch_labels = None
depends_on = None

# The lists as they were in mentoring/vocab.py at this revision: a migration keeps its own copy.
PLACES = [
    ("bexley", "Bexley"), ("bromley", "Bromley"), ("greenwich", "Greenwich"),
    ("lambeth", "Lambeth"), ("lewisham", "Lewisham"), ("southwark", "Southwark"),
]
SECTORS = [
    ("primary_care", "Primary care", ""),
    ("acute", "Acute", "acute care"),
    ("mental_health", "Mental health", ""),
    ("community_health", "Community health", ""),
    ("community_pharmacy", "Community pharmacy", ""),
    ("social_care", "Social care", ""),
    ("vcse", "Voluntary, community and social enterprise (VCSE)",
     "the voluntary, community and social enterprise (VCSE) sector"),
    ("icb", "Integrated care board (ICB)", "an integrated care board (ICB)"),
    ("other", "Other", ""),
]
PROFESSIONS = [
    ("gp", "GP"), ("pcn_clinical_director", "PCN clinical director"),
    ("acute_clinical_director", "Acute-trust clinical director"),
    ("pcn_pharmacy_lead", "PCN pharmacy lead"), ("practice_pharmacist", "Practice pharmacist"),
    ("community_pharmacist", "Community pharmacist"),
    ("consultant_pharmacist", "Consultant pharmacist"),
    ("hospital_pharmacist", "Hospital pharmacist"), ("nurse", "Nurse"),
    ("mental_health_nurse", "Mental-health nurse"), ("social_worker", "Social worker"),
    ("allied_health_professional", "Allied health professional"),
    ("vcse_representative", "VCSE representative"),
    ("patient_representative", "Patient representative"), ("manager", "Manager"),
    ("other", "Other"),
]
PRIORITY = {"nurse", "mental_health_nurse", "social_worker", "vcse_representative",
            "patient_representative", "community_pharmacist", "pcn_pharmacy_lead"}
TOPICS = [
    ("system_leadership", "System leadership across organisations"),
    ("population_health", "Population health and inequalities"),
    ("quality_improvement", "Quality improvement"),
    ("medicines_optimisation", "Medicines optimisation"),
    ("integrated_care", "Integrated care and pathways"),
    ("partnership_working", "Partnership working with the VCSE sector"),
    ("patient_voice", "Patient and community voice"),
    ("workforce", "Workforce and team development"),
    ("finance_contracts", "Finance and contracts"),
    ("digital_data", "Digital, data and analytics"),
    ("governance", "Governance and decision making"),
    ("influencing", "Influencing and negotiating"),
    ("change_management", "Leading change"),
    ("coaching", "Coaching and developing others"),
    ("research_evidence", "Research and evidence"),
    ("resilience", "Wellbeing and resilience"),
]

# The CHECK constraints this revision drops: (table, constraint, column, seeded keys).
CHECKS = [
    ("organisation", "ck_organisation_sector", "sector", [k for k, *_ in SECTORS]),
    ("organisation", "ck_organisation_borough", "borough", [k for k, _ in PLACES]),
    ("leader_profile", "ck_leader_profile_profession", "profession",
     [k for k, _ in PROFESSIONS]),
    ("leader_profile", "ck_leader_profile_sector", "sector", [k for k, *_ in SECTORS]),
    ("leader_profile", "ck_leader_profile_borough", "borough", [k for k, _ in PLACES]),
]


def _seed_terms() -> list[dict]:
    rows: list[dict] = []

    def add(kind, key, label, phrase="", priority=False):
        rows.append({"kind": kind, "key": key, "label": label, "phrase": phrase,
                     "position": sum(1 for row in rows if row["kind"] == kind),
                     "priority": priority, "retired_at": None, "updated_at": NOW})

    for key, label in PLACES:
        add("place", key, label)
    for key, label, phrase in SECTORS:
        add("sector", key, label, phrase)
    for key, label in PROFESSIONS:
        add("profession", key, label, priority=key in PRIORITY)
    for key, label in TOPICS:
        add("topic", key, label)
    return rows


# The programme text south east London starts with (admins change it in the app).
PROGRAMME_TEXT = {
    "service_name": "Leadership exchange",
    "footer_organisation": "NHS South East London leadership programme",
    "area": "south east London",
    "contact_name": "South east London leadership programme team",
    "contact_email": "leadership.exchange@selondonics.nhs.uk",
    "controller": "NHS South East London Integrated Care Board, 160 Tooley Street, London "
                  "SE1 2TZ, is the data controller for the personal data this service holds.",
    "purposes": "We use your information to match you with other leaders, to book your "
                "exchanges and remind you of them, to ask your line manager to release your "
                "time when you ask us to, and to report on the programme in figures that do "
                "not name you.",
    "lawful_basis": "We process your personal data because it is necessary for a task carried "
                    "out in the public interest or in the exercise of official authority "
                    "(UK GDPR Article 6(1)(e)): developing the leaders of the integrated care "
                    "system.",
    "special_category": "We do not ask for special category data (such as health, ethnicity or "
                        "religion). If that changes, this notice will name the Article 9 "
                        "condition and the Data Protection Act 2018 Schedule 1 condition we "
                        "rely on before we collect any.",
    "collected": "From you: your name, email address, job title, profession, sector, "
                 "organisation, borough, what you can offer and want to develop, when you are "
                 "free, your visit details and your feedback. From your programme coordinator: "
                 "your name and email address when they invite you. From your line manager: "
                 "whether they release your time.",
    "recipients": "The leaders you are matched with see your name, job title, organisation "
                  "and, once you both accept, your phone number and visit details. Programme "
                  "coordinators see your profile and matches. Our email relay (a processor "
                  "acting on our instructions) delivers the emails we send you. We do not sell "
                  "your data or send it outside the UK.",
    "retention": "We keep your profile while your account is active, and delete it when you "
                 "delete your account. We keep records of closed rounds, sent emails and the "
                 "audit log only as long as the programme needs them, then delete them or "
                 "keep them only as figures that do not name anyone.",
    "rights": "You have the right to be told about and to get a copy of the data we hold about "
              "you (download it from \"Your data\"), to have it corrected, to object to its "
              "use, to have it restricted, and to have it erased (delete your account from "
              "\"Your data\").",
    "dpo_contact": "Data Protection Officer, NHS South East London Integrated Care Board, "
                   "160 Tooley Street, London SE1 2TZ.",
    "complaints": "If you are unhappy with how we use your data, contact our Data Protection "
                  "Officer first. You have the right to complain to the Information "
                  "Commissioner's Office (ICO): ico.org.uk/make-a-complaint, or 0303 123 1113.",
}

NOW = None  # set in upgrade(): the moment the seed is written


def upgrade() -> None:
    global NOW
    from datetime import UTC, datetime

    NOW = datetime.now(UTC)
    terms = op.create_table(
        'vocabulary_term',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column('phrase', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('priority', sa.Boolean(), nullable=False),
        sa.Column('retired_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('place', 'sector', 'profession', 'topic')",
                           name=op.f('ck_vocabulary_term_kind')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_vocabulary_term')),
        sa.UniqueConstraint('kind', 'key', name=op.f('uq_vocabulary_term_kind_key')),
    )
    texts = op.create_table(
        'programme_text',
        sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column('value', sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=False),
        sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_programme_text')),
    )
    op.bulk_insert(terms, _seed_terms())
    op.bulk_insert(texts, [{"key": key, "value": value, "updated_at": NOW}
                           for key, value in PROGRAMME_TEXT.items()])

    for table, constraint, _column, _keys in CHECKS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(constraint), type_='check')


def downgrade() -> None:
    connection = op.get_bind()
    for table, constraint, column, keys in CHECKS:
        held = connection.execute(  # table and column are this file's constants
            sa.select(sa.column(column)).select_from(sa.table(table)).distinct()).scalars()
        allowed = list(dict.fromkeys([*keys, *sorted(held)]))
        quoted = ", ".join("'" + key.replace("'", "''") + "'" for key in allowed)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_check_constraint(constraint.removeprefix(f"ck_{table}_"),
                                             sa.text(f"{column} IN ({quoted})"))
    op.drop_table('programme_text')
    op.drop_table('vocabulary_term')
