"""recette-sas: the pytest plugins that make up the suite (step modules pytest never loads are invisible)."""

pytest_plugins = [
    "fixtures.options",
    "fixtures.step_lookup",
    "fixtures.matrix",
    "fixtures.pki",
    "fixtures.targets",
    "fixtures.revocation",
    "fixtures.markers",
    "fixtures.levels",
    "fixtures.run_verdict",
    "steps.serveur_steps",
    "steps.verdict_steps",
    "steps.igc_steps",
    "steps.fhir_steps",
    "steps.revocation_steps",
    "fixtures.allure_labels",
    "fixtures.client",
    "steps.client_steps",
    "steps.regulateurs_steps",
    "steps.rendez_vous_steps",
]
