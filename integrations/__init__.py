"""Runnable example apps and the demo; never shipped in the wheel."""
