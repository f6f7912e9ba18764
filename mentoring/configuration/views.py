"""Admin pages for the configuration: vocabularies (add, relabel, retire, bring back), the
programme text, and the whole configuration as one JSON file (download; upload, preview,
import). Thin views over `mentoring.configuration`."""

from __future__ import annotations

import base64
import binascii
import zlib

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from mentoring import audit
from mentoring.access import roles_required
from mentoring.configuration import programme, store, terms, transfer, vocabularies
from mentoring.configuration.vocabularies import KIND_HINTS, KIND_NAMES, KIND_TITLES, KINDS
from mentoring.db import get_session
from mentoring.forms import CsrfForm
from mentoring.view_helpers import client_ip
from mentoring.vocab import Role

bp = Blueprint("configuration", __name__, url_prefix="/admin/configuration")
EXPIRED = {"": "Your form expired. Try again."}
MAX_FILE_BYTES = 2 * 1024 * 1024


# How long a process shows the configuration it read before reading it again (a change made in
# this process shows at once; one made in another, within this).
CACHE_SECONDS = 10.0
CACHE = "mentoring.configuration_cache"


def init_app(app: Flask) -> None:
    """The blueprint, and the vocabularies `current()` gives while a request runs: the process's
    cached copy (read lazily: a request that shows no label and validates nothing reads
    nothing). Services that save a choice validate against their own transaction's copy."""
    app.register_blueprint(bp)
    cache = app.extensions[CACHE] = store.ProcessCache(CACHE_SECONDS)

    @app.before_request
    def _bind_vocabularies() -> None:
        from flask import g

        g.vocabularies_token = vocabularies.bind(
            lambda: cache.get(get_session()).vocabularies)

    @app.teardown_request
    def _unbind_vocabularies(_exc) -> None:
        from flask import g

        token = g.pop("vocabularies_token", None)
        if token is not None:
            try:
                vocabularies.unbind(token)
            except ValueError:  # torn down in another context than it was bound in
                vocabularies.bind(None)


def _changed() -> None:
    """After a commit that changed the configuration: this process's pages show it at once."""
    current_app.extensions[CACHE].clear()


def _me():
    return current_user._get_current_object()


def _kind(kind: str) -> str:
    if kind not in KINDS:
        abort(404)
    return kind


@bp.route("")
@roles_required(Role.ADMIN)
def index():
    words = vocabularies.of(get_session())
    counts = {kind: (len(words.offered(kind)), len(words.labels(kind)) - len(
        words.offered(kind))) for kind in KINDS}
    return render_template("configuration/index.html", kinds=KINDS, titles=KIND_TITLES,
                           hints=KIND_HINTS, counts=counts)


@bp.route("/<kind>")
@roles_required(Role.ADMIN)
def kind_page(kind: str):
    db = get_session()
    _kind(kind)
    return render_template("configuration/kind.html", kind=kind, title=KIND_TITLES[kind],
                           noun=KIND_NAMES[kind], hint=KIND_HINTS[kind],
                           terms=terms.terms_of(db, kind), usage=terms.usage(db, kind))


@bp.route("/<kind>/add", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def add_term(kind: str):
    db = get_session()
    _kind(kind)
    values, errors = terms.TermForm(), {}
    if request.method == "POST":
        if not CsrfForm().validate_on_submit():
            errors = dict(EXPIRED)
        else:
            values = terms.TermForm.from_form(request.form)
            try:
                added = terms.add_term(db, _me(), kind, values, ip=client_ip())
            except terms.TermError as error:
                errors = error.errors
            else:
                db.commit()
                _changed()
                flash(f"Added {added.label}. People can choose it now.", "success")
                return redirect(url_for("configuration.kind_page", kind=kind))
    return render_template("configuration/term.html", kind=kind, noun=KIND_NAMES[kind],
                           title=KIND_TITLES[kind], term=None, values=values,
                           errors=errors), (400 if errors else 200)


@bp.route("/<kind>/<int:term_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_term(kind: str, term_id: int):
    db = get_session()
    term = terms.get_term(db, _kind(kind), term_id) or abort(404)
    values, errors = terms.TermForm.from_term(term), {}
    if request.method == "POST":
        if not CsrfForm().validate_on_submit():
            errors = dict(EXPIRED)
        else:
            values = terms.TermForm.from_form(request.form)
            try:
                changed = terms.update_term(db, _me(), term, values, ip=client_ip())
            except terms.TermError as error:
                errors = error.errors
            else:
                db.commit()
                _changed()
                if changed:
                    flash(f"Saved {term.label}. Every page shows the new wording now.",
                          "success")
                return redirect(url_for("configuration.kind_page", kind=kind))
    return render_template("configuration/term.html", kind=kind, noun=KIND_NAMES[kind],
                           title=KIND_TITLES[kind], term=term, values=values,
                           errors=errors), (400 if errors else 200)


@bp.route("/<kind>/<int:term_id>/retire", methods=["POST"])
@roles_required(Role.ADMIN)
def retire_term(kind: str, term_id: int):
    db = get_session()
    term = terms.get_term(db, _kind(kind), term_id) or abort(404)
    retire = request.form.get("retired") != "no"
    errors: dict[str, str] = {}
    if not CsrfForm().validate_on_submit():
        errors = dict(EXPIRED)
    else:
        try:
            terms.set_retired(db, _me(), term, retire, ip=client_ip())
        except terms.TermError as error:
            errors = error.errors
        else:
            db.commit()
            _changed()
            flash(f"Retired {term.label}: it is no longer offered, and records that hold it "
                  "keep it." if retire else f"Brought back {term.label}: people can choose it "
                  "again.", "success")
            return redirect(url_for("configuration.kind_page", kind=kind))
    return render_template("configuration/term.html", kind=kind, noun=KIND_NAMES[kind],
                           title=KIND_TITLES[kind], term=term,
                           values=terms.TermForm.from_term(term), errors=errors), 400


@bp.route("/programme", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def programme_text():
    db = get_session()
    values, errors = dict(programme.of(db)), {}
    if request.method == "POST":
        if not CsrfForm().validate_on_submit():
            errors = dict(EXPIRED)
        else:
            values = {field.key: request.form.get(field.key, "") for field in programme.FIELDS}
            errors = programme.validate(values)
            if not errors:
                changed = programme.save(db, values)
                if changed:
                    audit.record(db, "configuration.programme_text_changed", actor=_me(),
                                 ip=client_ip(), detail={"fields": changed})
                db.commit()
                _changed()
                flash("Saved the programme text." if changed else "Nothing changed.",
                      "success")
                return redirect(url_for("configuration.index"))
    return render_template("configuration/programme.html", fields=programme.FIELDS,
                           values=values, errors=errors), (400 if errors else 200)


@bp.route("/export.json")
@roles_required(Role.ADMIN)
def export():
    document = transfer.dumps(transfer.export(get_session()))
    return Response(document, mimetype="application/json", headers={
        "Content-Disposition": 'attachment; filename="configuration.json"',
        "Cache-Control": "no-store"})


def _pack(data: bytes) -> str:
    return base64.b64encode(zlib.compress(data, 9)).decode("ascii")


def _unpack(packed: str) -> bytes | None:
    try:
        inflater = zlib.decompressobj()
        data = inflater.decompress(base64.b64decode(packed, validate=True), MAX_FILE_BYTES + 1)
    except (binascii.Error, zlib.error, ValueError):
        return None
    return data if inflater.eof and len(data) <= MAX_FILE_BYTES else None


def _import_page(*, plan=None, errors=None, packed="", filename="", status=200):
    return render_template("configuration/import.html", plan=plan, errors=errors or {},
                           packed=packed, filename=filename, titles=KIND_TITLES,
                           fields=programme.FIELD_BY_KEY), status


@bp.route("/import", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def import_file():
    """Upload a file: nothing changes yet; the page shows every problem, or what would change."""
    if request.method == "GET":
        return _import_page()
    if not CsrfForm().validate_on_submit():
        return _import_page(errors=dict(EXPIRED), status=400)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _import_page(errors={"file": "Choose a configuration file (.json) to upload"},
                            status=400)
    data = upload.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        return _import_page(errors={"file": "The file must be smaller than 2 MB"}, status=400)
    plan = transfer.plan_import(get_session(), data)
    if not plan.ok:
        return _import_page(plan=plan, filename=upload.filename, status=400, errors={
            "file": f"The file has {len(plan.problems)} problem"
                    f"{'s' if len(plan.problems) != 1 else ''}: nothing was imported"})
    return _import_page(plan=plan, packed=_pack(data), filename=upload.filename)


@bp.route("/import/confirm", methods=["POST"])
@roles_required(Role.ADMIN)
def import_confirm():
    if not CsrfForm().validate_on_submit():
        return _import_page(errors=dict(EXPIRED), status=400)
    data = _unpack(request.form.get("upload", ""))
    db = get_session()
    plan = transfer.plan_import(db, data) if data is not None else None
    if plan is None or not plan.ok:
        return _import_page(status=400, errors={
            "file": "We could not read the file again. Upload it once more."})
    transfer.apply_import(db, plan, _me(), ip=client_ip())
    db.commit()
    _changed()
    flash("Imported the configuration. Every page uses it now.", "success")
    return redirect(url_for("configuration.index"))
