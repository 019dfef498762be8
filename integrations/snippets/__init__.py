"""The code shown in the documentation site, each file run by ``tests/docs``.

Pages include a file, or the lines between ``# [start:NAME]`` and ``# [end:NAME]``,
so what a reader copies is what the tests run.
"""
