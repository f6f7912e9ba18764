"""The whole integer programme at once (optimiser/ip.py): every candidate pair, every
exchange variable, one solve."""

from __future__ import annotations

from ..ip import build_model
from ..values import start_from_schedule
from .base import Attempt, SolveContext


class WholeProgramme:
    name = "whole programme"

    def solve(self, context: SolveContext) -> Attempt:
        context.tried.append(self.name)
        model = context.build(lambda: build_model(context.data, context.candidates))
        start = None if context.fallback is None else \
            start_from_schedule(model, context.fallback)
        result = context.solve(model.prob, context.time_left(), start,
                               integer=context.as_integer_programme)
        return Attempt(model, result)
