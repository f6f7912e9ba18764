"""axe-core checks against WCAG 2.2 AA, callable from any browser test."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe

WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING_IMPACTS = {"serious", "critical"}

_axe = Axe()


def axe_violations(page, impacts=BLOCKING_IMPACTS) -> list[str]:
    """Serious and critical violations on the page, one readable line each."""
    results = _axe.run(
        page,
        options={"runOnly": {"type": "tag", "values": WCAG_22_AA}, "resultTypes": ["violations"]},
    )
    found = []
    for violation in results.response["violations"]:
        if violation.get("impact") in impacts:
            targets = [", ".join(node["target"]) for node in violation["nodes"][:3]]
            found.append(f"{violation['id']} ({violation['impact']}): {'; '.join(targets)}")
    return found


def assert_accessible(page) -> None:
    violations = axe_violations(page)
    assert not violations, f"axe found on {page.url}:\n" + "\n".join(violations)
