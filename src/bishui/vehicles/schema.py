"""The vehicles domain's tables (migrations in the store's format, see ``bishui.store.schema``).

Records are written once and not edited: a station's resubmission of a test is refused
(ConflictError), a finding is keyed by rule and subject, and every write adds a row to
``vehicles_audit`` in the same transaction (who, when, what, on which subject).
Curves are stored as JSON objects channel → list of per-second values.
"""

from __future__ import annotations

MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE vehicles_stations (
            code TEXT PRIMARY KEY, name TEXT NOT NULL, region TEXT NOT NULL,
            uscc TEXT NOT NULL, opens TEXT NOT NULL, closes TEXT NOT NULL)""",
        """CREATE TABLE vehicles_lanes (
            code TEXT PRIMARY KEY, station TEXT NOT NULL, fuel TEXT NOT NULL,
            analyser TEXT NOT NULL)""",
        """CREATE TABLE vehicles_vehicles (
            vin TEXT PRIMARY KEY, plate TEXT NOT NULL, fuel TEXT NOT NULL,
            mass_kg INTEGER NOT NULL, rated_power_kw DOUBLE PRECISION NOT NULL,
            stage INTEGER NOT NULL, model TEXT NOT NULL, obd_cal_id TEXT NOT NULL,
            obd_cvn TEXT NOT NULL, region TEXT NOT NULL)""",
        """CREATE TABLE vehicles_inspections (
            id TEXT PRIMARY KEY, station TEXT NOT NULL, lane TEXT NOT NULL, vin TEXT NOT NULL,
            plate TEXT NOT NULL, method TEXT NOT NULL, start TIMESTAMP NOT NULL,
            nature TEXT NOT NULL, claimed_result INTEGER NOT NULL,
            rated_power_kw DOUBLE PRECISION, obd_cal_id TEXT NOT NULL, obd_cvn TEXT NOT NULL,
            analyser TEXT NOT NULL, vehicle_model TEXT NOT NULL, fuel TEXT NOT NULL,
            curve {JSON} NOT NULL, received TIMESTAMP NOT NULL, source TEXT NOT NULL)""",
        "CREATE INDEX vehicles_inspections_start ON vehicles_inspections (start)",
        """CREATE TABLE vehicles_captures (
            inspection_id TEXT PRIMARY KEY, box_serial TEXT NOT NULL, analyser TEXT NOT NULL,
            start TIMESTAMP NOT NULL, curve {JSON} NOT NULL, received TIMESTAMP NOT NULL)""",
        """CREATE TABLE vehicles_findings (
            id TEXT PRIMARY KEY, rule_id TEXT NOT NULL, severity TEXT NOT NULL,
            station TEXT NOT NULL, subject TEXT NOT NULL, evidence {JSON} NOT NULL,
            seen TIMESTAMP NOT NULL, found TIMESTAMP NOT NULL)""",
        """CREATE TABLE vehicles_gas_checks (
            id TEXT PRIMARY KEY, analyser TEXT NOT NULL, station TEXT NOT NULL,
            checked TIMESTAMP NOT NULL, kind TEXT NOT NULL, level TEXT NOT NULL,
            certified {JSON} NOT NULL, measured {JSON} NOT NULL, tolerance_set TEXT NOT NULL,
            passed BOOLEAN NOT NULL)""",
        """CREATE TABLE vehicles_patrol (
            id TEXT PRIMARY KEY, kind TEXT NOT NULL, station TEXT NOT NULL,
            tested TIMESTAMP NOT NULL, vin TEXT NOT NULL, pollutant TEXT NOT NULL,
            station_value DOUBLE PRECISION NOT NULL, reference_value DOUBLE PRECISION,
            regulator_passed BOOLEAN)""",
        """CREATE TABLE vehicles_old (
            vin TEXT PRIMARY KEY, plate TEXT NOT NULL, region TEXT NOT NULL, fuel TEXT NOT NULL,
            stage INTEGER NOT NULL, deadline DATE NOT NULL, status TEXT NOT NULL,
            evidence TEXT NOT NULL, closed DATE)""",
        """CREATE TABLE vehicles_keys (
            key_id TEXT PRIMARY KEY, ed25519 TEXT NOT NULL, valid_from DATE NOT NULL,
            valid_to DATE)""",
        """CREATE TABLE vehicles_reports (
            report_no TEXT PRIMARY KEY, inspection_id TEXT NOT NULL, key_id TEXT NOT NULL,
            summary {JSON} NOT NULL, payload TEXT NOT NULL, issued TIMESTAMP NOT NULL)""",
        """CREATE TABLE vehicles_boxes (
            serial TEXT PRIMARY KEY, lane TEXT NOT NULL, ed25519 TEXT NOT NULL)""",
        """CREATE TABLE vehicles_audit (
            seq INTEGER PRIMARY KEY, logged TIMESTAMP NOT NULL, actor TEXT NOT NULL,
            action TEXT NOT NULL, subject TEXT NOT NULL, detail {JSON} NOT NULL)""",
    ],
    # 2: the daily equipment self-checks beyond the gas (selfcheck.py)
    [
        """CREATE TABLE vehicles_selfchecks (
            id TEXT PRIMARY KEY, station TEXT NOT NULL, lane TEXT NOT NULL, item TEXT NOT NULL,
            checked TIMESTAMP NOT NULL, ccdt_s DOUBLE PRECISION, acdt_s DOUBLE PRECISION,
            device_passed BOOLEAN, passed BOOLEAN NOT NULL)""",
    ],
    # 3: the OBD check of an inspection (model.ObdCheck; NULL: none reported; rule 17)
    [
        "ALTER TABLE vehicles_inspections ADD COLUMN obd {JSON}",
    ],
]
