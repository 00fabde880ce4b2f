"""Ecological compensation (生态补偿): declarative agreements, exact settlements, a ledger.

Pure core, no storage. The pieces, in the order data flows through them:

- :mod:`~bishui.compensation.agreement` — agreements as versioned TOML documents,
  validated on load (:func:`load_agreement`);
- :mod:`~bishui.compensation.registry` / :mod:`~bishui.compensation.shapes` — the registry of
  formula shapes and the shapes (class step, flux ×
  unit price, index vs baseline, linear, stepped × (1 + m), per-µg/m³ change, index change,
  pooled fund);
- :mod:`~bishui.compensation.inputs` — the assessed inputs of a period (:class:`PeriodInputs`);
- :mod:`~bishui.compensation.engine` — :func:`compute` → a hashed, versioned
  :class:`Statement`; :func:`verify` recomputes it;
- :mod:`~bishui.compensation.ledger` — the double-entry :class:`Ledger` and per-party
  statements; :mod:`~bishui.compensation.confirmation` — acknowledge / dispute;
- :mod:`~bishui.compensation.explain` — the computation in words.

See ``docs/compensation.md``.
"""

from __future__ import annotations

from bishui.compensation.agreement import (
    Agreement,
    load_agreement,
    load_agreement_file,
    load_agreements_dir,
)
from bishui.compensation.confirmation import Confirmation
from bishui.compensation.engine import (
    Statement,
    Transfer,
    compute,
    compute_period,
    inputs_of,
    statement_rows,
    verify,
    verify_hash,
)
from bishui.compensation.explain import explain, explain_party
from bishui.compensation.inputs import IndicatorInput, PeriodInputs, PointInput, point_key
from bishui.compensation.ledger import Ledger, PartyStatement, party_statement
from bishui.compensation.period import Period
from bishui.compensation.shapes import SHAPES, Param, Step, TermResult, register_shape

__all__ = [
    "SHAPES",
    "Agreement",
    "Confirmation",
    "IndicatorInput",
    "Ledger",
    "Param",
    "PartyStatement",
    "Period",
    "PeriodInputs",
    "PointInput",
    "Statement",
    "Step",
    "TermResult",
    "Transfer",
    "compute",
    "compute_period",
    "explain",
    "explain_party",
    "inputs_of",
    "load_agreement",
    "load_agreement_file",
    "load_agreements_dir",
    "party_statement",
    "point_key",
    "register_shape",
    "statement_rows",
    "verify",
    "verify_hash",
]
