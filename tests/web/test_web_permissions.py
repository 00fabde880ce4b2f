"""Every route's permission, walked over the whole route table (issue 8 item 1).

:data:`EXPECTED` is the matrix written out by hand: route → roles allowed and whether the
route scopes its data. The first test fails when a route is added without an entry here (or
declares something else); the second calls every route as every role and checks that each
role is let in exactly where the matrix says, and refused everywhere else.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from web_support import client_for, csrf_of, login

from bishui.errors import PermissionDenied
from bishui.web.auth import api_routes, requires, route_access

ALL = frozenset({"admin", "analyst", "inspector", "chief", "county", "enterprise", "public"})
ALL |= {"operator"}  # the exchange operator, 交易机构 (docs/exchange.md "Pages and API")
ALL |= {"energy_office"}  # the energy-saving office (issue 18)
ALL = ALL | {"finance"}  # the finance bureau (issue 18): scorecards and allocations
ALL = ALL | {"police"}  # environmental police (issue 20 item 2): transferred cases, joint ops
ALL |= {"river_chief", "volunteer"}  # river and lake chiefs, volunteer supervisors (issue 20)
LOGGED_IN = ALL - {"public"}
ADMIN = frozenset({"admin"})
COUNTY = frozenset({"county"})
STAFF = frozenset({"admin", "analyst", "inspector", "chief"})
STAFF_AND_COUNTY = STAFF | {"county"}
# the monitoring-and-enforcement loop (auth.ENFORCEMENT_ROLES): staff, counties, enterprises —
# not the domain offices (the exchange operator, the energy-saving office); scoped
SOURCES_READERS = STAFF | {"county", "enterprise"}
# the task machine refuses what a role may not do (a chief only approves or rejects)
TASK_ACTORS = frozenset({"admin", "inspector", "chief", "enterprise"})
UPLOADERS = frozenset({"admin", "analyst", "enterprise"})
# the exchange: the regulator (staff; a county for its region), enterprises, the operator
EXCHANGE_READERS = STAFF | {"county", "enterprise", "operator"}
EXCHANGE_ACTORS = frozenset({"enterprise", "operator"})  # the registry checks representation
ASSESS_READERS = STAFF | {"finance", "county"}  # scorecards (issue 18); a county its own
ASSESS_SCORERS = frozenset({"admin", "analyst"})
# river and lake chiefs (issue 20; tests/rivers/test_rivers_web.py checks scoping)
RIVER_READERS = STAFF | {"county", "river_chief", "volunteer"}
PATROLLERS = frozenset({"river_chief", "volunteer"})
# damage cases (an enterprise: those it is liable in) and the project register (issue 20)
PROG_CASE_READERS = STAFF | {"finance", "county", "enterprise"}
PROG_PROJECT_READERS = STAFF | {"finance", "county"}

EXPECTED: dict[tuple[str, str], tuple[frozenset[str], str]] = {
    ("GET", "/api/v1/health"): (ALL, "all"),
    ("GET", "/api/v1/regions"): (ALL, "all"),
    ("GET", "/api/v1/sites"): (ALL, "scoped"),
    ("GET", "/api/v1/sites/{site_id}"): (ALL, "scoped"),
    ("GET", "/api/v1/measurements"): (ALL, "scoped"),
    ("GET", "/api/v1/measurements/revisions"): (ALL, "scoped"),
    ("GET", "/api/v1/overview"): (ALL, "scoped"),
    ("GET", "/api/v1/search"): (ALL, "scoped"),
    ("GET", "/api/v1/geo/counties"): (ALL, "all"),
    ("GET", "/api/v1/me"): (LOGGED_IN, "all"),
    ("POST", "/api/v1/me/tokens"): (LOGGED_IN, "all"),
    ("GET", "/api/v1/me/tokens"): (LOGGED_IN, "all"),
    ("DELETE", "/api/v1/me/tokens/{token_id}"): (LOGGED_IN, "all"),
    ("GET", "/api/v1/users"): (ADMIN, "all"),
    ("POST", "/api/v1/users"): (ADMIN, "all"),
    ("POST", "/api/v1/users/{username}/disable"): (ADMIN, "all"),
    ("POST", "/api/v1/users/{username}/unlock"): (ADMIN, "all"),
    # user management (issue 16 item 6)
    ("POST", "/api/v1/users/{username}/enable"): (ADMIN, "all"),
    ("POST", "/api/v1/users/{username}/password"): (ADMIN, "all"),
    ("PATCH", "/api/v1/users/{username}"): (ADMIN, "all"),
    ("GET", "/api/v1/users/audit"): (ADMIN, "all"),
    ("GET", "/users"): (ADMIN, "all"),
    # data upload: staff who keep the data, an enterprise for its own sites (issue 16 item 6)
    ("POST", "/api/v1/uploads"): (UPLOADERS, "scoped"),
    ("GET", "/api/v1/uploads"): (UPLOADERS, "scoped"),
    ("GET", "/upload"): (UPLOADERS, "scoped"),
    ("GET", "/"): (ALL, "scoped"),
    ("GET", "/public"): (ALL, "all"),
    ("GET", "/public/{table}.{fmt}"): (ALL, "all"),
    ("GET", "/login"): (ALL, "all"),
    ("POST", "/login"): (ALL, "all"),
    ("POST", "/logout"): (LOGGED_IN, "all"),
    ("GET", "/lang/{code}"): (ALL, "all"),
    ("GET", "/docs"): (ALL, "all"),
    # the domain pages (bishui.web.dashboards); their data comes from the API routes below
    ("GET", "/air"): (ALL, "all"),
    ("GET", "/water"): (ALL, "scoped"),
    ("GET", "/sources"): (SOURCES_READERS, "scoped"),
    ("GET", "/tasks"): (SOURCES_READERS, "scoped"),
    ("GET", "/alerts"): (SOURCES_READERS, "scoped"),
    ("GET", "/compensation"): (STAFF_AND_COUNTY, "scoped"),
    ("GET", "/bigscreen"): (STAFF, "all"),
    ("POST", "/export.{fmt}"): (ALL, "all"),
    # PDF reports (tests/web/test_web_reports.py checks that the sources' report is staff-only)
    ("GET", "/reports"): (ALL, "scoped"),
    ("GET", "/api/v1/reports"): (ALL, "scoped"),
    ("GET", "/api/v1/reports/{report_id}.pdf"): (ALL, "scoped"),
    ("POST", "/api/v1/reports"): (frozenset({"admin", "analyst"}), "all"),
    # published air and water figures; drinking-water alerts for staff and counties
    ("GET", "/api/v1/air/realtime"): (ALL, "all"),
    ("GET", "/api/v1/air/daily"): (ALL, "all"),
    ("GET", "/api/v1/air/assessment"): (ALL, "all"),
    ("GET", "/api/v1/air/ranking"): (ALL, "all"),
    ("GET", "/api/v1/air/calendar"): (ALL, "all"),
    # the public page's trend and health advice (issue 16 item 8)
    ("GET", "/api/v1/air/trend"): (ALL, "all"),
    ("GET", "/api/v1/air/advice"): (ALL, "all"),
    ("GET", "/api/v1/water/sections"): (ALL, "all"),
    ("GET", "/api/v1/water/rivers"): (ALL, "all"),
    ("GET", "/api/v1/water/cwqi"): (ALL, "all"),
    ("GET", "/api/v1/water/sources"): (STAFF_AND_COUNTY, "scoped"),
    # ecological compensation (tests/compensation/test_compensation_api.py checks the scoping)
    ("GET", "/api/v1/compensation/agreements"): (STAFF_AND_COUNTY, "scoped"),
    ("GET", "/api/v1/compensation/statements"): (STAFF_AND_COUNTY, "scoped"),
    ("GET", "/api/v1/compensation/statements/{statement_id:path}"): (STAFF_AND_COUNTY, "scoped"),
    ("GET", "/api/v1/compensation/statements/{statement_id:path}/print"): (
        STAFF_AND_COUNTY,
        "scoped",
    ),
    ("POST", "/api/v1/compensation/statements/{statement_id:path}/acknowledge"): (
        COUNTY,
        "scoped",
    ),
    ("POST", "/api/v1/compensation/statements/{statement_id:path}/dispute"): (COUNTY, "scoped"),
    ("GET", "/api/v1/compensation/ledger"): (STAFF_AND_COUNTY, "scoped"),
    ("GET", "/api/v1/permits"): (SOURCES_READERS, "scoped"),
    ("GET", "/api/v1/caps"): (SOURCES_READERS, "scoped"),
    ("POST", "/api/v1/alerts/{alert_id}/dismiss"): (frozenset({"admin", "inspector"}), "all"),
    ("GET", "/api/v1/permits/{permit_no}"): (SOURCES_READERS, "scoped"),
    ("POST", "/api/v1/permits"): (ADMIN, "all"),
    ("GET", "/api/v1/findings"): (SOURCES_READERS, "scoped"),
    ("GET", "/api/v1/findings/{key}"): (SOURCES_READERS, "scoped"),
    ("GET", "/api/v1/alerts"): (SOURCES_READERS, "scoped"),
    ("GET", "/api/v1/tasks"): (SOURCES_READERS, "scoped"),
    # the alerts page: grouped alerts, acknowledgement, routing, the outbox, the bell
    # (tests/web/test_web_alerts.py checks the scoping and the bodies)
    ("GET", "/api/v1/alerts/groups"): (SOURCES_READERS, "scoped"),
    ("GET", "/api/v1/alerts/items"): (SOURCES_READERS, "scoped"),
    ("POST", "/api/v1/alerts/acknowledge"): (frozenset({"admin", "inspector", "county"}), "scoped"),
    ("GET", "/api/v1/alert-routes"): (ADMIN, "all"),
    ("POST", "/api/v1/alert-routes"): (ADMIN, "all"),
    ("PUT", "/api/v1/alert-routes/{route_id}"): (ADMIN, "all"),
    ("DELETE", "/api/v1/alert-routes/{route_id}"): (ADMIN, "all"),
    ("GET", "/api/v1/deliveries"): (ADMIN, "all"),
    ("POST", "/api/v1/deliveries/{delivery_id}/retry"): (ADMIN, "all"),
    ("GET", "/api/v1/inbox"): (LOGGED_IN, "all"),
    ("POST", "/api/v1/inbox/seen"): (LOGGED_IN, "all"),
    ("GET", "/api/v1/tasks/{task_id}"): (SOURCES_READERS, "scoped"),
    # one route per action, each with its declared body (issue 14)
    **{
        ("POST", f"/api/v1/tasks/{{task_id}}/{a}"): (TASK_ACTORS, "scoped")
        for a in (
            "assign",
            "visit",
            "add_evidence",
            "dispose",
            "submit_rectification",
            "verify_rectification",
            "close",
            "escalate",
            "reopen",
            "approve",
            "reject",
            "check_in",
        )
    },
    # the inspector's day (issue 16 item 9)
    ("GET", "/api/v1/tasks/{task_id}/party"): (SOURCES_READERS, "scoped"),
    ("GET", "/api/v1/tasks/{task_id}/records/{kind}"): (STAFF, "scoped"),
    # evidence files (tests/sources/test_sources_evidence_api.py checks the scoping)
    ("POST", "/api/v1/tasks/{task_id}/files"): (TASK_ACTORS, "scoped"),
    ("GET", "/api/v1/tasks/{task_id}/files"): (SOURCES_READERS, "scoped"),
    ("GET", "/api/v1/tasks/{task_id}/files/{file_id}"): (SOURCES_READERS, "scoped"),
    # the environmental-resource exchange (docs/exchange.md "Pages and API";
    # tests/web/test_web_exchange.py checks the scoping and the refusals)
    **{
        (m, f"/api/v1/exchange{path}"): (roles, scope)
        for m, path, roles, scope in (
            ("GET", "/accounts", EXCHANGE_READERS, "scoped"),
            ("GET", "/accounts/{account_id}/holdings", EXCHANGE_READERS, "scoped"),
            ("GET", "/log", EXCHANGE_READERS, "scoped"),
            ("GET", "/verify", STAFF | {"operator"}, "all"),
            ("POST", "/accounts/{account_id}/transfer", EXCHANGE_ACTORS, "scoped"),
            ("POST", "/accounts/{account_id}/surrender", EXCHANGE_ACTORS, "scoped"),
            ("POST", "/accounts/{account_id}/retire", EXCHANGE_ACTORS, "scoped"),
            ("GET", "/report", EXCHANGE_READERS, "all"),
            ("GET", "/report.{fmt}", EXCHANGE_READERS, "all"),
        )
    },
    # the exchange's services wired (tests/web/test_web_exchange_services.py)
    **{
        (m, f"/api/v1/exchange{path}"): (roles, scope)
        for m, path, roles, scope in (
            ("GET", "/lots", EXCHANGE_READERS, "scoped"),
            ("POST", "/lots", frozenset({"operator"}), "all"),
            ("POST", "/lots/{lot_id}/bids", EXCHANGE_ACTORS, "scoped"),
            ("POST", "/lots/{lot_id}/close", frozenset({"operator"}), "all"),
            ("GET", "/transfers", EXCHANGE_READERS, "scoped"),
            ("POST", "/transfers", EXCHANGE_ACTORS, "scoped"),
            ("POST", "/transfers/{transfer_id}/party/{action}", EXCHANGE_ACTORS, "scoped"),
            ("POST", "/transfers/{transfer_id}/regulator/{action}", STAFF, "all"),
            ("POST", "/transfers/{transfer_id}/settle", frozenset({"operator"}), "all"),
            ("GET", "/fees", EXCHANGE_READERS, "scoped"),
            ("POST", "/fees/{fee_id}/instalments/{number}/pay", EXCHANGE_ACTORS, "scoped"),
            ("GET", "/determinations", EXCHANGE_READERS, "scoped"),
            ("GET", "/board", STAFF | {"county", "enterprise"}, "scoped"),
            ("GET", "/carbon", STAFF | {"operator"}, "all"),
            ("POST", "/board/{year}/close", STAFF, "all"),
        )
    },
    # the regulator's issuing decisions (tests/web/test_web_exchange_decisions.py); the
    # registry refuses a user who is not a registry operator
    **{
        (m, f"/api/v1/exchange{path}"): (roles, scope)
        for m, path, roles, scope in (
            ("POST", "/determinations", STAFF | {"operator"}, "all"),
            ("POST", "/fees", STAFF | {"operator"}, "all"),
            ("POST", "/reserve/{action}", STAFF | {"operator"}, "all"),
            ("GET", "/reductions", EXCHANGE_READERS, "scoped"),
            ("POST", "/reductions", STAFF | {"operator"}, "all"),
            ("POST", "/carbon/positions", STAFF | {"operator"}, "all"),
            ("POST", "/carbon/sinks", STAFF | {"operator"}, "all"),
            ("POST", "/carbon/sinks/{project_id}/credits", STAFF | {"operator"}, "all"),
            ("POST", "/energy-savings", STAFF | {"operator"}, "all"),
        )
    },
    # four-eyes approval and the trusted-account list (tests/web/test_web_exchange_approvals.py)
    **{
        (m, f"/api/v1/exchange{path}"): (roles, scope)
        for m, path, roles, scope in (
            ("GET", "/transfer-requests", EXCHANGE_READERS, "scoped"),
            ("POST", "/accounts/{account_id}/transfer-requests", EXCHANGE_ACTORS, "scoped"),
            ("POST", "/transfer-requests/release", frozenset({"operator"}), "all"),
            ("POST", "/transfer-requests/{request_id}/{action}", EXCHANGE_ACTORS, "scoped"),
            ("GET", "/accounts/{account_id}/trusted", EXCHANGE_READERS, "scoped"),
            ("POST", "/carbon/positions/{entity}/{year}/verified", STAFF | {"operator"}, "all"),
            ("POST", "/accounts/{account_id}/trusted", EXCHANGE_ACTORS, "scoped"),
            (
                "POST",
                "/accounts/{account_id}/trusted/{trusted_id}/{action}",
                EXCHANGE_ACTORS,
                "scoped",
            ),
        )
    },
    ("GET", "/exchange"): (EXCHANGE_READERS, "scoped"),
    ("GET", "/exchange/report"): (EXCHANGE_READERS, "all"),
    # energy accounts and reduction (issue 18; tests/energy/test_energy_api.py checks scoping)
    **{
        ("GET", f"/api/v1/energy/{r}"): (STAFF | {"energy_office", "county"}, "scoped")
        for r in ("accounts", "attainment", "measures", "reduction", "export.xlsx", "report")
    },
    ("POST", "/api/v1/energy/load/{kind}"): (frozenset({"admin", "energy_office"}), "all"),
    ("GET", "/energy"): (STAFF | {"energy_office", "county"}, "scoped"),
    # vehicle-inspection supervision (issue 19; tests/vehicles/test_vehicles_web.py)
    ("POST", "/api/v1/vehicles/uploads"): (frozenset({"admin", "enterprise"}), "scoped"),
    ("POST", "/api/v1/vehicles/import"): (frozenset({"admin", "analyst"}), "all"),
    ("POST", "/api/v1/vehicles/registry"): (ADMIN, "all"),
    ("POST", "/api/v1/vehicles/boxes"): (ADMIN, "all"),
    ("POST", "/api/v1/vehicles/analyse"): (frozenset({"admin", "analyst", "inspector"}), "all"),
    ("GET", "/api/v1/vehicles/ranking"): (STAFF_AND_COUNTY, "scoped"),
    ("GET", "/api/v1/vehicles/findings"): (STAFF_AND_COUNTY, "scoped"),
    ("GET", "/api/v1/vehicles/gas"): (STAFF_AND_COUNTY, "scoped"),
    ("GET", "/api/v1/vehicles/patrol"): (STAFF_AND_COUNTY, "scoped"),
    ("GET", "/api/v1/vehicles/old"): (STAFF_AND_COUNTY, "scoped"),
    ("GET", "/api/v1/vehicles/keys"): (ALL, "all"),
    ("GET", "/api/v1/vehicles/reports/{report_no}"): (ALL, "all"),
    ("GET", "/vehicles"): (STAFF_AND_COUNTY, "scoped"),
    ("GET", "/vehicles/r/{report_no}"): (ALL, "all"),
    # the black box's frames: the capture's signature authenticates (docs/vehicles.md)
    ("POST", "/api/v1/vehicles/frames"): (ALL, "all"),
    ("POST", "/api/v1/vehicles/selfchecks"): (frozenset({"admin", "enterprise"}), "scoped"),
    # county scorecards, allocation, asset tables, departure audits (issue 18)
    **{
        (m, f"/api/v1/assessment{path}"): (roles, scope)
        for m, path, roles, scope in (
            ("GET", "/scorecards", ASSESS_READERS, "all"),
            ("POST", "/runs", ASSESS_SCORERS, "all"),
            ("GET", "/runs", ASSESS_READERS, "all"),
            ("GET", "/runs/{run_id}", ASSESS_READERS, "scoped"),
            ("GET", "/runs/{run_id}/recompute", ASSESS_READERS, "all"),
            ("GET", "/runs/{run_id}/export.{fmt}", ASSESS_READERS, "scoped"),
            ("GET", "/allocations/{allocation_id}/export.{fmt}", ASSESS_READERS, "scoped"),
            ("GET", "/year-on-year", ASSESS_READERS, "scoped"),
            ("POST", "/allocations", frozenset({"admin", "finance"}), "all"),
            ("GET", "/allocations/{allocation_id}", ASSESS_READERS, "scoped"),
            ("POST", "/assets", ASSESS_SCORERS, "all"),
            ("GET", "/assets", ASSESS_READERS, "scoped"),
            ("GET", "/assets/quality", ASSESS_READERS, "scoped"),
            ("POST", "/terms", ADMIN, "all"),
            ("GET", "/terms", ASSESS_READERS, "scoped"),
            ("GET", "/terms/{term_id}/summary", ASSESS_READERS, "scoped"),
            ("GET", "/terms/{term_id}/print", ASSESS_READERS, "scoped"),
            ("GET", "/terms/{term_id}/summary.pdf", ASSESS_READERS, "scoped"),
            ("POST", "/cases", ADMIN, "all"),
            ("GET", "/cases", ASSESS_READERS, "scoped"),
            # the summary stored as a versioned report (kind departure-audit)
            ("POST", "/terms/{term_id}/reports", ASSESS_SCORERS, "all"),
            ("GET", "/terms/{term_id}/reports", ASSESS_READERS, "scoped"),
            ("GET", "/terms/{term_id}/reports/{version}.pdf", ASSESS_READERS, "scoped"),
        )
    },
    ("GET", "/assessment"): (ASSESS_READERS, "scoped"),  # the scorecard page (issue 18)
    ("GET", "/vehicles/upload"): (frozenset({"admin", "enterprise"}), "scoped"),
    # environmental police and joint operations (issue 20 item 2; tests/police/test_police_web.py
    # checks that the police see transferred cases only)
    **{
        (m, f"/api/v1/police{path}"): (roles, scope)
        for m, path, roles, scope in (
            ("GET", "/legal-basis", STAFF | {"police"}, "all"),
            ("GET", "/cases", STAFF | {"police"}, "scoped"),
            ("POST", "/cases", frozenset({"admin", "chief", "inspector"}), "all"),
            ("GET", "/cases/{case_id}", STAFF | {"police"}, "scoped"),
            ("GET", "/cases/{case_id}/package", STAFF | {"police"}, "scoped"),
            ("GET", "/cases/{case_id}/files/{file_id}", STAFF | {"police"}, "scoped"),
            (
                "POST",
                "/cases/{case_id}/{action}",
                frozenset({"admin", "chief", "inspector", "police"}),
                "all",
            ),
            ("GET", "/operations", STAFF | {"police"}, "all"),
            ("POST", "/operations", frozenset({"admin", "chief", "inspector"}), "all"),
            ("GET", "/operations/{op_id}", STAFF | {"police"}, "all"),
            (
                "POST",
                "/operations/{op_id}/visits",
                frozenset({"admin", "chief", "inspector", "police"}),
                "all",
            ),
            (
                "POST",
                "/operations/{op_id}/{action}",
                frozenset({"admin", "chief", "inspector"}),
                "all",
            ),
            ("GET", "/cases/export.{fmt}", STAFF | {"police"}, "scoped"),
            ("GET", "/operations/export.{fmt}", STAFF | {"police"}, "all"),
        )
    },
    ("GET", "/police"): (STAFF | {"police"}, "scoped"),
    # river and lake chiefs, volunteer supervisors (issue 20; docs/governance.md)
    **{
        (m, f"/api/v1/rivers{path}"): (roles, scope)
        for m, path, roles, scope in (
            ("GET", "/sections", RIVER_READERS, "scoped"),
            ("GET", "/chiefs", RIVER_READERS, "scoped"),
            ("GET", "/chief", RIVER_READERS, "scoped"),
            ("GET", "/joint", RIVER_READERS, "scoped"),
            ("GET", "/joint/{group_id}", RIVER_READERS, "scoped"),
            ("GET", "/patrols", RIVER_READERS, "scoped"),
            ("GET", "/patrols/{patrol_id}", RIVER_READERS, "scoped"),
            ("GET", "/patrols/{patrol_id}/photos/{photo_id}", RIVER_READERS, "scoped"),
            ("POST", "/patrols", PATROLLERS, "all"),
            ("POST", "/patrols/{patrol_id}/points", PATROLLERS, "all"),
            ("POST", "/patrols/{patrol_id}/photos", PATROLLERS, "all"),
            ("POST", "/patrols/{patrol_id}/problems", PATROLLERS, "all"),
            ("POST", "/patrols/{patrol_id}/submit", PATROLLERS, "all"),
            ("POST", "/patrols/{patrol_id}/{action}", PATROLLERS | ADMIN, "all"),
            ("GET", "/problems", RIVER_READERS, "scoped"),
            ("POST", "/problems/{problem_id}/{action}", PATROLLERS | ADMIN, "scoped"),
            ("POST", "/registry", ADMIN, "all"),
            ("POST", "/assignments", ADMIN, "all"),
            ("POST", "/assignments/{assignment_id}/end", ADMIN, "all"),
            ("POST", "/volunteers", ADMIN, "all"),
            ("POST", "/volunteers/{volunteer_id}/end", ADMIN, "all"),
            ("GET", "/problems/export.{fmt}", RIVER_READERS, "scoped"),
            ("GET", "/patrols/export.{fmt}", RIVER_READERS, "scoped"),
        )
    },
    ("GET", "/rivers"): (RIVER_READERS, "scoped"),
    # damage cases, projects and funds (issue 20; tests/programmes/test_programmes_web.py)
    **{
        (m, f"/api/v1/programmes{path}"): (frozenset(roles), scope)
        for m, path, roles, scope in (
            ("GET", "/cases", PROG_CASE_READERS, "scoped"),
            ("POST", "/cases", STAFF, "all"),
            ("GET", "/cases/export.{fmt}", PROG_CASE_READERS, "scoped"),
            ("GET", "/cases/{case_id}", PROG_CASE_READERS, "scoped"),
            ("POST", "/cases/{case_id}/liable", STAFF, "all"),
            ("POST", "/cases/{case_id}/actions/{action}", STAFF | {"finance"}, "all"),
            ("POST", "/{kind}/{subject_id}/files", STAFF | {"finance"}, "all"),
            ("GET", "/{kind}/{subject_id}/files", PROG_CASE_READERS, "scoped"),
            ("GET", "/{kind}/{subject_id}/files/{file_id}", PROG_CASE_READERS, "scoped"),
            ("GET", "/projects", PROG_PROJECT_READERS, "scoped"),
            ("POST", "/projects", {"admin", "analyst"}, "all"),
            ("GET", "/projects/export.{fmt}", PROG_PROJECT_READERS, "scoped"),
            ("GET", "/projects/{project_id}", PROG_PROJECT_READERS, "scoped"),
            ("POST", "/projects/{project_id}/actions/{action}", {"admin", "analyst"}, "all"),
            ("POST", "/projects/{project_id}/entries/{entry_kind}", {"admin", "finance"}, "all"),
            ("GET", "/summary", PROG_PROJECT_READERS, "scoped"),
            ("GET", "/funds", PROG_PROJECT_READERS, "all"),
            ("POST", "/supervise", {"admin", "analyst"}, "all"),
        )
    },
    ("GET", "/programmes/damage"): (PROG_CASE_READERS, "scoped"),
    ("GET", "/programmes/projects"): (PROG_PROJECT_READERS, "scoped"),
    # citizen reports and the public disclosure (issue 20; tests/web/test_web_participation.py)
    ("POST", "/api/v1/citizen-reports"): (ALL, "all"),
    ("GET", "/api/v1/citizen-reports/status/{follow_code}"): (ALL, "all"),
    ("GET", "/api/v1/citizen-reports"): (STAFF, "all"),
    ("GET", "/api/v1/citizen-reports/{report_id}"): (STAFF, "all"),
    ("GET", "/api/v1/citizen-reports/{report_id}/photo"): (STAFF, "all"),
    ("POST", "/api/v1/citizen-reports/{report_id}/triage"): (
        frozenset({"admin", "inspector"}),
        "all",
    ),
    ("GET", "/api/v1/disclosure/cases"): (ALL, "all"),
    ("GET", "/api/v1/disclosure/permits"): (ALL, "all"),
    ("GET", "/api/v1/citizen-reports/export.{fmt}"): (STAFF, "all"),
    ("GET", "/api/v1/disclosure/cases/export.{fmt}"): (ALL, "all"),
    ("GET", "/report"): (ALL, "all"),
    ("POST", "/report"): (ALL, "all"),
    ("GET", "/report/status"): (ALL, "all"),
    ("GET", "/disclosure"): (ALL, "all"),
    ("GET", "/citizen-reports"): (STAFF, "all"),
    ("POST", "/citizen-reports/{report_id}/triage"): (frozenset({"admin", "inspector"}), "all"),
    ("GET", "/metrics"): (ADMIN, "all"),  # Prometheus text format (issue 21, docs/deploy.md)
}

# Values for path parameters that touch nothing: a missing token, a missing user.
PATH_VALUES = {
    "site_id": "AQ01",
    "token_id": "000000000000",
    "username": "no.such.user",
    "action": "visit",
    "alert_id": "0" * 20,
    "key": "0" * 20,
    "permit_no": "91130200699229617X001P",
    "statement_id:path": "no-such-agreement/2026/v1",
    "task_id": "T20260101-0001",
    "file_id": "0" * 32,
    "kind": "inspection",
    "project_id": "no-such-project",  # a carbon-sink project (the exchange)
    "route_id": "999999",
    "delivery_id": "999999",
    "report_id": "air-daily-2026-01-01-v1",
    "account_id": "no-such-account",
    "report_no": "420800000000000000",
    "case_id": "YS20260101-001",  # environmental police (issue 20)
    "op_id": "OP20260101-01",
    "group_id": "no-such-group",
    "patrol_id": "RP-000000000000",
    "photo_id": "0" * 32,
    "problem_id": "RQ-000000000000",
    "assignment_id": "RA-000000000000",
    "volunteer_id": "no-such-volunteer",
    "subject_id": "no-such-case",
    "entry_kind": "allocate",
    "follow_code": "2222-3333-4444",  # a citizen report's (issue 20)
    "request_id": "TREQ-000000000000",  # an exchange transfer request
    "trusted_id": "no-such-account",  # an exchange trusted-list entry
}
QUERY = {
    "/api/v1/measurements": {"site": "AQ01", "parameter": "a34004"},
    "/api/v1/measurements/revisions": {"site": "AQ01"},
    "/api/v1/air/trend": {"code": "AQ01"},
    "/api/v1/air/advice": {"level": "3"},
    "/api/v1/search": {"q": "竹园"},
    "/api/v1/exchange/report": {"year": "2026"},
    "/api/v1/exchange/report.{fmt}": {"year": "2026"},
    "/api/v1/vehicles/ranking": {"first": "2026-11-02", "last": "2026-11-02"},
    "/api/v1/vehicles/old": {"today": "2026-12-07"},
    "/api/v1/exchange/board": {"year": "2026"},
    "/api/v1/exchange/carbon": {"year": "2026"},
}


def declared(app: Any) -> dict[tuple[str, str], tuple[frozenset[str], str]]:
    out = {}
    for path, route in api_routes(app.routes):
        (access,) = route_access(route)
        for method in route.methods:
            out[(method, path)] = (access.roles, access.scope)
    return out


def test_route_table_matches_the_matrix(app: Any) -> None:
    assert declared(app) == EXPECTED


def test_a_route_without_a_declaration_is_refused(city_store: Any) -> None:
    from fastapi import APIRouter

    from bishui.web import api, create_app

    bad = APIRouter()

    @bad.get("/undeclared")
    def undeclared() -> dict[str, bool]:
        return {"ok": True}

    api.ROUTERS.append(bad)
    try:
        with pytest.raises(PermissionDenied, match="/api/v1/undeclared"):
            create_app(city_store)
    finally:
        api.ROUTERS.remove(bad)


def test_requires_refuses_unknown_roles() -> None:
    with pytest.raises(ValueError, match="roles"):
        requires("superuser")
    with pytest.raises(ValueError, match="scope"):
        requires("admin", scope="galaxy")


async def _call(client: httpx.AsyncClient, method: str, path: str, csrf: str) -> httpx.Response:
    url = path
    for name, value in PATH_VALUES.items():
        url = url.replace("{" + name + "}", value)
    url = url.replace("{code}", "en").replace("{table}", "air").replace("{fmt}", "csv")
    headers = {"Accept": "application/json", "X-CSRF-Token": csrf}
    if method == "GET":
        return await client.get(url, params=QUERY.get(path), headers=headers)
    if path in ("/login", "/logout"):
        return await client.request(method, url, data={"csrf_token": csrf}, headers=headers)
    # an invalid body: an allowed role gets 422 (or 404), nothing is changed
    return await client.request(method, url, json={}, headers=headers)


def _denied(r: httpx.Response) -> bool:
    if r.headers.get("content-type", "").startswith("application/json"):
        return r.json().get("error") in ("unauthenticated", "forbidden")
    return False


@pytest.mark.parametrize("role", sorted(ALL))
async def test_each_role_gets_exactly_what_it_should(
    app: Any, users: dict[str, Any], role: str
) -> None:
    async with client_for(app) as client:
        if role != "public":
            r = await login(client, users[role]["username"])
            assert r.status_code == 303, r.text
        csrf = await csrf_of(client, "/login")
        # log out last: it ends the session the other calls ride on
        for method, path in sorted(EXPECTED, key=lambda k: k[1] == "/logout"):
            allowed, _ = EXPECTED[(method, path)]
            r = await _call(client, method, path, csrf)
            if role in allowed:
                assert not _denied(r), (role, method, path, r.status_code, r.text[:200])
                assert r.status_code < 500, (role, method, path, r.text[:200])
            else:
                assert _denied(r), (role, method, path, r.status_code, r.text[:200])
                assert r.status_code == (401 if role == "public" else 403)


# -- scope: a county, an enterprise and the public never reach what is not theirs -------------
def _outlet_elsewhere(store: Any, region: str) -> str:
    rows = store.query(
        "SELECT id FROM sites WHERE kind LIKE 'source%' AND region <> ? ORDER BY id LIMIT 1",
        [region],
    )
    return str(rows[0]["id"])


async def test_county_scope(
    client: httpx.AsyncClient, users: dict[str, Any], city_store: Any
) -> None:
    county = users["county"]["region"]
    await login(client, users["county"]["username"])
    items = (await client.get("/api/v1/sites", params={"limit": 500})).json()["items"]
    outlets = [s for s in items if s["kind"].startswith("source")]
    assert outlets and {s["region"] for s in outlets} == {county}
    assert {s["kind"] for s in items} >= {"air", "water"}  # published kinds everywhere
    other = _outlet_elsewhere(city_store, county)
    for url, params in (
        (f"/api/v1/sites/{other}", None),
        ("/api/v1/measurements", {"site": other, "parameter": "a21026"}),
    ):
        r = await client.get(url, params=params)
        assert r.status_code == 404 and r.json()["error"] == "not_found"
    own = outlets[0]["id"]
    body = (await client.get(f"/api/v1/sites/{own}")).json()
    assert body["devices"]  # its own region's loggers
    # another county's air station: published data, but not its loggers
    air_elsewhere = next(s for s in items if s["kind"] == "air" and s["region"] != county)
    body = (await client.get(f"/api/v1/sites/{air_elsewhere['id']}")).json()
    assert body["devices"] is None


async def test_enterprise_scope(
    client: httpx.AsyncClient, users: dict[str, Any], city_store: Any
) -> None:
    ent = users["enterprise"]["enterprise"]
    await login(client, users["enterprise"]["username"])
    items = (await client.get("/api/v1/sites", params={"limit": 500})).json()["items"]
    outlets = [s for s in items if s["kind"].startswith("source")]
    assert outlets and {s["enterprise"] for s in outlets} == {ent}
    neighbour = city_store.query(
        "SELECT id FROM sites WHERE kind LIKE 'source%' AND enterprise <> ? ORDER BY id LIMIT 1",
        [ent],
    )[0]["id"]
    r = await client.get(f"/api/v1/sites/{neighbour}")
    assert r.status_code == 404
    r = await client.get("/api/v1/sites", params={"kind": "source_water", "limit": 500})
    assert all(s["enterprise"] == ent for s in r.json()["items"])
    over = (await client.get("/api/v1/overview")).json()["features"]
    assert {f["id"] for f in over if f["kind"].startswith("source")} == {s["id"] for s in outlets}


async def test_public_sees_published_kinds_only(client: httpx.AsyncClient, city_store: Any) -> None:
    body = (await client.get("/api/v1/sites", params={"limit": 500})).json()
    assert {s["kind"] for s in body["items"]} == {"air", "water"}
    outlet = city_store.query("SELECT id FROM sites WHERE kind = 'source_gas' LIMIT 1")[0]["id"]
    assert (await client.get(f"/api/v1/sites/{outlet}")).status_code == 404
    r = await client.get("/api/v1/sites/AQ01")
    assert r.headers["cache-control"].startswith("public, max-age=")
    assert "Cookie" in r.headers["vary"]


def test_the_navigation_links_only_pages_the_role_may_open(app: Any) -> None:
    """A role sees a link only to a page it may open (a domain office such as the exchange
    operator or the energy-saving office is not shown the enforcement pages it would be refused)."""
    from bishui.web.pages import NAV

    for item in NAV:
        declared = EXPECTED.get(("GET", item.path))
        if declared is None:
            continue  # not a page of the matrix (e.g. the API docs)
        assert set(item.roles) <= declared[0], (item.path, sorted(set(item.roles) - declared[0]))
