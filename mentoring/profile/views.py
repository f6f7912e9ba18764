"""Profile question pages (NHS.UK 'question pages' pattern) and check-your-answers."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from mentoring.access import roles_required
from mentoring.availability.views import next_step_after_profile
from mentoring.configuration import vocabularies
from mentoring.db import get_session
from mentoring.forms import CsrfForm
from mentoring.profile import services

bp = Blueprint("profile", __name__, url_prefix="/profile")
# Drafts live in the database, not the session cookie (services.current_draft). Accepting an
# invitation still leaves the invitation's answers in the session under this key: they are read
# from the invitation itself, and the key is dropped so the cookie carries no answers.
OLD_DRAFT_KEY = "profile_draft"


def _profile():
    if "own_profile" not in g:
        g.own_profile = services.profile_of(get_session(), current_user)
    return g.own_profile


@bp.before_request
def _keep_own_terms() -> None:
    """A retired term the leader's saved profile holds still counts as an answer on every
    profile page (it is shown, and kept, until they choose another)."""
    if current_user.is_authenticated and current_user.role == "leader":
        g.kept_terms_token = vocabularies._kept.set(
            frozenset(services.kept_terms(_profile())))


@bp.teardown_request
def _forget_own_terms(_exc) -> None:
    token = g.pop("kept_terms_token", None)
    if token is not None:
        try:
            vocabularies._kept.reset(token)
        except ValueError:
            vocabularies._kept.set(frozenset())


def _draft() -> dict:
    if OLD_DRAFT_KEY in session:
        session.pop(OLD_DRAFT_KEY)
    return services.current_draft(get_session(), current_user)


def _choices() -> dict:
    """What the question pages offer: the terms not retired, plus any retired one this leader's
    saved profile already holds (kept, and shown, until they choose another)."""
    db = get_session()
    words = vocabularies.of(db)
    kept = services.kept_terms(_profile())
    return {
        "professions": services.choices(words, "profession", kept),
        "sectors": services.choices(words, "sector", kept),
        "boroughs": services.choices(words, "place", kept),
        "topics": services.choices(words, "topic", kept),
        "organisations": services.organisations(db),
    }


@bp.route("/")
@roles_required("leader")
def overview():
    draft = _draft()
    return render_template(
        "profile/overview.html",
        profile=_profile(),
        draft=draft,
        completeness=services.completeness(draft),
        next_step=services.first_unanswered(draft),
        steps=services.steps_for(draft),
        answered={step.slug for step in services.answered_steps(draft)},
    )


@bp.route("/<slug>", methods=["GET", "POST"])
@roles_required("leader")
def step(slug: str):
    step = services.STEP_BY_SLUG.get(slug)
    if step is None:
        abort(404)
    draft = _draft()
    if not step.applies(draft):  # a question for hosts, to someone who cannot host
        return redirect(url_for("profile.overview"))
    form = CsrfForm()
    errors: dict[str, str] = {}
    values = draft
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        answers = services.parse_step(step, request.form, request.form.getlist)
        db = get_session()
        errors = services.answer_step(db, current_user, step, answers)
        values = {**draft, **answers}
        if not errors:
            db.commit()
            following = services.next_step(step.slug, values)
            if request.args.get("change") or following is None:
                return redirect(url_for("profile.check"))
            return redirect(url_for("profile.step", slug=following.slug))
    back = services.previous_step(step.slug, values)
    steps = services.steps_for(values)
    return render_template(
        "profile/step.html",
        step=step,
        values=values,
        errors=errors,
        form=form,
        back_url=url_for("profile.step", slug=back.slug) if back else url_for("profile.overview"),
        number=steps.index(step) + 1,
        total=len(steps),
        **_choices(),
    ), (400 if errors else 200)


@bp.route("/check", methods=["GET", "POST"])
@roles_required("leader")
def check():
    draft = _draft()
    missing = services.first_unanswered(draft)
    if missing is not None:
        flash(f"Answer '{missing.title}' first.", "info")
        return redirect(url_for("profile.step", slug=missing.slug))
    form = CsrfForm()
    if request.method == "POST" and form.validate_on_submit():
        db = get_session()
        services.save_profile(db, current_user, draft)  # and deletes the draft
        db.commit()
        flash(next_step_after_profile(current_user), "success")
        return redirect(url_for("profile.overview"))
    return render_template(
        "profile/check.html",
        draft=draft,
        form=form,
        organisation_name=services.organisation_name(get_session(), draft),
        steps=services.steps_for(draft),
    )
