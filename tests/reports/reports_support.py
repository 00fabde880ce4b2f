"""A small store for the report tests: the air, water and sources test helpers together, and
the poppler tools (pdftotext, pdffonts, pdftoppm) that read a PDF back.

The other directories' helpers are loaded by path: their module names are not on the path
here, and ``conftest`` names clash across directories.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from bishui.sources import permit_store
from bishui.sources import service as sources_service
from bishui.store import Store

TESTS = Path(__file__).resolve().parents[1]


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


air = _load("bishui_reports_air_support", TESTS / "air" / "air_store_support.py")
src = _load("bishui_reports_sources_support", TESTS / "sources" / "sources_store.py")

#: The month the reports are about; the store holds the same month of the year before too.
MONTH = "2026-11"
AS_OF = dt.date(2026, 12, 1)
CREATED = dt.datetime(2026, 12, 1, 8, 0)


def poppler(tool: str) -> str:
    """The path of a poppler-utils tool; CI must have it (a skip there would hide a gap)."""
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} (Debian poppler-utils) is missing under CI")
        pytest.skip(f"{tool} not installed (Debian package poppler-utils)")
    return path


def pdf_text(pdf: bytes, tmp: Path) -> str:
    f = tmp / "r.pdf"
    f.write_bytes(pdf)
    out = subprocess.run([poppler("pdftotext"), "-layout", str(f), "-"], capture_output=True,
                         check=True)  # fmt: skip
    assert out.stderr == b"", out.stderr.decode()  # e.g. "Syntax Error: No font in show"
    return out.stdout.decode("utf-8")


def pdf_fonts(pdf: bytes, tmp: Path) -> list[list[str]]:
    """``pdffonts`` rows: name, type, encoding, emb, sub, uni …"""
    f = tmp / "f.pdf"
    f.write_bytes(pdf)
    out = subprocess.run([poppler("pdffonts"), str(f)], capture_output=True, check=True)
    lines = out.stdout.decode().splitlines()[2:]
    return [line.split() for line in lines if line.strip()]


def page_image(pdf: bytes, tmp: Path, page: int = 1, dpi: int = 50) -> Path:
    """Page *page* rendered to PNG by pdftoppm."""
    f = tmp / "p.pdf"
    f.write_bytes(pdf)
    prefix = tmp / f"page{page}"
    subprocess.run([poppler("pdftoppm"), "-png", "-r", str(dpi), "-f", str(page), "-l",
                    str(page), "-singlefile", str(f), str(prefix)], check=True)  # fmt: skip
    return prefix.with_suffix(".png")


def dark_pixels(pdf: bytes, tmp: Path, box: tuple[int, int, int, int], dpi: int = 72) -> int:
    """Pixels darker than mid-grey in ``(x, y, w, h)`` of page 1 (pdftoppm's PGM output)."""
    f = tmp / "g.pdf"
    f.write_bytes(pdf)
    x, y, w, h = box
    out = subprocess.run([poppler("pdftoppm"), "-gray", "-r", str(dpi), "-f", "1", "-l", "1",
                          "-x", str(x), "-y", str(y), "-W", str(w), "-H", str(h), str(f)],
                         capture_output=True, check=True).stdout  # fmt: skip
    # binary PGM: "P5\n<w> <h>\n255\n" then w*h bytes
    parts = out.split(b"\n", 3)
    assert parts[0] == b"P5"
    data = parts[3]
    return sum(1 for b in data if b < 128)


def air_store(store: Store) -> None:
    """Three stations; November 2026 (20 days) and November 2025 (30 days)."""
    air.registry(store)
    air.clean_days(store, dt.date(2025, 11, 1), 30, {("C", "PM2.5"): 120.0})
    air.clean_days(store, dt.date(2026, 11, 1), 20, {("B", "PM2.5"): 90.0})


def sources_store(store: Store) -> None:
    """Enterprise A over its SO2 limit on 2026-11-03 for three hours; checked for the month."""
    src.registry(store)
    permit_store.record_permits(store, [src.make_permit()])
    for i in range(5):
        so2 = [120.0] * 24
        if i == 2:
            so2[10:13] = [260.0, 300.0, 250.0]
        src.gas_day(store, src.GAS_A, dt.date(2026, 11, 1) + dt.timedelta(days=i), so2)
    sources_service.run_checks(store, dt.datetime(2026, 11, 1), dt.datetime(2026, 11, 6),
                               now=dt.datetime(2026, 11, 6, 9), site_ids=[src.GAS_A])  # fmt: skip


water = _load("bishui_reports_water_support", TESTS / "water" / "water_support.py")

#: Three sections: 甲断面 (target Ⅲ) at NH3-N 1.8 mg/L — class Ⅴ, over its target; 乙断面
#: (target Ⅱ) at 0.3 — Ⅱ, attained; 丙湖 without data (insufficient).
SECTIONS = [
    {"id": "S1", "name": "甲断面", "river": "甲河", "target_class": 3},
    {"id": "S2", "name": "乙断面", "river": "甲河", "target_class": 2, "region": "420881"},
    {"id": "L1", "name": "丙湖", "river": "丙湖", "body": "lake", "target_class": 3},
]


def water_store(store: Store) -> None:
    water.registry(store, SECTIONS)
    rows = []
    for i in range(5):
        d = dt.date(2026, 11, 2) + dt.timedelta(days=i)
        for site, nh3, ph in (("S1", 1.8, 7.2), ("S2", 0.3, 7.5)):
            rows += water.four_hourly(site, "w21003", d, nh3)
            rows += water.four_hourly(site, "w01001", d, ph)
    water.write(store, rows)
