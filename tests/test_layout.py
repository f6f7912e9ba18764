"""The page layout's header and footer are rendered once and reused (mentoring/layout.py): the
reuse must never show one person's header to another, and the header's sign-out form must carry
each session's own CSRF token."""

from __future__ import annotations

import re

from conftest import SignedIn, csrf_token


def header(html: str) -> str:
    return re.search(r"<header.*?</header>", html, re.S).group(0)


def current_navigation_item(html: str) -> str:
    link = re.search(r'aria-current="page"[^>]*>(.*?)</a>', header(html), re.S).group(1)
    return re.sub(r"<[^>]+>", "", link).strip()


def test_each_person_sees_their_own_header_however_often_it_is_reused(app, factory):
    leaders = [factory.leader().user for _ in range(2)]
    coordinator = factory.user(role="coordinator")
    for _ in range(2):  # the second time round, every header comes from the cache
        for user in [*leaders, coordinator]:
            page = SignedIn(app, user).get("/home").get_data(as_text=True)
            assert user.email in header(page)
            others = [u for u in [*leaders, coordinator] if u is not user]
            assert not any(other.email in page for other in others)
            assert ("When you are free" in header(page)) == (user is not coordinator)
            assert ("Rounds" in header(page)) == (user is coordinator)


def test_the_current_page_is_marked_in_the_navigation(app, factory):
    signed = SignedIn(app, factory.leader().user)
    assert current_navigation_item(signed.get("/home").get_data(as_text=True)) == "Home"
    page = signed.get("/matches").get_data(as_text=True)
    assert current_navigation_item(page) == "Matches and exchanges"


def test_the_header_sign_out_form_carries_this_sessions_token_and_signs_out(app, factory):
    first, second = (SignedIn(app, factory.leader().user) for _ in range(2))
    first_page = first.get("/home").get_data(as_text=True)
    second_page = second.get("/home").get_data(as_text=True)
    first_token = csrf_token(header(first_page))
    assert first_token != csrf_token(header(second_page))
    assert "csrf-token-to-be-filled-in" not in first_page
    # The other session's token is refused; this session's own signs it out.
    assert second.client.post("/sign-out", data={"csrf_token": first_token}).status_code == 400
    response = first.client.post("/sign-out", data={"csrf_token": first_token})
    assert response.status_code == 302
    assert first.get("/home").status_code == 302
    assert second.get("/home").status_code == 200


def test_signed_out_pages_offer_sign_in_and_the_footer_links(client):
    page = client.get("/sign-in").get_data(as_text=True)
    assert 'href="/sign-in"' in header(page) and "Sign out" not in page
    assert 'href="/accessibility"' in page and 'href="/privacy"' in page


def test_the_start_page_offers_sign_in_and_creating_an_account(client):
    page = client.get("/").get_data(as_text=True)
    body = page[page.index("<main"):page.index("</main>")]
    actions = re.findall(r'<a\s+class="nhsuk-action-link"\s+href="([^"]+)"\s*>.*?'
                         r'<span class="nhsuk-action-link__text">\s*([^<]+?)\s*</span>', body, re.S)
    assert actions == [("/sign-in", "Sign in"), ("/register", "Create an account")]
