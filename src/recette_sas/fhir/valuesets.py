"""Value sets the SAS profiles bind to, transcribed as data with their canonical URLs.

The IG's own value sets come from ``input/fsh/valuesets/*.fsh`` (canonical
``https://interop.esante.gouv.fr/ig/fhir/sas/ValueSet/<Id>``). Two bindings point outside the IG:

- ``JDV_J165-TypeCreneau-SAS`` (MOS/NOS, bound by FrSlotAgregateur ``meta.security``): its content is
  not in the IG; the codes below are the ones the search pages list (PUBLIC, PRO, SNP on the PS page,
  CPTS added on the CPTS page) from ``TRE_R314-TypeCreneau``, the same four the IG's
  ``TypeCreneauSASCPTS`` value set enumerates;
- ``v3-ActEncounterCode`` (HL7 terminology, bound by the ``serviceType[TypeConsultation]`` slice):
  transcribed from FHIR R4, for the record; the engine checks the SAS subset ``TypeConsultationSAS``
  (AMB, HH, VR), which is what the PS page says the platform handles and what ANS's kit accepts.

A value set is a set of (system, code) pairs: no version, no filters, no expansion service (nothing
may be downloaded at run time). ``include codes from system X`` is written out from the IG's own code
system; nothing here includes a whole external code system.
"""

from __future__ import annotations

from dataclasses import dataclass

IG = "https://interop.esante.gouv.fr/ig/fhir/sas"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V2_0276 = "http://terminology.hl7.org/CodeSystem/v2-0276"
TRE_R314 = "https://mos.esante.gouv.fr/NOS/TRE_R314-TypeCreneau/FHIR/TRE-R314-TypeCreneau"
TRE_R66 = "https://mos.esante.gouv.fr/NOS/TRE_R66-CategorieEtablissement/FHIR/TRE-R66-CategorieEtablissement"
TRE_R38 = "https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale"
FR_V2_0203 = "http://interopsante.org/fhir/CodeSystem/fr-v2-0203"
PARTICIPATION_STATUS = "http://hl7.org/fhir/participationstatus"
V3_PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
CATEGORIE_ORIENTATION_CS = f"{IG}/CodeSystem/categorie-orientation-sas-codesystem"


@dataclass(frozen=True)
class ValueSet:
    url: str
    name: str
    codes: frozenset[tuple[str, str]]
    source: str

    def contains(self, system: object, code: object) -> bool:
        return (system, code) in self.codes

    def code_list(self) -> str:
        return ", ".join(sorted(code for _, code in self.codes))


def _vs(url: str, name: str, system: str, codes: tuple[str, ...], source: str) -> ValueSet:
    return ValueSet(url, name, frozenset((system, c) for c in codes), source)


TYPE_CRENEAU_SAS = _vs(
    "https://mos.esante.gouv.fr/NOS/JDV_J165-TypeCreneau-SAS/FHIR/JDV-J165-TypeCreneau-SAS",
    "JDV_J165-TypeCreneau-SAS",
    TRE_R314,
    ("PUBLIC", "PRO", "SNP", "CPTS"),
    "aliases.fsh:4 (URL) ; codes : specifications_techniques-ps-recherche_creneaux.md:231-234 "
    "(PUBLIC, PRO, SNP), specifications_techniques-cpts-recherche_creneaux.md (CPTS), "
    "valuesets/TypeCreneauSASCPTS.fsh:5-8",
)
TYPE_CRENEAU_SAS_CPTS = _vs(
    f"{IG}/ValueSet/sas-cpts-valueset-typecreneau",
    "TypeCreneauSASCPTS",
    TRE_R314,
    ("PUBLIC", "SNP", "PRO", "CPTS"),
    "valuesets/TypeCreneauSASCPTS.fsh:5-8",
)
TYPE_CRENEAU_SAS_SOS = _vs(
    f"{IG}/ValueSet/sas-sos-valueset-typecreneau",
    "TypeCreneauSASSOS",
    TRE_R314,
    ("PUBLIC", "SNP"),
    "valuesets/TypeCreneauSASSOS.fsh:5-6",
)
TYPE_CONSULTATION_SAS = _vs(
    f"{IG}/ValueSet/sas-valueset-typeconsultation",
    "TypeConsultationSAS",
    V3_ACT_CODE,
    ("AMB", "HH", "VR"),
    "valuesets/TypeConsultationSAS.fsh:5-7",
)
ACT_ENCOUNTER_CODE = _vs(
    "http://terminology.hl7.org/ValueSet/v3-ActEncounterCode",
    "v3-ActEncounterCode",
    V3_ACT_CODE,
    ("AMB", "EMER", "FLD", "HH", "IMP", "ACUTE", "NONAC", "OBSENC", "PRENC", "SS", "VR"),
    "aliases.fsh:5 (URL) ; contenu : FHIR R4 4.0.1, ValueSet v3-ActEncounterCode",
)
APPOINTMENT_REASON_SAS = _vs(
    f"{IG}/ValueSet/sas-valueset-appointmentreason",
    "AppointmentReasonSAS",
    V2_0276,
    ("ROUTINE", "WALKIN"),
    "valuesets/AppointmentReasonSAS.fsh:5-6",
)
PARTICIPANT_STATUS_SAS = _vs(
    f"{IG}/ValueSet/sas-valueset-participant-status",
    "ParticipantStatusSAS",
    PARTICIPATION_STATUS,
    ("accepted", "needs-action"),
    "valuesets/ParticipantStatusSASSOS.fsh:5-6",
)
TYPE_IDENTIFIANT_SAS = _vs(
    f"{IG}/ValueSet/sas-valueset-typeidentifiant",
    "TypeIdentifiantSAS",
    FR_V2_0203,
    ("IDNPS", "INTRN"),
    "valuesets/TypeIdentifiantSAS.fsh:5-6",
)
APPOINTMENT_PARTICIPANT_TYPE_SAS = _vs(
    f"{IG}/ValueSet/sas-valueset-appointmentparticipanttype",
    "AppointmentParticipantTypeSAS",
    V3_PARTICIPATION_TYPE,
    ("ADM",),
    "valuesets/AppointmentParticipantTypeSAS.fsh:5",
)
CATEGORIE_ETABLISSEMENT_SAS = _vs(
    f"{IG}/ValueSet/sas-valueset-categorieetablissement",
    "CategorieEtablissementSAS",
    TRE_R66,
    ("604",),
    "valuesets/CategorieEtablissementSAS.fsh:5",
)
CATEGORIE_ORIENTATION_SAS = ValueSet(
    f"{IG}/ValueSet/categorie-orientation-sas-valueset",
    "CategorieOrientationSASValueSet",
    frozenset(
        {(CATEGORIE_ORIENTATION_CS, c) for c in ("001", "002", "003")}
        | {(TRE_R66, c) for c in ("604", "603", "124")}
    ),
    "valuesets/CategorieOrientationSASValueSet.fsh:6-9 ; codesystems/CategorieOrientationSASCodeSystem.fsh:9-11",
)

VALUE_SETS: dict[str, ValueSet] = {
    vs.url: vs
    for vs in (
        TYPE_CRENEAU_SAS,
        TYPE_CRENEAU_SAS_CPTS,
        TYPE_CRENEAU_SAS_SOS,
        TYPE_CONSULTATION_SAS,
        ACT_ENCOUNTER_CODE,
        APPOINTMENT_REASON_SAS,
        PARTICIPANT_STATUS_SAS,
        TYPE_IDENTIFIANT_SAS,
        APPOINTMENT_PARTICIPANT_TYPE_SAS,
        CATEGORIE_ETABLISSEMENT_SAS,
        CATEGORIE_ORIENTATION_SAS,
    )
}
