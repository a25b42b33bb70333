"""terminators."""
