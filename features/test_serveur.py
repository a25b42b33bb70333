"""Binds every server-role feature (steps live in steps/, shared by all features)."""

from pytest_bdd import scenarios

scenarios("serveur", "serveur_igc")
