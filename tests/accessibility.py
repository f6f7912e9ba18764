"""axe-core checks against WCAG 2.2 AA, and the NHS.UK font, callable from any browser test."""

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


# The NHS.UK frontend's font stack (its $nhsuk-font-family): Frutiger where installed, then
# Arial, then the browser's sans-serif. A page without it falls back to the browser's serif.
NHS_FONT_STACK = ["frutiger w01", "arial", "sans-serif"]

# Each element's computed font-family: the body, its first heading, and every visible form
# control (buttons, inputs, selects and text areas do not inherit the page's font by default).
_FONT_FAMILIES = """() => {
  const named = element => element.tagName.toLowerCase() + (element.id ? "#" + element.id : "")
    + (element.type ? "[type=" + element.type + "]" : "");
  const controls = [...document.querySelectorAll("button, input, select, textarea")]
    .filter(element => element.type !== "hidden");
  return [document.body, document.querySelector("h1"), ...controls]
    .filter(Boolean)
    .map(element => [named(element), getComputedStyle(element).fontFamily]);
}"""


def font_families(css_value: str) -> list[str]:
    return [family.strip().strip("'\"").lower() for family in css_value.split(",")]


def assert_nhs_font(page) -> None:
    """Body text, the heading and every form control use the NHS.UK sans-serif stack."""
    wrong = [f"{element}: {value}" for element, value in page.evaluate(_FONT_FAMILIES)
             if font_families(value) != NHS_FONT_STACK]
    assert not wrong, f"not in the NHS font on {page.url}:\n" + "\n".join(wrong)
