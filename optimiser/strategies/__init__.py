"""Solving strategies: named ways to solve the programme, behind one interface.

* :class:`WholeProgramme`: the whole integer programme at once (small inputs, K = 0, and
  ``exact=True``).
* :class:`Decomposed`: relax → schedule → cut → repair → whole programme (large inputs).

Each takes a :class:`SolveContext` (the data, the candidate pairs, the solver, the clock)
and returns an :class:`Attempt` (the model and solver result to read the solution from, and
any bound proven outside that last solve), or None when it cannot answer (the driver then
tries the whole programme). The driver is :func:`optimiser.solve` (optimiser/solver.py).
"""

from .base import Attempt, SolveContext, Strategy
from .decomposed import Decomposed
from .whole_programme import WholeProgramme

__all__ = ["Attempt", "Decomposed", "SolveContext", "Strategy", "WholeProgramme"]
