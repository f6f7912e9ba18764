"""Factories: real rows through the real models, with sensible defaults a test can override."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

from sqlmodel import Session

from mentoring.models import (
    Availability,
    Exchange,
    ExchangeBooking,
    Feedback,
    LeaderProfile,
    Match,
    Organisation,
    ProgrammeRound,
    RoundParticipant,
    User,
    utcnow,
)
from mentoring.passwords import hash_password

_counter = itertools.count(1)


class Factory:
    def __init__(self, session: Session, password: str) -> None:
        self.session = session
        self.password_hash = hash_password(password)

    def _save(self, row):
        self.session.add(row)
        self.session.flush()
        return row

    def user(self, email: str | None = None, role: str = "leader", **fields) -> User:
        n = next(_counter)
        values = {"password_hash": self.password_hash, "verified_at": utcnow()} | fields
        return self._save(User(email=email or f"user{n}@example.org", role=role, **values))

    def organisation(self, name: str | None = None, **fields) -> Organisation:
        n = next(_counter)
        values = {"sector": "primary_care", "borough": "lewisham", "size": "small"} | fields
        return self._save(Organisation(name=name or f"Organisation {n}", **values))

    def leader(self, email: str | None = None, user: User | None = None, **fields) -> LeaderProfile:
        user = user or self.user(email=email)
        values = {
            "name": f"Leader {user.id}",
            "profession": "gp",
            "sector": "primary_care",
            "borough": "lewisham",
            "career_stage": "emerging",
            "wants_mentor": True,
            "consent_at": utcnow(),
        } | fields
        if "organisation_id" not in values:
            values["organisation_id"] = self.organisation().id
        return self._save(LeaderProfile(user_id=user.id, **values))

    def mentor(self, **fields) -> LeaderProfile:
        defaults = {"career_stage": "experienced", "mentor_capacity": 2, "wants_mentor": False,
                    "can_host": True}
        return self.leader(**(defaults | fields))

    def programme_round(self, **fields) -> ProgrammeRound:
        start = fields.pop("starts_on", date(2027, 1, 4))
        values = {
            "name": f"Round {next(_counter)}",
            "starts_on": start,
            "ends_on": start + timedelta(weeks=12) - timedelta(days=1),
            "status": "open",
        } | fields
        return self._save(ProgrammeRound(**values))

    def participant(self, programme_round: ProgrammeRound, leader: LeaderProfile, **fields):
        return self._save(
            RoundParticipant(round_id=programme_round.id, leader_id=leader.id, **fields)
        )

    def availability(self, programme_round, leader, day: date, period: str = "am"):
        return self._save(
            Availability(round_id=programme_round.id, leader_id=leader.id, day=day, period=period)
        )

    def match(self, programme_round, mentor, mentee, **fields) -> Match:
        return self._save(
            Match(round_id=programme_round.id, mentor_id=mentor.id, mentee_id=mentee.id, **fields)
        )

    def exchange(self, match: Match, starts_at: datetime, **fields) -> Exchange:
        values = {
            "host_id": match.mentor_id,
            "visitor_id": match.mentee_id,
            "ends_at": starts_at + timedelta(hours=4),
            "uid": f"exchange-{next(_counter)}@test",
        } | fields
        return self._save(Exchange(match_id=match.id, starts_at=starts_at, **values))

    def feedback(self, exchange: Exchange, leader: LeaderProfile, **fields) -> Feedback:
        """Feedback by `leader` on `exchange`, with the author's profession and sector kept."""
        match = self.session.get(Match, exchange.match_id)
        values = {"rating": 4, "author_profession": leader.profession,
                  "author_sector": leader.sector} | fields
        return self._save(Feedback(exchange_id=exchange.id, round_id=match.round_id,
                                   leader_id=leader.id, **values))

    def matched(self, mentee: LeaderProfile, mentor: LeaderProfile | None = None,
                status: str = "accepted", upcoming_at: datetime | None = None,
                **match_fields) -> SimpleNamespace:
        """A round with `mentor` (a new one if not given) mentoring `mentee`, an exchange to come
        (hosted by the mentor, with bookings: booked, or held while the match is an offer) and
        one in the past (hosted by the mentee)."""
        programme_round = self.programme_round()
        mentor = mentor or self.mentor()
        for person in (mentor, mentee):
            self.participant(programme_round, person)
        match = self.match(programme_round, mentor, mentee, status=status, score=7.5,
                           reasons=["Strong overlap of goals and strengths"], **match_fields)
        if status == "offered":
            match_fields.setdefault("offered_at", datetime(2027, 1, 8, 9, 0, tzinfo=UTC))
            match_fields.setdefault("respond_by", datetime(2027, 1, 15, 9, 0, tzinfo=UTC))
            for name, value in match_fields.items():
                setattr(match, name, value)
            self._save(match)
        upcoming = self.exchange(match, upcoming_at or datetime(2030, 3, 5, 9, 0, tzinfo=UTC),
                                 location="Guy's Hospital", preparation="Read the team's plan",
                                 status="held" if status == "offered" else "scheduled")
        for person in (mentor, mentee):
            self._save(ExchangeBooking(exchange_id=upcoming.id, leader_id=person.id,
                                       starts_at=upcoming.starts_at))
        past = self.exchange(match, datetime(2024, 3, 5, 13, 0, tzinfo=UTC),
                             host_id=mentee.id, visitor_id=mentor.id)
        return SimpleNamespace(round=programme_round, mentor=mentor, mentee=mentee, match=match,
                               upcoming=upcoming, past=past)

