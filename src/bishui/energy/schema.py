"""The energy domain's tables (registered with the store by ``bishui.app.DOMAINS``).

Quantities are exact: energy in integer kgce or physical units, masses in integer grams,
GDP, rates and coefficients as decimal strings (TEXT, read back as ``Decimal``). Every write
goes through :func:`bishui.energy.service` and leaves a row in ``energy_audit``.

``energy_unit``          energy-using units (工业企业, 公共机构, 建筑, 服务业 …) per county
``energy_use``           a unit's use of one fuel in one year, in the fuel's physical unit
``energy_equal_value``   the electricity equal-value coefficient (供电煤耗) per year, sourced
``energy_gdp``           GDP per county and year at the prices of ``price_base`` [万元]
``energy_target``        dual-control targets per county and year
``energy_baseline``      named baseline intensities for savings
``energy_measure``       the register of energy-saving measures with their claimed savings
``emission_entry``       declared (执行报告) or factor-based emissions of a source [g]
``emission_target``      reduction targets per county, pollutant and period
``emission_project``     key reduction projects and their reductions [g]
``energy_audit``         every write: when, who, what, the row written
"""

from __future__ import annotations

MIGRATIONS: list[list[str]] = [
    # 1 — energy accounts, dual control, reduction accounts, audit
    [
        """CREATE TABLE energy_unit (
            id TEXT PRIMARY KEY,
            county TEXT NOT NULL,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            uscc TEXT,
            synthetic BOOLEAN NOT NULL
        )""",
        """CREATE TABLE energy_use (
            unit_id TEXT NOT NULL,
            year INTEGER NOT NULL,
            fuel TEXT NOT NULL,
            feedstock BOOLEAN NOT NULL,
            quantity BIGINT NOT NULL,
            source TEXT NOT NULL,
            PRIMARY KEY (unit_id, year, fuel, feedstock)
        )""",
        """CREATE TABLE energy_equal_value (
            year INTEGER PRIMARY KEY,
            kgce_per_kwh TEXT NOT NULL,
            source TEXT NOT NULL
        )""",
        """CREATE TABLE energy_gdp (
            county TEXT NOT NULL,
            year INTEGER NOT NULL,
            price_base INTEGER NOT NULL,
            value_wan TEXT NOT NULL,
            source TEXT NOT NULL,
            PRIMARY KEY (county, year, price_base)
        )""",
        """CREATE TABLE energy_target (
            county TEXT NOT NULL,
            year INTEGER NOT NULL,
            base_year INTEGER NOT NULL,
            intensity_fall TEXT NOT NULL,
            incentive_fall TEXT,
            total_cap_kgce BIGINT,
            basis TEXT NOT NULL,
            source TEXT NOT NULL,
            PRIMARY KEY (county, year)
        )""",
        """CREATE TABLE energy_baseline (
            name TEXT PRIMARY KEY,
            county TEXT NOT NULL,
            year INTEGER NOT NULL,
            price_base INTEGER NOT NULL,
            intensity TEXT NOT NULL,
            source TEXT NOT NULL
        )""",
        """CREATE TABLE energy_measure (
            id TEXT PRIMARY KEY,
            county TEXT NOT NULL,
            unit_id TEXT,
            kind TEXT NOT NULL,
            year INTEGER NOT NULL,
            claimed_kgce BIGINT NOT NULL,
            method TEXT NOT NULL,
            evidence TEXT NOT NULL
        )""",
        """CREATE TABLE emission_entry (
            source_id TEXT NOT NULL,
            county TEXT NOT NULL,
            pollutant TEXT NOT NULL,
            year INTEGER NOT NULL,
            basis TEXT NOT NULL,
            grams BIGINT NOT NULL,
            source TEXT NOT NULL,
            PRIMARY KEY (source_id, pollutant, year, basis)
        )""",
        """CREATE TABLE emission_target (
            county TEXT NOT NULL,
            pollutant TEXT NOT NULL,
            base_year INTEGER NOT NULL,
            year INTEGER NOT NULL,
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            source TEXT NOT NULL,
            PRIMARY KEY (county, pollutant, year, kind)
        )""",
        """CREATE TABLE emission_project (
            id TEXT NOT NULL,
            pollutant TEXT NOT NULL,
            county TEXT NOT NULL,
            year INTEGER NOT NULL,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            before_g BIGINT NOT NULL,
            after_g BIGINT NOT NULL,
            basis TEXT NOT NULL,
            recognised BOOLEAN NOT NULL,
            evidence TEXT NOT NULL,
            PRIMARY KEY (id, pollutant)
        )""",
        """CREATE TABLE energy_audit (
            changed_at TIMESTAMP NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            detail TEXT NOT NULL
        )""",
    ],
]
