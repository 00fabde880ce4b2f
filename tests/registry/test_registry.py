import tomllib
from pathlib import Path

import pytest

from bishui.errors import InputError
from bishui.hj212.auth import verify_password
from bishui.registry import (
    Device,
    DeviceParameter,
    Enterprise,
    Region,
    Registry,
    Site,
    apply,
    devices,
    export,
    export_csv,
    export_toml,
    from_mapping,
    read_file,
)
from bishui.store import Store

USCC = "91130200699229617X"  # HJ 608-2017 annex example (exchange notes B8: valid)


def small() -> Registry:
    return Registry(
        regions=[
            Region("420800", "荆门市", "city"),
            Region("420802", "东宝区", "district", parent="420800"),
            Region("420800-ZH", "漳河新区", "functional_zone", parent="420800"),
        ],
        enterprises=[Enterprise(USCC, "示例水泥有限公司", "水泥", "420802")],
        sites=[
            Site("AQ01", "air", "竹园小学", "420802", lon=112.2, lat=31.04),
            Site("WS06", "water", "漳河水库", "420800-ZH", body="lake", target_class=1),
            Site("E01-DA001", "source_gas", "窑尾", "420802", enterprise=USCC, outlet="DA001"),
        ],
        devices=[
            Device(
                "422200000000000000000001",
                "AQ01",
                "123456",
                "22",
                parameters=(DeviceParameter("a34004", "μg/m³", 0, 1000),),
            )
        ],
    )


def test_apply_export_round_trip(store: Store) -> None:
    assert apply(store, small()) == {"regions": 3, "enterprises": 1, "sites": 3, "devices": 1}
    data = export(store, include_secrets=True)
    again = from_mapping(tomllib.loads(export_toml(store, include_secrets=True)))
    assert [s.id for s in again.sites] == ["AQ01", "E01-DA001", "WS06"]
    # issue 13: the store keeps a salted hash, never the clear password; the export with
    # secrets carries the hash, which loads back as is
    pw = data["devices"][0]["pw"]
    assert pw.startswith("pbkdf2_sha256$") and verify_password("123456", pw)
    assert again.devices[0].pw == pw
    apply(store, again)
    assert store.rows("devices")[0]["pw"] == pw
    assert devices(store)["422200000000000000000001"].parameters[0].unit == "μg/m³"


def test_export_hides_passwords_by_default(store: Store) -> None:
    apply(store, small())
    assert export(store)["devices"][0]["pw"] == "***"
    assert "123456" not in export_csv(store, "devices")
    assert export_csv(store, "sites").startswith("\ufeff")


def test_apply_again_updates(store: Store) -> None:
    apply(store, small())
    reg = small()
    reg.sites[0] = Site("AQ01", "air", "竹园小学站", "420802")
    apply(store, Registry(sites=[reg.sites[0]]))
    assert store.rows("sites", "id = ?", ["AQ01"])[0]["name"] == "竹园小学站"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda r: r.regions.append(Region("42080", "x", "district")), "region.code"),
        (lambda r: r.regions.append(Region("420803", "x", "province")), "region.kind"),
        (
            lambda r: r.enterprises.append(Enterprise("91350100M000100Y4Z", "x", "水泥", "420802")),
            "enterprise.uscc",
        ),
        (lambda r: r.sites.append(Site("W 1", "water", "x", "420802")), "site.id"),
        (
            lambda r: r.sites.append(
                Site("WS9", "water", "x", "420802", body="sea", target_class=3)
            ),
            "site.body",
        ),
        (
            lambda r: r.sites.append(
                Site("WS9", "water", "x", "420802", body="river", target_class=6)
            ),
            "site.target_class",
        ),
        (
            lambda r: r.sites.append(
                Site("E9", "source_gas", "x", "420802", enterprise=USCC, outlet="DW001")
            ),
            "site.outlet",
        ),
        (lambda r: r.sites.append(Site("AQ9", "air", "x", "999999")), "site.region"),
        (lambda r: r.sites.append(Site("AQ01", "air", "again", "420802")), "site.id"),
        (lambda r: r.devices.append(Device("X" * 25, "AQ01", "1", "22")), "device.mn"),
        (lambda r: r.devices.append(Device("M2", "AQ01", "12;456", "22")), "device.pw"),
        (
            lambda r: r.devices.append(Device("M2", "AQ01", "1", "22", crc_policy="crc32")),
            "device.crc_policy",
        ),
        (lambda r: r.devices.append(Device("M2", "NOPE", "1", "22")), "device.site_id"),
        (
            lambda r: r.devices.append(
                Device(
                    "M2", "AQ01", "1", "22", parameters=(DeviceParameter("a34004", "μg/m³", 10, 1),)
                )
            ),
            "device.parameters[0].range",
        ),
    ],
)
def test_bad_entries_are_refused_with_field(store: Store, change, field: str) -> None:
    reg = small()
    change(reg)
    with pytest.raises(InputError) as e:
        apply(store, reg)
    assert e.value.field == field
    assert store.count("sites") == 0  # nothing written


def test_read_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "r.toml"
    bad.write_text("[[regions]\n", encoding="utf-8")
    with pytest.raises(InputError, match="not valid TOML"):
        read_file(bad)
    bad.write_text('[[regions]]\ncode = "420802"\nnom = "x"\n', encoding="utf-8")
    with pytest.raises(InputError, match="bad entry"):
        read_file(bad)
    with pytest.raises(InputError, match="cannot read"):
        read_file(tmp_path / "missing.toml")
