"""The orders app: one row per order placed, so a test counts how often a view ran."""
