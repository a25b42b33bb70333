"""fhir."""
