"""Tests of what only the Redis store promises."""
