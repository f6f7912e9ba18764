"""An integrated care system's own configuration (issue 19): vocabularies admins add to, relabel
and retire in the browser; programme text and the privacy notice; the whole configuration as one
JSON file (the admin page and `mentoring config`); readiness in production."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select

from mentoring.configuration import programme, transfer, vocabularies
from mentoring.exchanges.reasons import reasons_for_reader
from mentoring.models import AuditEvent, LeaderProfile, VocabularyTerm
from mentoring.vocab import BOROUGHS, PROFESSIONS, SECTORS, TOPICS

from conftest import make_settings

NORTH_EAST = Path(__file__).parent / "configs" / "north-east-london.json"


def term(db, kind: str, key: str) -> VocabularyTerm:
    return db.exec(select(VocabularyTerm).where(VocabularyTerm.kind == kind,
                                                VocabularyTerm.key == key)).one()


def actions(db) -> list[str]:
    return [event.action for event in db.exec(select(AuditEvent).order_by(AuditEvent.id))]


# --- the seed ----------------------------------------------------------------------------------


def test_the_migration_seeds_south_east_londons_lists_and_programme_text(db):
    words = vocabularies.of(db)
    assert words.places == BOROUGHS and words.sectors == SECTORS
    assert words.professions == PROFESSIONS and words.topics == TOPICS
    assert sorted(words.fingerprint) == sorted(vocabularies.defaults().fingerprint)
    assert "nurse" in words.priority_professions
    texts = programme.of(db)
    assert programme.missing(texts) == []
    assert "Article 6(1)(e)" in texts["lawful_basis"] and "ICO" in texts["complaints"]


def test_sector_borough_and_profession_are_no_longer_check_constraints(db, factory):
    """Validation moved to the service layer: the database takes a key an admin adds."""
    db.add(VocabularyTerm(kind="place", key="tower_hamlets", label="Tower Hamlets"))
    leader = factory.leader(borough="tower_hamlets")
    db.flush()
    assert db.get(LeaderProfile, leader.id).borough == "tower_hamlets"


# --- add, relabel, retire in the app -----------------------------------------------------------


def test_an_admin_adds_a_borough_relabels_a_profession_and_retires_a_topic_and_leaders_see_it(
        db, admin_client, leader_client, leader):
    added = admin_client.post_form("/admin/configuration/place/add",
                                   {"label": "Tower Hamlets"})
    assert added.status_code == 302
    nurse = term(db, "profession", "nurse")
    relabelled = admin_client.post_form(f"/admin/configuration/profession/{nurse.id}",
                                        {"label": "Registered nurse", "priority": "yes"})
    assert relabelled.status_code == 302
    coaching = term(db, "topic", "coaching")
    retired = admin_client.post_form(f"/admin/configuration/topic/{coaching.id}/retire",
                                     {"retired": "yes"},
                                     form_page=f"/admin/configuration/topic/{coaching.id}")
    assert retired.status_code == 302
    assert actions(db)[-3:] == ["configuration.term_added", "configuration.term_changed",
                                "configuration.term_retired"]
    assert term(db, "place", "tower_hamlets").label == "Tower Hamlets"  # key made from label

    # The leader's question pages offer the new borough and label, not the retired topic.
    where = leader_client.get("/profile/organisation").get_data(as_text=True)
    assert 'value="tower_hamlets"' in where and "Tower Hamlets" in where
    assert "Registered nurse" in leader_client.get("/profile/profession").get_data(as_text=True)
    assert 'value="coaching"' not in leader_client.get("/profile/strengths").get_data(
        as_text=True)
    # And the new borough can be chosen and saved.
    saved = leader_client.post_form("/profile/organisation", {
        "organisation_id": str(leader.organisation_id), "sector": leader.sector,
        "borough": "tower_hamlets"})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    # Old records keep a retired topic and still show its label.
    assert vocabularies.of(db).label("topic", "coaching") == "Coaching and developing others"


def test_a_retired_term_is_refused_as_a_new_choice_but_kept_by_a_record_that_holds_it(
        db, admin_client, leader_client, leader, factory):
    lewisham = term(db, "place", "lewisham")  # the leader's borough (the factory's default)
    bexley = term(db, "place", "bexley")
    for retired in (lewisham, bexley):
        admin_client.post_form(f"/admin/configuration/place/{retired.id}/retire",
                               {"retired": "yes"},
                               form_page=f"/admin/configuration/place/{retired.id}")
    page = leader_client.get("/profile/organisation").get_data(as_text=True)
    assert 'value="lewisham"' in page and 'value="bexley"' not in page
    refused = leader_client.post_form("/profile/organisation", {
        "organisation_id": str(leader.organisation_id), "sector": leader.sector,
        "borough": "bexley"})
    assert refused.status_code == 400
    assert "Choose a borough from the list" in refused.get_data(as_text=True)
    kept = leader_client.post_form("/profile/organisation", {
        "organisation_id": str(leader.organisation_id), "sector": leader.sector,
        "borough": "lewisham"})
    assert kept.status_code == 302


def test_adding_or_relabelling_shows_errors_beside_the_field(db, admin_client):
    empty = admin_client.post_form("/admin/configuration/sector/add", {"label": "  "})
    assert empty.status_code == 400
    html = empty.get_data(as_text=True)
    assert "There is a problem" in html and 'id="label-error"' in html
    same = admin_client.post_form("/admin/configuration/sector/add", {"label": "acute"})
    assert same.status_code == 400 and "There is already a sector called Acute" in (
        same.get_data(as_text=True))
    assert 'value="acute"' in same.get_data(as_text=True)  # the input is kept


def test_the_last_offered_term_of_a_kind_cannot_be_retired(db, admin):
    from mentoring.configuration import terms

    places = terms.terms_of(db, "place")
    for place in places[:-1]:
        terms.set_retired(db, admin, place, True)
    with pytest.raises(terms.TermError, match="Keep at least one"):
        terms.set_retired(db, admin, places[-1], True)


def test_only_admins_manage_the_configuration(coordinator_client, leader_client):
    for client in (coordinator_client, leader_client):
        assert client.get("/admin/configuration").status_code == 403
        assert client.get("/admin/configuration/export.json").status_code == 403


def test_a_new_sector_reads_well_in_a_matchs_reasons_by_its_label(db):
    db.add(VocabularyTerm(kind="sector", key="ambulance", label="Ambulance service"))
    db.flush()
    vocabularies.forget(db)

    class Leader:
        def __init__(self, name, sector, profession="nurse"):
            self.name, self.sector, self.profession = name, sector, profession
            self.goals, self.strengths, self.borough = ["workforce"], ["workforce"], "bexley"

    reasons = reasons_for_reader(Leader("Ada", "acute"), Leader("Grace Hopper", "ambulance"),
                                 i_am_mentor=False, vocabularies=vocabularies.of(db))
    assert "Grace works in ambulance service; you work in acute care" in " ".join(reasons)


# --- programme text and the privacy notice -----------------------------------------------------


def test_the_privacy_page_carries_every_heading(client):
    html = client.get("/privacy").get_data(as_text=True)
    for section in programme.PRIVACY_SECTIONS:
        assert f">{section.label}</h2>" in html.replace("&#39;", "'")
    assert "Article 6(1)(e)" in html and "Information Commissioner" in html


def test_an_admin_changes_the_service_name_and_every_page_shows_it(db, admin_client, client):
    values = dict(programme.of(db), service_name="Walk in their shoes")
    saved = admin_client.post_form("/admin/configuration/programme", values)
    assert saved.status_code == 302
    assert "configuration.programme_text_changed" in actions(db)
    assert "Walk in their shoes" in admin_client.get("/home").get_data(as_text=True)
    refused = admin_client.post_form("/admin/configuration/programme",
                                     dict(values, dpo_contact="", contact_email="not an email"))
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert 'id="dpo_contact-error"' in html and "Enter an email address" in html


def test_readyz_in_production_names_the_missing_programme_text(tmp_path):
    from mentoring import create_app
    from mentoring.db import make_engine
    from mentoring.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'ready.db'}")
    upgrade(engine)
    app = create_app({"SETTINGS": make_settings(
        tmp_path, engine.url.render_as_string(), environment="production",
        base_url="https://exchange.example.nhs.uk"), "ENGINE": engine})
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE programme_text SET value = '' "
                                   "WHERE key IN ('dpo_contact', 'controller')"))
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "error" and "programme text missing" in body["reason"]
    assert body["missing"] == ["Who we are (the data controller)",
                               "Our Data Protection Officer"]
    engine.dispose()


def test_the_cli_imports_another_systems_file_and_exports_it_again(cli_env, tmp_path):
    def mentoring(*args):
        return subprocess.run([sys.executable, "-m", "mentoring", *args], env=cli_env,
                              capture_output=True, text=True, timeout=120, check=False)

    assert mentoring("db", "upgrade").returncode == 0
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "mentoring-configuration/1"}')
    refused = mentoring("config", "import", str(bad))
    assert refused.returncode == 2 and "Error: vocabularies:" in refused.stderr
    checked = mentoring("config", "import", "--check", str(NORTH_EAST))
    assert checked.returncode == 0 and "nothing imported" in checked.stdout
    imported = mentoring("config", "import", str(NORTH_EAST))
    assert imported.returncode == 0, imported.stderr
    exported = mentoring("config", "export", "-")
    document = json.loads(exported.stdout)
    offered = [t["key"] for t in document["vocabularies"]["place"] if not t.get("retired")]
    assert offered == [t["key"] for t in json.loads(NORTH_EAST.read_text())[
        "vocabularies"]["place"]]
    assert document["programme"]["service_name"] == "East London leadership exchange"


# --- the configuration as a file ---------------------------------------------------------------


def test_export_then_import_the_same_file_changes_nothing(db):
    text = transfer.dumps(transfer.export(db))
    plan = transfer.plan_import(db, text)
    assert plan.ok, plan.problems
    assert set(plan.summary().values()) == {0}


def test_a_bad_file_gets_a_report_of_every_problem_and_changes_nothing(db, admin_client):
    document = json.loads(NORTH_EAST.read_text())
    document["format"] = "something else"
    document["vocabularies"]["place"][1]["key"] = "Not A Key"
    document["vocabularies"]["topic"].append(dict(document["vocabularies"]["topic"][0]))
    document["organisations"][0]["place"] = "atlantis"
    document["programme"]["dpo_contact"] = ""
    document["colour"] = "blue"
    upload = admin_client.post_form(
        "/admin/configuration/import",
        {"file": (io.BytesIO(json.dumps(document).encode()), "bad.json")},
        content_type="multipart/form-data")
    assert upload.status_code == 400
    html = upload.get_data(as_text=True)
    for where in ("format", "vocabularies.place[1].key", "vocabularies.topic[17].key",
                  "organisations[0].place", "programme.dpo_contact", "colour"):
        assert f"<code>{where}</code>" in html, where
    assert "nothing was imported" in html
    assert vocabularies.of(db).places == BOROUGHS
    not_json = admin_client.post_form(
        "/admin/configuration/import", {"file": (io.BytesIO(b"{oops"), "x.json")},
        content_type="multipart/form-data")
    assert "not valid JSON" in not_json.get_data(as_text=True)


def test_an_admin_previews_then_imports_another_systems_file(db, admin_client):
    upload = admin_client.post_form(
        "/admin/configuration/import",
        {"file": (io.BytesIO(NORTH_EAST.read_bytes()), "north-east-london.json")},
        content_type="multipart/form-data")
    assert upload.status_code == 200
    html = upload.get_data(as_text=True)
    assert "Nothing has changed yet" in html and "tower_hamlets" in html
    assert "retire bexley" in html
    assert vocabularies.of(db).places == BOROUGHS  # a preview changes nothing
    packed = __import__("re").search(r'name="upload" value="([^"]+)"', html).group(1)
    done = admin_client.post_form("/admin/configuration/import/confirm", {"upload": packed},
                                  form_page="/admin/configuration/import")
    assert done.status_code == 302
    vocabularies.forget(db)
    words = vocabularies.of(db)
    assert "tower_hamlets" in words.offered("place") and "bexley" not in words.offered("place")
    assert words.label("place", "bexley") == "Bexley"  # retired, never deleted
    assert "paramedic" in words.priority_professions
    assert "configuration.imported" in actions(db)
    assert "East London leadership exchange" in admin_client.get("/home").get_data(
        as_text=True)
    exported = admin_client.get("/admin/configuration/export.json")
    assert exported.headers["Content-Disposition"].startswith("attachment")
    assert exported.get_json()["programme"]["area"] == "north east London"


def test_a_tampered_confirm_step_imports_nothing(db, admin_client):
    refused = admin_client.post_form("/admin/configuration/import/confirm",
                                     {"upload": "bm90IGEgZmlsZQ=="},
                                     form_page="/admin/configuration/import")
    assert refused.status_code == 400
    assert "Upload it once more" in refused.get_data(as_text=True)
