"""Helpers shared by the test packages (import them; conftest.py files only hold fixtures)."""
