"""Coordinator pages for optimisation runs, review, approval and changes after approval."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy.orm import defer

from mentoring import jobs
from mentoring.access import recent_sign_in_required, roles_required
from mentoring.db import get_session
from mentoring.forms import CsrfForm, row_id
from mentoring.insights import figures
from mentoring.matching import approval_jobs, decisions, exclusions, proposal, runs
from mentoring.matching import changes as changes_service
from mentoring.models import BackgroundJob, OptimiserRun, ProgrammeRound, utcnow
from mentoring.offers import services as offers
from mentoring.view_helpers import client_ip, require_csrf, round_or_404
from mentoring.vocab import JobKind, Role, RunStatus

bp = Blueprint("matching", __name__)
COORDINATORS = (Role.COORDINATOR, Role.ADMIN)
PAIRS_PER_PAGE = 100


def _run(programme_round: ProgrammeRound, run_id: int) -> OptimiserRun:
    # A big round's problem and solution are megabytes of JSON: they are read when used, and
    # the proposal pages read them through `proposal.run_documents`, which decodes them only
    # when they are new to this process.
    run = get_session().get(OptimiserRun, run_id, options=[
        defer(OptimiserRun.problem), defer(OptimiserRun.solution)])
    if run is None or run.round_id != programme_round.id:
        abort(404)
    return run


def _int_field(name: str) -> int:
    number = row_id(request.form.get(name))
    if number is None:
        abort(400)
    return number


# --- runs ------------------------------------------------------------------------------------


@bp.route("/rounds/<int:round_id>/runs", endpoint="runs")
@roles_required(*COORDINATORS)
def runs_page(round_id: int, errors: dict[str, str] | None = None, status: int = 200):
    db = get_session()
    programme_round = round_or_404(round_id)
    all_runs = runs.runs_of(db, programme_round)
    # Only a run that succeeded proposes anything: a failed one may have left a solution with
    # no pairs (no proposal kept every rule), which is neither a figure nor worth comparing.
    documents = {run.id: proposal.run_documents(db, run) for run in all_runs
                 if run.status == RunStatus.SUCCEEDED}
    taken = exclusions.taken_out_of_runs(db, programme_round.id, documents)
    now = figures.round_now(db, programme_round) if all_runs else None
    page = render_template(
        "matching/runs.html", programme_round=programme_round, runs=all_runs,
        active=runs.active_run(db, programme_round), time_limits=runs.TIME_LIMITS,
        default_time_limit=runs.DEFAULT_TIME_LIMIT, errors=errors or {},
        form=request.form if errors else {},
        rules=proposal.pair_rules(db, programme_round.id),
        comparable=[r for r in all_runs if r.id in documents and documents[r.id].solution],
        changes=len(changes_service.pending_changes(db, programme_round, utcnow())),
        offered=changes_service.last_approval(db, programme_round) is not None,
        # The figures of each proposal as decided: without the pairs taken out of it.
        summaries={run_id: proposal.summarise(
            d.problem, exclusions.as_decided(d.solution, taken[run_id]), now)
                   for run_id, d in documents.items() if d.solution},
    )
    return page, status


@bp.route("/rounds/<int:round_id>/runs/new", methods=["POST"])
@roles_required(*COORDINATORS)
def start_run(round_id: int):
    require_csrf()
    db = get_session()
    programme_round = round_or_404(round_id)
    try:
        time_limit = int(request.form.get("time_limit", runs.DEFAULT_TIME_LIMIT))
    except ValueError:
        time_limit = -1
    try:
        run = runs.request_run(db, programme_round, current_user, time_limit=time_limit,
                               note=request.form.get("note", ""), ip=client_ip())
    except runs.RunError as exc:
        db.rollback()
        return runs_page(round_id, errors={exc.field or "time_limit": str(exc)}, status=400)
    db.commit()
    flash("The run is queued: the page shows its progress.", "success")
    return redirect(url_for("matching.run_page", round_id=round_id, run_id=run.id))


# What a review page's address keeps of the view (filters, order, page): decisions taken on
# it come back to the same place.
VIEW_KEYS = (*proposal.FILTERS, proposal.CHANGED, "sort", "page")


def _view_of(values) -> dict[str, str]:
    return {key: values.get(key, "") for key in VIEW_KEYS if values.get(key, "")}


def _posted_view() -> dict[str, str]:
    """The view a decision's form came from (its `view` field: the review's query string)."""
    return _view_of({key: values[-1] for key, values in
                     parse_qs(request.form.get("view", "")[:1000]).items()})


@bp.route("/rounds/<int:round_id>/runs/<int:run_id>")
@roles_required(*COORDINATORS)
def run_page(round_id: int, run_id: int):
    db = get_session()
    programme_round = round_or_404(round_id)
    run = _run(programme_round, run_id)
    documents = proposal.run_documents(db, run)
    filters = {key: request.args.get(key, "") for key in (*proposal.FILTERS, proposal.CHANGED)}
    sort = request.args.get("sort", "score")
    sort = sort if sort in proposal.SORTS else "score"
    # A failed run may have left a solution (no proposal keeps every rule; none in time): it
    # proposes nothing, so its page explains the failure instead of reviewing it.
    proposed = run.status == RunStatus.SUCCEEDED and documents.solution
    review = proposal.review(db, run, filters, sort, documents=documents) if proposed else None
    reviewable = review is not None and run.approved_at is None
    # What approval would change is shown only until the run is approved.
    plan = (decisions.plan_changes(db, run, documents, taken=review.taken)
            if reviewable and run.status == RunStatus.SUCCEEDED else None)
    # A big round has thousands of pairs: a page of them at a time keeps the page quick.
    pages = max(1, -(-(review.shown_count if review else 0) // PAIRS_PER_PAGE))
    page = min(max(row_id(request.args.get("page")) or 1, 1), pages)
    first = (page - 1) * PAIRS_PER_PAGE
    view = {**{k: v for k, v in filters.items() if v}, "sort": sort}

    def page_url(number: int) -> str:
        return url_for("matching.run_page", round_id=round_id, run_id=run_id, **view,
                       page=number)

    # Pins and bans are offered only until the run is approved.
    rule_of = ({(r.mentor_id, r.mentee_id): r.rule
                for r in proposal.pair_rules(db, programme_round.id)} if reviewable else {})
    return render_template(
        "matching/run.html", programme_round=programme_round, run=run, review=review,
        pairs=review.page(first, PAIRS_PER_PAGE) if review else [], first=first, page=page,
        pages=pages, previous_url=page_url(page - 1) if page > 1 else None,
        next_url=page_url(page + 1) if page < pages else None,
        plan=plan, sorts=proposal.SORTS, sort=sort, rule_of=rule_of,
        score_allowance=runs.RERUN_SCORE_ALLOWANCE,
        # Every decision's form carries the view, to come back to it.
        view=urlencode({**view, "page": page}),
        to_keep=[pair for pair in review.keepable() if rule_of.get(pair) != "pinned"]
        if reviewable else [],
        active=run.status in (RunStatus.QUEUED, RunStatus.RUNNING),
        progress_text=runs.progress_text(run),
        failure=runs.failure_kind(run) if run.status == RunStatus.FAILED else None,
        failure_details=runs.failure_details(db, run) if run.status == RunStatus.FAILED else "",
        has_problem=run.status == RunStatus.FAILED and runs.has_problem(db, run),
    )


@bp.route("/rounds/<int:round_id>/runs/<int:run_id>/progress")
@roles_required(*COORDINATORS)
def run_progress(round_id: int, run_id: int):
    run = _run(round_or_404(round_id), run_id)
    return jsonify(status=run.status, stage=run.stage, progress=run.progress,
                   cancel_requested=run.cancel_requested, text=runs.progress_text(run))


@bp.route("/rounds/<int:round_id>/runs/<int:run_id>/<any(problem, solution):document>.json")
@roles_required(*COORDINATORS)
def run_document(round_id: int, run_id: int, document: str):
    """The stored problem or solution, as the optimiser's own file format."""
    run = _run(round_or_404(round_id), run_id)
    data = run.problem if document == "problem" else run.solution
    if data is None:
        abort(404)
    if document == "problem":
        data = {key: value for key, value in data.items() if key != runs.CONTEXT_KEY}
    return Response(
        json.dumps(data, indent=2, ensure_ascii=False), mimetype="application/json",
        headers={"Content-Disposition":
                 f'attachment; filename="round-{round_id}-run-{run_id}-{document}.json"'},
    )


@bp.route("/rounds/<int:round_id>/runs/<int:run_id>/cancel", methods=["POST"])
@roles_required(*COORDINATORS)
def cancel_run(round_id: int, run_id: int):
    require_csrf()
    db = get_session()
    run = _run(round_or_404(round_id), run_id)
    try:
        runs.cancel_run(db, run, current_user, ip=client_ip())
    except runs.RunError as exc:
        flash(str(exc), "info")
    else:
        db.commit()
        flash("The run is being cancelled.", "success")
    return redirect(url_for("matching.run_page", round_id=round_id, run_id=run_id))


# --- decisions on a proposal ----------------------------------------------------------------


@bp.route("/rounds/<int:round_id>/pairs", methods=["POST"])
@roles_required(*COORDINATORS)
def pair_rule(round_id: int):
    """Pin, forbid or clear a pair; back to where the coordinator was on the run's review.
    Neither changes the run's proposal: a forbidden pair shows there as forbidden."""
    require_csrf()
    db = get_session()
    programme_round = round_or_404(round_id)
    rule = request.form.get("rule", "")
    mentor_id, mentee_id = _int_field("mentor_id"), _int_field("mentee_id")
    if request.form.get("run_id"):
        _run(programme_round, _int_field("run_id"))  # of this round, or not found
    try:
        decisions.set_pair_rule(db, programme_round, current_user, mentor_id, mentee_id, rule,
                                request.form.get("reason", ""), ip=client_ip())
    except decisions.DecisionError as exc:
        db.rollback()
        flash(str(exc), "error")
    else:
        db.commit()
        flash(_RULE_MESSAGES[rule].format(
            pair=decisions.pair_name(db, mentor_id, mentee_id)), "success")
    return _back_to_run(round_id, mentor_id, mentee_id)


_RULE_MESSAGES = {
    "pin": "Pinned {pair}: the pair stays in every later run. Run the optimiser again to "
           "apply it.",
    "forbid": "Forbidden {pair}: the pair will not be proposed again, nor approved from this "
              "proposal.",
    "clear": "The pin or ban on {pair} has been removed.",
}


def _back_to_run(round_id: int, mentor_id: int | None = None, mentee_id: int | None = None):
    """To the run's review as the coordinator saw it (filters, order, page), at the pair's row."""
    run_id = row_id(request.form.get("run_id"))
    if run_id is None:
        return redirect(url_for("matching.runs", round_id=round_id))
    view = _posted_view()
    anchor = f"pair-{mentor_id}-{mentee_id}" if mentor_id and mentee_id else None
    return redirect(url_for("matching.run_page", round_id=round_id, run_id=run_id, **view,
                            _anchor=anchor))


@bp.route("/rounds/<int:round_id>/runs/<int:run_id>/<any(remove, restore):decision>",
          methods=["POST"])
@roles_required(*COORDINATORS)
def remove_pair(round_id: int, run_id: int, decision: str):
    """Take a pair out of this proposal, or put it back; the run's solution is not changed."""
    require_csrf()
    db = get_session()
    run = _run(round_or_404(round_id), run_id)
    mentor_id, mentee_id = _int_field("mentor_id"), _int_field("mentee_id")
    try:
        if decision == "remove":
            decisions.remove_pair(db, run, current_user, mentor_id, mentee_id,
                                  request.form.get("reason", ""), ip=client_ip())
        else:
            decisions.restore_pair(db, run, current_user, mentor_id, mentee_id, ip=client_ip())
    except decisions.DecisionError as exc:
        db.rollback()
        flash(str(exc), "error")
    else:
        db.commit()
        pair = decisions.pair_name(db, mentor_id, mentee_id)
        flash(f"{pair} {'is out of' if decision == 'remove' else 'is back in'} this proposal.",
              "success")
    return _back_to_run(round_id, mentor_id, mentee_id)


@bp.route("/rounds/<int:round_id>/runs/<int:run_id>/keep-shown", methods=["POST"])
@roles_required(*COORDINATORS)
def keep_shown(round_id: int, run_id: int):
    """Keep every pair shown: pin every pair that passes the filters, on every page."""
    require_csrf()
    db = get_session()
    programme_round = round_or_404(round_id)
    run = _run(programme_round, run_id)
    view = _posted_view()
    documents = proposal.run_documents(db, run)
    if not documents.solution or run.approved_at is not None:
        abort(404)
    review = proposal.review(db, run, view, documents=documents)
    try:
        pinned = decisions.pin_pairs(db, programme_round, current_user, review.keepable(),
                                     run=run, filters=review.filters, ip=client_ip())
    except decisions.DecisionError as exc:
        db.rollback()
        flash(str(exc), "error")
    else:
        db.commit()
        flash(f"Pinned {pinned} pair{'s' if pinned != 1 else ''}: they stay in every later "
              "run. Run the optimiser again to apply the pins.", "success")
    return redirect(url_for("matching.run_page", round_id=round_id, run_id=run_id, **view))


@bp.route("/rounds/<int:round_id>/runs/<int:run_id>/approve", methods=["GET", "POST"])
@roles_required(*COORDINATORS)
@recent_sign_in_required
def approve(round_id: int, run_id: int):
    """One step: check what will change, give a reason if you like, approve."""
    db = get_session()
    programme_round = round_or_404(round_id)
    run = _run(programme_round, run_id)
    errors: dict[str, str] = {}
    reason = request.form.get("reason", "").strip()
    if request.method == "POST":
        require_csrf()
        size = approval_jobs.proposal_size(proposal.run_documents(db, run).solution)
        if len(reason) > 1000:
            errors["reason"] = "Enter a reason of no more than 1000 characters"
        elif size[0] > approval_jobs.APPROVE_IN_REQUEST_UP_TO:
            # Thousands of pairs take longer than a web request may: the worker approves them
            # (still in one transaction) and the coordinator watches its progress.
            try:
                job = approval_jobs.request_approval(db, run, current_user, reason, size=size,
                                                     ip=client_ip())
            except jobs.AlreadyRunning as running:
                db.rollback()
                job_id = running.job_id
            else:
                db.commit()
                job_id = job.id
            return redirect(url_for("matching.approval_job", round_id=round_id, run_id=run_id,
                                    job_id=job_id))
        else:
            try:
                result = decisions.approve_run(db, run, current_user, utcnow(), reason,
                                               ip=client_ip())
            except decisions.DecisionError as exc:
                db.rollback()
                errors[""] = str(exc)
            else:
                db.commit()
                flash(_approved_message(result), "success")
                return redirect(url_for("matching.run_page", round_id=round_id, run_id=run_id))
    documents = proposal.run_documents(db, run)
    plan = decisions.plan_changes(db, run, documents)
    review = proposal.read_proposal(db, run, documents=documents)
    status = 400 if errors else 200
    return render_template("matching/approve.html", programme_round=programme_round, run=run,
                           plan=plan, review=review, errors=errors, reason=reason), status


@bp.route("/rounds/<int:round_id>/runs/<int:run_id>/approval/<int:job_id>")
@roles_required(*COORDINATORS)
def approval_job(round_id: int, run_id: int, job_id: int):
    """A big approval's progress; once done, the run page with the message a small approval
    shows."""
    db = get_session()
    programme_round = round_or_404(round_id)
    run = _run(programme_round, run_id)
    job = db.get(BackgroundJob, job_id)
    if (job is None or job.round_id != round_id or job.kind != JobKind.APPROVAL
            or job.payload.get("run_id") != run.id):
        abort(404)
    if job.status == RunStatus.SUCCEEDED:
        flash(_approved_message(approval_jobs.result_of(job)), "success")
        return redirect(url_for("matching.run_page", round_id=round_id, run_id=run_id))
    pairs = job.payload.get("pairs", 0)
    return render_template(
        "rounds/job_progress.html", programme_round=programme_round, job=job,
        title=f"Approving run {run.id}" + (" (local)" if run.kind == "local" else ""),
        noun=jobs.NOUNS[job.kind], text=jobs.progress_text(job), all_or_nothing=True,
        intro=f"{pairs:,} pairs and their exchanges are being offered in one step: all of them "
              "or, if something has changed since the run, none. You can leave this page and "
              "come back.",
        progress_url=url_for("rounds.job_progress", round_id=round_id, job_id=job.id),
        again_url=url_for("matching.approve", round_id=round_id, run_id=run_id),
        again_text="Back to the approval")


def _approved_message(result: decisions.ApprovalResult) -> str:
    parts = [f"{result.pairs} match{'es' if result.pairs != 1 else ''} offered",
             f"{result.exchanges} exchange{'s' if result.exchanges != 1 else ''} held"]
    if result.moved:
        parts.append(f"{result.moved} moved")
    if result.cancelled:
        parts.append(f"{result.cancelled} cancelled")
    return ("Approved: " + ", ".join(parts) + ". Both leaders of each new match are being "
            "emailed their offer; exchanges are booked once both accept.")


@bp.route("/rounds/<int:round_id>/runs/compare")
@roles_required(*COORDINATORS)
def compare(round_id: int):
    db = get_session()
    programme_round = round_or_404(round_id)
    run_a_id, run_b_id = row_id(request.args.get("a")), row_id(request.args.get("b"))
    if run_a_id is None or run_b_id is None:
        abort(404)
    run_a, run_b = _run(programme_round, run_a_id), _run(programme_round, run_b_id)
    if not (run_a.solution and run_b.solution):
        abort(404)
    return render_template("matching/compare.html", programme_round=programme_round,
                           comparison=proposal.compare(db, run_a, run_b))


# --- changes after approval -----------------------------------------------------------------

CHANGES_PER_PAGE = 100


@bp.route("/rounds/<int:round_id>/changes")
@roles_required(*COORDINATORS)
def changes(round_id: int, errors: dict[str, str] | None = None, status: int = 200):
    db = get_session()
    programme_round = round_or_404(round_id)
    names = changes_service.names_of(db, programme_round)
    pending = changes_service.pending_changes(db, programme_round, utcnow(), names=names)
    affected = sorted({leader for change in pending for leader in change.leader_ids},
                      key=lambda leader: names.get(leader, ""))
    # A big round can have hundreds of changes at once (a bank holiday, a wave of availability
    # edits): a page of them at a time; every affected leader stays in the re-optimise form.
    pages = max(1, -(-len(pending) // CHANGES_PER_PAGE))
    page = min(max(row_id(request.args.get("page")) or 1, 1), pages)
    first = (page - 1) * CHANGES_PER_PAGE

    def page_url(number: int) -> str:
        return url_for("matching.changes", round_id=round_id, page=number)

    return render_template(
        "matching/changes.html", programme_round=programme_round,
        changes=pending[first:first + CHANGES_PER_PAGE], change_count=len(pending),
        first=first, previous_url=page_url(page - 1) if page > 1 else None,
        next_url=page_url(page + 1) if page < pages else None,
        affected=[(leader, names.get(leader, f"Leader {leader}")) for leader in affected],
        since=changes_service.last_approval(db, programme_round), errors=errors or {},
        active=runs.active_run(db, programme_round), time_limits=runs.TIME_LIMITS,
        stages=offers.stage_counts(db, programme_round.id),
        offers=offers.offers_needing_coordinator(db, programme_round), form=CsrfForm(),
    ), status


# --- decisions on offers: extend, withdraw, answer a request for another match ----------------

OFFER_DECISIONS = {
    "extend": lambda db, r, match_id, form: offers.extend_offer(
        db, r, match_id, current_user, row_id(form.get("days")) or 0, utcnow()),
    "withdraw": lambda db, r, match_id, form: offers.withdraw_offer(
        db, r, match_id, current_user, form.get("note", ""), utcnow()),
    "rematch": lambda db, r, match_id, form: offers.answer_rematch(
        db, r, match_id, current_user, form.get("note", ""), utcnow()),
}
OFFER_DONE = {"extend": "The offer has more time; both leaders have been emailed.",
              "withdraw": "The offer is withdrawn, its half-days released; both leaders have "
                          "been emailed.",
              "rematch": "The leader has been emailed your answer."}


@bp.route("/rounds/<int:round_id>/offers/<int:match_id>/<any(extend, withdraw, rematch):decision>",
          methods=["POST"])
@roles_required(*COORDINATORS)
def offer_decision(round_id: int, match_id: int, decision: str):
    require_csrf()
    db = get_session()
    programme_round = round_or_404(round_id)
    try:
        OFFER_DECISIONS[decision](db, programme_round, match_id, request.form)
    except LookupError:
        abort(404)
    except offers.OfferError as exc:
        db.rollback()
        return changes(round_id, errors={f"{decision}-{match_id}": str(exc)}, status=400)
    db.commit()
    flash(OFFER_DONE[decision], "success")
    return redirect(url_for("matching.changes", round_id=round_id))


@bp.route("/rounds/<int:round_id>/changes/reoptimise", methods=["POST"])
@roles_required(*COORDINATORS)
def reoptimise(round_id: int):
    """A local run around the chosen leaders; approving it applies only what it changes."""
    require_csrf()
    db = get_session()
    programme_round = round_or_404(round_id)
    scope = [number for number in map(row_id, request.form.getlist("leader"))
             if number is not None]
    try:
        run = runs.request_run(db, programme_round, current_user, scope=scope,
                               time_limit=runs.TIME_LIMITS[0],
                               note=request.form.get("note", "") or "Changes after approval",
                               ip=client_ip())
    except runs.RunError as exc:
        db.rollback()
        return changes(round_id, errors={exc.field or "leader": str(exc)}, status=400)
    db.commit()
    flash("A local re-optimisation is queued. Check what it would change, then approve it.",
          "success")
    return redirect(url_for("matching.run_page", round_id=round_id, run_id=run.id))
