"""The CI catalogue (contract 15): TOML `[[ci]]` or CSV with the same columns; a bad file stops
the start with a message naming the file and the entry; the shipped example loads against the
shipped directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import PROJECT_DIR, Settings, load_cis, load_directory, load_policy
from domain.cis import CisError, parse_cis

TOML = """
[[ci]]
id = "payroll-app"
name = "Payroll application"
class = "application"
service = "payroll"
owner_group = "platform-l2"
location = "Data centre A"

[[ci]]
id = "printer-2f"
name = "Printer, 2nd floor"
class = "printer"
"""
CSV = """id,name,class,service,owner_group,location
payroll-app,Payroll application,application,payroll,platform-l2,Data centre A
printer-2f,"Printer, 2nd floor",printer,,,
"""


def test_csv_with_the_same_columns_gives_the_same_catalogue() -> None:
    from_toml = parse_cis(TOML, "cis.toml")
    from_csv = parse_cis(CSV, "cis.csv")
    assert from_csv == from_toml
    printer = from_csv.items["printer-2f"]
    assert (printer.name, printer.ci_class, printer.service) == (
        "Printer, 2nd floor",
        "printer",
        None,
    )


@pytest.mark.parametrize(
    ("text", "source", "names"),
    [
        (
            TOML.replace('class = "printer"\n', ""),
            "/etc/cis.toml",
            ["/etc/cis.toml", "ci[1]", "printer-2f", "class"],
        ),
        (
            TOML + '\n[[ci]]\nid = "payroll-app"\nname = "again"\nclass = "x"\n',
            "c.toml",
            ["c.toml", "ci[2]", "payroll-app", "already used"],
        ),
        (
            TOML.replace('location = "Data centre A"', "colour = 'red'"),
            "c.toml",
            ["c.toml", "ci[0]", "payroll-app", "colour"],
        ),
        ("[[ci]\n", "broken.toml", ["broken.toml", "not valid TOML"]),
        (
            CSV.replace("printer-2f,", "bad id!,"),
            "/srv/cis.csv",
            ["/srv/cis.csv", "line 3", "bad id!", "id"],
        ),
        (CSV.replace("location", "site"), "/srv/cis.csv", ["/srv/cis.csv", "site"]),
        (CSV + "x,y,z,,,,extra\n", "c.csv", ["c.csv", "line 4", "more values"]),
    ],
)
def test_a_bad_catalogue_names_the_file_and_the_entry(
    text: str, source: str, names: list[str]
) -> None:
    with pytest.raises(CisError) as refused:
        parse_cis(text, source)
    for name in names:
        assert name in str(refused.value)


def test_start_up_checks_owner_groups_against_the_directory(tmp_path: Path) -> None:
    path = tmp_path / "cis.toml"
    path.write_text(TOML.replace("platform-l2", "payroll-team"))
    settings = Settings(
        data_dir=tmp_path,
        cis_file=path,
        directory_file=PROJECT_DIR / "deploy" / "directory.example.toml",
    )
    directory = load_directory(settings, load_policy(settings))
    with pytest.raises(CisError) as refused:
        load_cis(settings, directory)
    assert str(path) in str(refused.value) and "payroll-app" in str(refused.value)
    assert "payroll-team" in str(refused.value)


def test_the_shipped_example_loads_and_no_file_is_an_empty_catalogue(tmp_path: Path) -> None:
    deploy = PROJECT_DIR / "deploy"
    settings = Settings(
        data_dir=tmp_path,
        cis_file=deploy / "cis.example.toml",
        directory_file=deploy / "directory.example.toml",
    )
    catalogue = load_cis(settings, load_directory(settings, load_policy(settings)))
    services = {item.service for item in catalogue.items.values()}
    assert {"office-network", "payroll", "email", "vpn", "printing"} <= services
    assert not load_cis(
        Settings(data_dir=tmp_path), load_directory(settings, load_policy(settings))
    ).items


def test_matching_filters_by_service_class_and_text() -> None:
    catalogue = parse_cis(TOML, "cis.toml")
    assert [i.id for i in catalogue.matching(service="payroll")] == ["payroll-app"]
    assert [i.id for i in catalogue.matching(ci_class="printer")] == ["printer-2f"]
    assert [i.id for i in catalogue.matching(q="CENTRE")] == ["payroll-app"]
    assert catalogue.matching(service="payroll", ci_class="printer") == []
