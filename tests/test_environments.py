from __future__ import annotations

import pytest

from recette_sas.environments import (
    ENVIRONMENTS,
    Hierarchy,
    Mapping,
    UsageError,
    accepted_subjects,
    editor_environment_for,
    editor_environments,
    get_environment,
    trusted_hierarchy,
)


def test_subjects_are_the_spec_letter_for_letter() -> None:
    assert get_environment("recette").subject.rfc4514() == (
        "CN=sas-agregateur-recette,OU=499700234190004,O=CABINET MLLE DENTISTE0023419,ST=Paris (75),C=FR"
    )
    assert get_environment("preproduction").subject.cn == "sas-aggregator-preproduction"
    assert get_environment("production").subject.o == "AGENCE DES SYSTEMES D'INFORMATION PARTAG"
    assert get_environment("production").subject.ou == "318751275100020"


def test_hosts_ips_and_hierarchies() -> None:
    assert get_environment("recette").host == "sas-agregateur.integration.santefr.esante.gouv.fr"
    assert [e.egress_ip for e in ENVIRONMENTS.values()] == ["193.41.222.248", "31.15.27.36", "31.15.27.13"]
    assert [e.hierarchy for e in ENVIRONMENTS.values()] == [
        Hierarchy.TEST,
        Hierarchy.TEST,
        Hierarchy.PRODUCTION,
    ]


def test_one_to_one_mapping() -> None:
    for key in ENVIRONMENTS:
        assert editor_environment_for(key, Mapping.ONE_TO_ONE) == key
        assert accepted_subjects(key, Mapping.ONE_TO_ONE) == (ENVIRONMENTS[key].subject,)
    assert trusted_hierarchy("production", Mapping.ONE_TO_ONE) is Hierarchy.PRODUCTION


def test_simplified_mapping_preproduction_accepts_both_test_subjects() -> None:
    assert editor_environments(Mapping.SIMPLIFIED) == ("preproduction", "production")
    assert editor_environment_for("recette", Mapping.SIMPLIFIED) == "preproduction"
    cns = [s.cn for s in accepted_subjects("preproduction", Mapping.SIMPLIFIED)]
    assert cns == ["sas-agregateur-recette", "sas-aggregator-preproduction"]
    assert trusted_hierarchy("preproduction", Mapping.SIMPLIFIED) is Hierarchy.TEST
    assert [s.cn for s in accepted_subjects("production", Mapping.SIMPLIFIED)] == [
        "sas-aggregator-production"
    ]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: get_environment("integration"), "--sas-env: unknown environment 'integration'"),
        (lambda: Mapping.parse("double"), "--sas-mapping: unknown mapping 'double'"),
        (lambda: accepted_subjects("recette", Mapping.SIMPLIFIED), "does not exist in mapping simplifie"),
    ],
)
def test_bad_values_are_one_line_usage_errors(call, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError) as info:
        call()
    assert message in str(info.value)
    assert "\n" not in str(info.value)
