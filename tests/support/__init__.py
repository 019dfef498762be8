"""Helpers shared by the test suites: database servers, stores and a counting proxy."""
