"""Energy savings (节能量) and their confirmation as tradable units (确权), in kgce.

The formula (exchange-and-permits notes §A3, citing GB/T 13234-2018 and GB/T 28750-2012, [M])::

    节能量 = baseline energy adjusted to the reporting period's output − reporting-period energy

For a unit making several products, the baseline is adjusted product by product through the
baseline's unit consumption::

    ΔE = Σ_i ( E0_i / Q0_i × Q1_i − E1_i )

with E0, E1 the baseline and reporting-period energy [kgce] and Q0, Q1 the outputs (any unit,
the same in both periods). What could be checked: an unofficial preview of the **2009** edition
(GB/T 13234-2009 企业节能量计算方法) shows the product saving as (reporting-period unit
consumption − baseline unit consumption) × reporting-period output, a negative value meaning a
saving — the same quantity with the opposite sign [S]; the 2018 text and GB/T 28750-2012 were
not read [M]. Here a **saving is positive**.

The figure is computed exactly (fractions) and rounded once to whole kgce by ``rounding``;
the project's default is ``"down"`` so that a confirmed right never exceeds the measured saving
(a choice, docs/exchange.md).

Confirmation (Henan 2022 确权 rules, notes §A3 [V]): a third-party auditor measures the baseline
before a retrofit and audits again after it; its report states the saving; the city authority
then issues a confirmation letter (确权意见书). :func:`confirm` refuses a saving without both
audit references.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from bishui.errors import InputError
from bishui.exchange.market.money import Rounding, check_int, round_int


@dataclass(frozen=True)
class ProductPeriods:
    """One product's energy and output in the baseline and the reporting period.

    Attributes
    ----------
    product : str
    baseline_energy : int
        E0 [kgce].
    baseline_output : Decimal
        Q0 (> 0) [product unit].
    reporting_energy : int
        E1 [kgce].
    reporting_output : Decimal
        Q1 (≥ 0) [the same product unit].
    """

    product: str
    baseline_energy: int
    baseline_output: Decimal
    reporting_energy: int
    reporting_output: Decimal


def _output(value: object, field: str, positive: bool) -> Fraction:
    if not isinstance(value, Decimal | int) or isinstance(value, bool):
        raise InputError(field, "a Decimal output", value)
    d = Decimal(value)
    if not d.is_finite() or d < 0 or (positive and d == 0):
        raise InputError(field, "an output > 0" if positive else "an output >= 0", value)
    return Fraction(d)


def adjusted_baseline(p: ProductPeriods) -> Fraction:
    """E0 / Q0 × Q1: the baseline energy at the reporting period's output [kgce], exact."""
    check_int(p.baseline_energy, f"{p.product}.baseline_energy")
    q0 = _output(p.baseline_output, f"{p.product}.baseline_output", positive=True)
    q1 = _output(p.reporting_output, f"{p.product}.reporting_output", positive=False)
    return Fraction(p.baseline_energy) * q1 / q0


def energy_saving(products: Sequence[ProductPeriods], rounding: Rounding = "down") -> int:
    """节能量 ΔE = Σ (E0/Q0 × Q1 − E1), rounded once to whole kgce.

    Parameters
    ----------
    products : sequence of ProductPeriods
        One entry per product (at least one).
    rounding : {"down", "half_up", "half_even"}
        How the exact figure becomes whole kgce (default: down, module docstring).

    Returns
    -------
    int
        The saving [kgce]; negative when energy use per unit of output rose.

    Notes
    -----
    GB/T 13234-2018 (notes §A3 [M]); the 2009 edition's product formula [S].
    """
    if not products:
        raise InputError("products", "at least one product", [])
    total = Fraction(0)
    for p in products:
        check_int(p.reporting_energy, f"{p.product}.reporting_energy")
        total += adjusted_baseline(p) - p.reporting_energy
    return round_int(total, rounding)


@dataclass(frozen=True)
class Confirmation:
    """A confirmed energy saving, ready to be issued as registry units [kgce]."""

    units: int
    baseline_audit: str
    audit_report: str
    auditor: str


def confirm(saving: int, baseline_audit: str, audit_report: str, auditor: str) -> Confirmation:
    """Confirm *saving* [kgce] for issuance: only a positive saving with both audit references.

    Henan 2022 确权 rules (notes §A3 [V]): the third party's baseline audit before the retrofit
    and its report after it, which states the saving.
    """
    check_int(saving, "saving", minimum=1)
    for field, value in (
        ("baseline_audit", baseline_audit),
        ("audit_report", audit_report),
        ("auditor", auditor),
    ):
        if not isinstance(value, str) or not value.strip():
            raise InputError(field, "a third-party audit reference", value)
    return Confirmation(saving, baseline_audit.strip(), audit_report.strip(), auditor.strip())
