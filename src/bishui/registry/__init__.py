"""The registry: regions, enterprises, monitoring sites, outlets and data loggers."""

from bishui.registry.model import (
    SITE_KIND_ST,
    SITE_KINDS,
    Device,
    DeviceParameter,
    Enterprise,
    Region,
    Registry,
    Site,
    from_mapping,
)
from bishui.registry.service import apply, devices, export, export_csv, export_toml, read_file

__all__ = [
    "SITE_KINDS",
    "SITE_KIND_ST",
    "Device",
    "DeviceParameter",
    "Enterprise",
    "Region",
    "Registry",
    "Site",
    "apply",
    "devices",
    "export",
    "export_csv",
    "export_toml",
    "from_mapping",
    "read_file",
]
