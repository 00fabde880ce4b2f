"""The model city's registry (from ``bishui/demo/jingmen/city.toml``) and its agreements.

Loading the agreements needs to know which regions exist and which points have a data
source; for the demo both come from the city file. The lead's service passes the registry's
own sets to :func:`~bishui.compensation.agreement.load_agreement` instead.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from bishui.compensation.agreement import Agreement, load_agreements_dir

__all__ = [
    "AGREEMENTS_DIR",
    "CITY_FILE",
    "CityRegistry",
    "city_registry",
    "load_jingmen_agreements",
]

_PKG = Path(__file__).resolve().parent
AGREEMENTS_DIR = _PKG / "agreements" / "jingmen"
CITY_FILE = _PKG.parent / "demo" / "jingmen" / "city.toml"


@dataclass(frozen=True)
class CityRegistry:
    """Region codes (with the city itself), point id → kind, and code → name."""

    regions: frozenset[str]
    points: dict[str, str]
    names: dict[str, str]


def city_registry(path: str | Path = CITY_FILE) -> CityRegistry:
    """Read the city file: the city and its regions, air stations and water sections."""
    doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    names = {doc["city"]["code"]: doc["city"]["name"] + "本级"}
    names.update({r["code"]: r["name"] for r in doc["regions"]})
    points = {s["id"]: "air_station" for s in doc["air_stations"]}
    points.update({s["id"]: "water_section" for s in doc["water_sections"]})
    return CityRegistry(frozenset(names), points, names)


def load_jingmen_agreements(directory: str | Path = AGREEMENTS_DIR) -> dict[str, Agreement]:
    """Every agreement of the model city, validated against the city file."""
    reg = city_registry()
    return load_agreements_dir(directory, reg.regions, reg.points)
