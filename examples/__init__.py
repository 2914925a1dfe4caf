"""Example pairs of implementations that exercise ``shadow`` on code it was not written with.

Not part of the installed package: tests and benchmarks import it with the repository root
on ``sys.path``.
"""
