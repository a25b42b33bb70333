"""FHIR, per ANS's SAS implementation guide: the reference editor's minimal app (``app``) and the validation
engine that judges what an editor answers or sends (``validation`` over ``base`` R4 structure and the
``profiles`` tables, with ``findings`` naming profile URL, element path and ``fullUrl``)."""
