"""Binds every client-role feature (steps live in steps/, shared by all features)."""

from pytest_bdd import scenarios

scenarios("client")
