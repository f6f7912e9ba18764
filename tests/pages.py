"""Every page of the app, who may see it, and how to build its URL for the crawl tests.

A GET route that is not listed here fails `test_every_page_is_declared`: adding a page means
saying who may see it. `url` receives the crawl's `World` (objects owned by leader A, etc.).
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
    Page("profile.overview", LEADER),
    Page("profile.step", LEADER, "/profile/about-you"),
    Page("profile.check", LEADER),
    Page("availability.index", LEADER),
    Page("availability.edit", LEADER,
         lambda world: f"/rounds/{world.programme_round.id}/availability"),
]

# Pages that redirect signed-in people elsewhere rather than showing them anything.
REDIRECTS_WHEN_SIGNED_IN = {"auth.sign_in"}
