"""Every page and every action of the app, who may use it, and how to build its URL.

A GET route that is not listed in PAGES fails `test_every_page_is_declared`, and any route and
method missing from PAGES or ACTIONS fails the access-control matrix
(`tests/test_access_matrix.py`): adding a route means saying who may use it. `url` receives the
crawl's `World` (objects owned by leader A, etc.).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

ANYONE = "anyone"
SIGNED_IN = "signed-in"
LEADER = ("leader",)
COORDINATOR = ("coordinator", "admin")
ADMIN = ("admin",)
ROLES = ("anonymous", "leader", "coordinator", "admin")


@dataclass(frozen=True)
class Page:
    endpoint: str
    access: str | tuple[str, ...]
    url: Callable | str | None = None  # a path, or a function of the World; None: no arguments
    html: bool = True  # False for JSON, files and other non-page responses
    status: int = 200  # what an allowed visitor gets (400 for a deliberately invalid token)
    method: str = "GET"

    def allows(self, role: str) -> bool:
        if self.access == ANYONE:
            return True
        if self.access == SIGNED_IN:
            return role != "anonymous"
        return role in self.access


PAGES = [
    Page("main.index", ANYONE),
    Page("main.home", SIGNED_IN),
    Page("main.accessibility", ANYONE),
    Page("main.privacy", ANYONE),
    Page("main.healthz", ANYONE, html=False),
    Page("main.nhsuk_assets", ANYONE, "/assets/nhsuk-frontend.min.js", html=False),
    Page("static", ANYONE, "/static/vendor/app.css", html=False),
    Page("auth.sign_in", ANYONE),
    Page("auth.register", ANYONE),
    Page("auth.verify", ANYONE, "/verify/not-a-valid-token", status=400),
    Page("auth.reset_request", ANYONE),
    Page("auth.reset_password", ANYONE, "/reset-password/not-a-valid-token", status=400),
    Page("auth.link_request", ANYONE),
    Page("auth.link_sign_in", ANYONE, "/sign-in/link/any-token"),
    Page("auth.join", ANYONE, "/join/not-a-valid-token", status=400),
    # Single sign-on (issue 15): off to the identity provider (a redirect, not a page of ours),
    # and its answer (none here: 400). The access matrix and the crawl configure "nhsmail"
    # against the test provider (tests/oidc/provider.mjs).
    Page("oidc.callback", ANYONE, "/sign-in/with/nhsmail/callback", status=400),
    Page("outbox.round_outbox_page", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/outbox"),
    Page("auth.confirm_sign_in", SIGNED_IN),
    Page("auth.account", SIGNED_IN),
    Page("auth.change_password", SIGNED_IN),
    Page("auth.your_sessions", SIGNED_IN),
    # The second factor (issue 15): the code page is for someone half-way through signing in
    # (anyone else goes home, or to sign in); the others are the account's.
    Page("second_factor.challenge", SIGNED_IN),
    Page("second_factor.setup", SIGNED_IN),
    Page("second_factor.manage", SIGNED_IN),
    Page("second_factor.recovery_codes", SIGNED_IN),
    Page("profile.overview", LEADER),
    Page("profile.step", LEADER, "/profile/about-you"),
    Page("profile.check", LEADER),
    Page("availability.index", LEADER),
    Page("availability.edit", LEADER,
         lambda world: f"/rounds/{world.programme_round.id}/availability"),
    # The leader's matches, exchanges, calendar, feedback and reflections (issue 4).
    Page("exchanges.my_matches", LEADER),
    Page("exchanges.match", LEADER, lambda world: f"/matches/{world.match.id}"),
    Page("exchanges.decline_match", LEADER, lambda world: f"/matches/{world.match.id}/decline"),
    Page("exchanges.exchange", LEADER, lambda world: f"/exchanges/{world.exchange.id}"),
    Page("exchanges.exchange_ics", LEADER, lambda world: f"/exchanges/{world.exchange.id}.ics",
         html=False),
    Page("exchanges.cancel_exchange", LEADER,
         lambda world: f"/exchanges/{world.exchange.id}/cancel"),
    Page("exchanges.reschedule_exchange", LEADER,
         lambda world: f"/exchanges/{world.exchange.id}/reschedule"),
    Page("exchanges.feedback", LEADER,
         lambda world: f"/exchanges/{world.past_exchange.id}/feedback"),
    # Visit details (issue 14): the host changes them for one exchange (leader A hosts this one).
    Page("exchanges.visit_details", LEADER,
         lambda world: f"/exchanges/{world.hosted_exchange.id}/visit-details"),
    Page("exchanges.calendar", LEADER),
    Page("exchanges.calendar_feed", ANYONE, lambda world: f"/calendar/{world.calendar_token}.ics",
         html=False),
    Page("exchanges.reflections", LEADER),
    Page("exchanges.export_reflections", LEADER, html=False),
    Page("exchanges.export_reflections_word", LEADER, html=False),
    Page("exchanges.export_reflections_pdf", LEADER, html=False),
    Page("exchanges.edit_reflection", LEADER, lambda world: f"/reflections/{world.reflection.id}"),
    Page("mydata.index", LEADER),
    Page("mydata.export_json", LEADER, html=False),
    Page("mydata.export_csv", LEADER, html=False),
    Page("mydata.withdraw", LEADER,
         lambda world: f"/my-data/rounds/{world.programme_round.id}/withdraw"),
    Page("mydata.delete_account", LEADER),
    # --- rounds and participants (issue 5) ---
    Page("rounds.index", COORDINATOR),
    Page("rounds.new", COORDINATOR),
    Page("rounds.overview", COORDINATOR, lambda world: f"/rounds/{world.programme_round.id}"),
    Page("rounds.edit", COORDINATOR, lambda world: f"/rounds/{world.programme_round.id}/edit"),
    Page("rounds.participants_page", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/participants"),
    Page("rounds.waiting_list", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/waiting-list"),
    Page("rounds.export_waiting_list", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/export/waiting-list.csv",
         html=False),
    Page("rounds.person", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/participants/{world.leader_a.id}"),
    Page("rounds.withdraw_person", COORDINATOR,
         lambda world: (f"/rounds/{world.programme_round.id}/participants/{world.leader_a.id}"
                        "/withdraw")),
    Page("rounds.edit_person", COORDINATOR,
         lambda world: (f"/rounds/{world.programme_round.id}/participants/{world.leader_a.id}"
                        "/profile")),
    Page("rounds.invite", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/participants/invite"),
    Page("rounds.import_csv", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/participants/import"),
    Page("rounds.import_template", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/participants/template.csv",
         html=False),
    Page("rounds.readiness", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/readiness"),
    # Bank holidays and blackout dates (issue 14).
    Page("rounds.blackouts_page", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/blackouts"),
    Page("rounds.export_participants", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/export/participants.csv", html=False),
    Page("rounds.export_matches", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/export/matches.csv", html=False),
    Page("rounds.export_exchanges", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/export/exchanges.csv", html=False),
    # --- optimisation runs, review, approval, changes (issue 5) ---
    Page("matching.runs", COORDINATOR, lambda world: f"/rounds/{world.programme_round.id}/runs"),
    Page("matching.run_page", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/runs/{world.run.id}"),
    Page("matching.run_progress", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/runs/{world.run.id}/progress",
         html=False),
    Page("matching.run_document", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/runs/{world.run.id}/problem.json",
         html=False),
    Page("matching.approve", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/runs/{world.run.id}/approve"),
    # Big rounds (issue 17): imports and approvals carried out by the worker, with progress.
    Page("matching.approval_job", COORDINATOR,
         lambda world: (f"/rounds/{world.programme_round.id}/runs/{world.run.id}/approval/"
                        f"{world.approval_job.id}")),
    Page("rounds.import_job", COORDINATOR,
         lambda world: (f"/rounds/{world.programme_round.id}/participants/import/"
                        f"{world.import_job.id}")),
    Page("rounds.job_progress", COORDINATOR,
         lambda world: (f"/rounds/{world.programme_round.id}/jobs/{world.approval_job.id}/"
                        "progress"), html=False),
    Page("matching.compare", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/runs/compare"
                       f"?a={world.run.id}&b={world.run.id}"),
    Page("matching.changes", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/changes"),
    # --- pairs and dates by hand (issue 17) ---
    Page("by_hand.index", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/by-hand"),
    Page("by_hand.make_pair", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/by-hand/pair"),
    Page("by_hand.move_exchange", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/by-hand/exchanges/"
                       f"{world.exchange.id}/move"),
    Page("by_hand.add_exchange", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/by-hand/matches/"
                       f"{world.match.id}/exchanges/new"),
    # --- insights (issue 7) ---
    Page("insights.dashboard", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/dashboard"),
    Page("insights.feedback_summary", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/feedback"),
    Page("insights.round_report", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/report"),
    Page("insights.round_report_csv", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/report.csv", html=False),
    Page("insights.you_said_we_did", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/you-said-we-did"),
    # The crawl's round has a published "you said, we did" page and leader A took part in it.
    Page("insights.read_you_said_we_did", LEADER,
         lambda world: f"/rounds/{world.programme_round.id}/you-said-we-did/read"),
    # Did it work (issue 20 item 3): leader A's own self-assessment in the round they are in,
    # and the evaluator's anonymised export and its data dictionary.
    Page("confidence.question", LEADER,
         lambda world: f"/rounds/{world.programme_round.id}/self-assessment"),
    Page("confidence.export", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/self-assessment/export.csv",
         html=False),
    Page("confidence.data_dictionary", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/self-assessment/data-dictionary.csv",
         html=False),
    # --- administration (issue 8) ---
    Page("admin.users", ADMIN),
    Page("admin.user", ADMIN, lambda world: f"/admin/users/{world.leader_a.user_id}"),
    Page("admin.change_role", ADMIN, lambda world: f"/admin/users/{world.leader_a.user_id}/role"),
    Page("admin.deactivate", ADMIN,
         lambda world: f"/admin/users/{world.leader_a.user_id}/deactivate"),
    Page("admin.reactivate", ADMIN,
         lambda world: f"/admin/users/{world.leader_a.user_id}/reactivate"),
    Page("admin.end_sessions", ADMIN,
         lambda world: f"/admin/users/{world.leader_a.user_id}/sign-out"),
    Page("admin.reset_second_factor", ADMIN,
         lambda world: f"/admin/users/{world.leader_a.user_id}/second-factor/reset"),
    Page("admin.invite", ADMIN),
    Page("admin.audit_log", ADMIN),
    Page("admin.audit_csv", ADMIN, html=False),
    Page("main.readyz", ANYONE, html=False),
    # --- visits that can really happen: the host's checks (issue 14) ---
    Page("admin.organisations", COORDINATOR),
    Page("admin.organisation", COORDINATOR,
         lambda world: f"/admin/organisations/{world.leader_a.organisation_id}"),
    Page("visits.round_checks", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/exchanges/{world.exchange.id}/checks"),
    # --- the configuration (issue 19) ---
    Page("configuration.index", ADMIN),
    Page("configuration.kind_page", ADMIN, "/admin/configuration/place"),
    Page("configuration.add_term", ADMIN, "/admin/configuration/topic/add"),
    Page("configuration.edit_term", ADMIN,
         lambda world: f"/admin/configuration/place/{_term_id()}"),
    Page("configuration.programme_text", ADMIN, "/admin/configuration/programme"),
    Page("configuration.export", ADMIN, "/admin/configuration/export.json", html=False),
    Page("configuration.import_file", ADMIN, "/admin/configuration/import"),
    # --- a line manager releases a leader's time: public, the signed link is the key (issue 14)
    Page("release.decide", ANYONE, "/release/not-a-valid-token", status=400),
    # --- outcomes (issue 20): the pair's agreement, check-ins, concerns; the coordinators' view.
    # The crawl's pair has a confirmed agreement they shared, a check-in and a concern.
    Page("outcomes.agreement", LEADER, lambda world: f"/matches/{world.match.id}/agreement"),
    Page("outcomes.check_in", LEADER,
         lambda world: f"/matches/{world.match.id}/check-in/midpoint"),
    Page("outcomes.raise_concern", LEADER, lambda world: f"/matches/{world.match.id}/concern"),
    Page("outcomes.round_progress", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/pair-progress"),
    Page("outcomes.shared_agreement", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/pair-progress/{world.match.id}"
                       "/agreement"),
]

def _term_id() -> int:
    """The seeded first place's id (the migration seeds the same rows in every database)."""
    return 1


# Pages that redirect signed-in people elsewhere rather than showing them anything.
REDIRECTS_WHEN_SIGNED_IN = {"auth.sign_in", "auth.register",
                            # half-way through signing in only; shown once, after setting up
                            "second_factor.challenge", "second_factor.recovery_codes"}


def _round(path: str = "") -> Callable:
    return lambda world: f"/rounds/{world.programme_round.id}{path}"


def _run(path: str = "") -> Callable:
    return lambda world: f"/rounds/{world.programme_round.id}/runs/{world.run.id}{path}"


def _user(path: str = "") -> Callable:
    return lambda world: f"/admin/users/{world.leader_a.user_id}{path}"


# Every POST route: who may use it. (GET and POST of the same form share the URL.)
ACTIONS = [
    Page(page.endpoint, page.access, page.url, html=page.html, method="POST")
    for page in PAGES
    if page.endpoint in {
        "auth.sign_in", "auth.register", "auth.verify", "auth.reset_request",
        "auth.reset_password",
        "auth.link_request", "auth.link_sign_in", "auth.join", "auth.confirm_sign_in",
        "auth.change_password", "profile.step", "profile.check", "availability.edit",
        "exchanges.decline_match", "exchanges.cancel_exchange", "exchanges.reschedule_exchange",
        "exchanges.feedback", "exchanges.reflections", "exchanges.edit_reflection",
        "exchanges.visit_details",
        "mydata.withdraw", "mydata.delete_account",
        "rounds.new", "rounds.edit", "rounds.invite", "rounds.import_csv", "matching.approve",
        "by_hand.make_pair", "by_hand.move_exchange", "by_hand.add_exchange",
        "rounds.person", "rounds.withdraw_person", "rounds.edit_person",
        "rounds.blackouts_page",
        "insights.you_said_we_did", "admin.invite", "admin.deactivate", "admin.reactivate",
        "admin.change_role", "admin.end_sessions", "admin.organisation", "visits.round_checks",
        "release.decide", "configuration.add_term", "configuration.edit_term",
        "configuration.programme_text", "configuration.import_file", "confidence.question",
        "outcomes.agreement", "outcomes.check_in", "outcomes.raise_concern",
        "second_factor.challenge", "second_factor.setup", "admin.reset_second_factor",
    }
] + [
    Page("auth.sign_out", SIGNED_IN, "/sign-out", method="POST"),
    Page("oidc.start", ANYONE, "/sign-in/with/nhsmail", method="POST"),
    Page("oidc.confirm_start", SIGNED_IN, "/confirm-it-is-you/with/nhsmail", method="POST"),
    Page("auth.sign_out_everywhere", SIGNED_IN, "/account/sign-out-everywhere", method="POST"),
    Page("auth.end_one_session", SIGNED_IN, "/account/sessions/1/sign-out", method="POST"),
    Page("second_factor.new_recovery_codes", SIGNED_IN,
         "/account/second-factor/recovery-codes/new", method="POST"),
    Page("second_factor.remove", SIGNED_IN, "/account/second-factor/remove", method="POST"),
    # Passkeys: JSON for the page's script; without someone to add one for or sign in, 400.
    Page("second_factor.passkey_registration_options", ANYONE,
         "/account/second-factor/passkey/options", html=False, method="POST"),
    Page("second_factor.add_passkey", ANYONE, "/account/second-factor/passkey", html=False,
         method="POST"),
    Page("second_factor.passkey_request_options", ANYONE,
         "/sign-in/second-factor/passkey/options", html=False, method="POST"),
    Page("second_factor.sign_in_with_passkey", ANYONE, "/sign-in/second-factor/passkey",
         html=False, method="POST"),
    Page("second_factor.confirm_passkey_options", ANYONE, "/sign-in/confirm/passkey/options",
         html=False, method="POST"),
    Page("second_factor.confirm_with_passkey", ANYONE, "/sign-in/confirm/passkey", html=False,
         method="POST"),
    Page("exchanges.accept_match", LEADER, lambda world: f"/matches/{world.match.id}/accept",
         method="POST"),
    Page("exchanges.shared_note", LEADER, lambda world: f"/exchanges/{world.exchange.id}/note",
         method="POST"),
    Page("exchanges.new_calendar_link", LEADER, "/calendar/new", method="POST"),
    Page("configuration.retire_term", ADMIN, "/admin/configuration/place/1/retire",
         method="POST"),
    Page("configuration.import_confirm", ADMIN, "/admin/configuration/import/confirm",
         method="POST"),
    Page("exchanges.revoke_calendar_link", LEADER, "/calendar/revoke", method="POST"),
    Page("availability.join", LEADER, _round("/join"), method="POST"),
    Page("outbox.retry", COORDINATOR,
         lambda world: f"/notifications/{world.notification.id}/retry", method="POST"),
    Page("rounds.change_status", COORDINATOR, _round("/status"), method="POST"),
    Page("exchanges.delete_reflection", LEADER,
         lambda world: f"/reflections/{world.reflection.id}/delete", method="POST"),
    Page("rounds.import_good_rows", COORDINATOR, _round("/participants/import/confirm"),
         method="POST"),
    Page("rounds.import_rejected_lines", COORDINATOR, _round("/participants/import/rejected"),
         method="POST"),
    Page("rounds.send_reminders", COORDINATOR, _round("/readiness/remind"), method="POST"),
    Page("rounds.revoke_invitation", COORDINATOR,
         lambda world: (f"/rounds/{world.programme_round.id}/invitations/"
                        f"{world.invitation.id}/revoke"), method="POST"),
    Page("admin.revoke_invitation", ADMIN,
         lambda world: f"/admin/invitations/{world.staff_invitation.id}/revoke", method="POST"),
    Page("rounds.remove_blackout", COORDINATOR, _round("/blackouts/remove"), method="POST"),
    Page("matching.start_run", COORDINATOR, _round("/runs/new"), method="POST"),
    Page("matching.cancel_run", COORDINATOR, _run("/cancel"), method="POST"),
    Page("matching.remove_pair", COORDINATOR, _run("/remove"), method="POST"),
    Page("matching.keep_shown", COORDINATOR, _run("/keep-shown"), method="POST"),
    Page("matching.pair_rule", COORDINATOR, _round("/pairs"), method="POST"),
    Page("matching.reoptimise", COORDINATOR, _round("/changes/reoptimise"), method="POST"),
    Page("matching.offer_decision", COORDINATOR,
         lambda world: f"/rounds/{world.programme_round.id}/offers/{world.match.id}/extend",
         method="POST"),
    Page("insights.unpublish_you_said_we_did", COORDINATOR, _round("/you-said-we-did/unpublish"),
         method="POST"),
    Page("outcomes.confirm_agreement", LEADER,
         lambda world: f"/matches/{world.match.id}/agreement/confirm", method="POST"),
    # The host ticks their checklist: leader A hosts the past exchange.
    Page("visits.confirm_checks", LEADER,
         lambda world: f"/exchanges/{world.past_exchange.id}/checks", method="POST"),
]

# Pages and actions on leader A's own objects (their match, exchanges, round membership): any
# other leader gets 404, whatever id or token they put in the URL or form.
LEADER_A_OWNS = {
    "exchanges.match", "exchanges.decline_match", "exchanges.accept_match", "exchanges.exchange",
    "exchanges.exchange_ics", "exchanges.cancel_exchange", "exchanges.reschedule_exchange",
    "exchanges.feedback", "exchanges.visit_details", "exchanges.shared_note", "mydata.withdraw",
    "insights.read_you_said_we_did", "confidence.question",
    "visits.confirm_checks", "exchanges.edit_reflection", "exchanges.delete_reflection",
    "outcomes.agreement", "outcomes.confirm_agreement", "outcomes.check_in",
    "outcomes.raise_concern",
}
