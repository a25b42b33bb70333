"""The rule tables say where each rule comes from: those places exist and say what the tables copy.

Checked against the IG's sources (``../shared/spec/ig-sas``): every ``file.fsh:line`` and
``page.md:line`` a source cites exists; the profiles' canonical URLs are the FSH's; the value sets
transcribed in ``recette_sas.fhir.valuesets`` hold exactly the codes of ``input/fsh/valuesets``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from recette_sas.fhir.profiles import ALL
from recette_sas.fhir.rules_catalogue import RULES
from recette_sas.fhir.valuesets import IG as CANONICAL
from recette_sas.fhir.valuesets import VALUE_SETS

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
IG = SHARED / "spec" / "ig-sas"

pytestmark = pytest.mark.skipif(
    not IG.is_dir(), reason=f"IG sources absent: {IG} (the shared/ folder beside the repo)"
)

CITATION = re.compile(r"([A-Za-z0-9_\-]+\.(?:fsh|md)):(\d+)(?:-(\d+))?")


def _files() -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    for path in [*IG.rglob("*.fsh"), *IG.rglob("*.md")]:
        found.setdefault(path.name, []).append(path)
    return found


def test_every_cited_file_and_line_exists() -> None:
    files = _files()
    cited = 0
    for rule_id, (_, _, source) in RULES.items():
        for name, first, last in CITATION.findall(source):
            assert name in files, (rule_id, name)
            length = len(files[name][0].read_text(encoding="utf-8").splitlines())
            assert 1 <= int(first) <= int(last or first) <= length, (rule_id, name, first, last, length)
            cited += 1
    assert cited > 80


@pytest.mark.parametrize(
    ("profile_name", "path", "needle"),
    [
        ("FrSlotAgregateur", "FrSlotAgregateur.fsh:23", "status = #free (exactly)"),
        ("FrLocationAgregateur", "FrLocationAgregateur.fsh:8", "address.line 1..1"),
        (
            "FrAppointmentSAS",
            "FrAppointmentSAS.fsh:34",
            "participant.status from sas-valueset-participant-status",
        ),
        ("FrPractitionerRegul", "FrPractitionerRegul.fsh:7", 'meta.source = "urn:oid:1.2.250.1.213.3.6"'),
        (
            "BundleAgregateur",
            "specifications_techniques-ps-recherche_creneaux.md:74",
            "Le service indique le total",
        ),
        (
            "FrAppointmentSAS",
            "specifications_techniques-tous-gestion_rdv.md:180-181",
            "FrAppointmentOperator",
        ),
        ("FrSlotAgregateur", "specifications_techniques-ps-recherche_creneaux.md:242-245", "WALKIN"),
        ("FrPractitionerAgregateur", "faq.md:15-17", "identifier.value` sont obligatoires"),
    ],
)
def test_sampled_citations_say_what_the_rule_says(profile_name: str, path: str, needle: str) -> None:
    name, lines = path.rsplit(":", 1)
    first, _, last = lines.partition("-")
    text = "\n".join(
        _files()[name][0].read_text(encoding="utf-8").splitlines()[int(first) - 1 : int(last or first)]
    )
    assert needle in text
    profile = next(p for p in ALL if p.name == profile_name)
    assert any(path in rule.source for rule in profile.rules), path


def test_profile_urls_are_the_fsh_ones() -> None:
    from recette_sas.fhir.fsh_examples import FshTank

    tank = FshTank.from_ig(IG)
    for profile in ALL:
        assert tank.url(profile.name) == profile.url, profile.name
        assert tank.resource_type(profile.name) == profile.resource_type, profile.name
    assert (
        tank.url("FrPractitionerRegul") == f"{CANONICAL}/StructureDefinition/FrPractitionerRegul"
    )  # NOTES.md item 2


def _fsh_value_sets() -> dict[str, set[tuple[str, str]]]:
    aliases = dict(
        re.findall(r"^Alias:\s*(\S+)\s*=\s*(\S+)", (IG / "input/fsh/aliases.fsh").read_text(), re.MULTILINE)
    )
    out: dict[str, set[tuple[str, str]]] = {}
    for path in sorted((IG / "input/fsh/valuesets").glob("*.fsh")):
        text = path.read_text(encoding="utf-8")
        vs_id = re.search(r"^Id:\s*(\S+)", text, re.MULTILINE)
        assert vs_id, path
        codes: set[tuple[str, str]] = set()
        for system, code in re.findall(r"^\*\s+(\S+)#(\S+)", text, re.MULTILINE):
            codes.add((aliases.get(system, system), code))
        include = re.search(r"include codes from system (\S+)", text)
        if include:
            cs = (IG / "input/fsh/codesystems").glob("*.fsh")
            for cs_path in cs:
                cs_text = cs_path.read_text(encoding="utf-8")
                if re.search(rf"^Id:\s*{re.escape(include.group(1))}\s*$", cs_text, re.MULTILINE):
                    for code in re.findall(r"^\*\s+#(\S+)", cs_text, re.MULTILINE):
                        codes.add((f"{CANONICAL}/CodeSystem/{include.group(1)}", code))
        out[f"{CANONICAL}/ValueSet/{vs_id.group(1)}"] = codes
    return out


def test_value_sets_are_the_fsh_ones() -> None:
    fsh = _fsh_value_sets()
    assert len(fsh) == 9
    for url, codes in fsh.items():
        assert url in VALUE_SETS, url
        assert set(VALUE_SETS[url].codes) == codes, url
