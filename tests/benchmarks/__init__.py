"""Tests of :mod:`skepinet.benchmarks`.

A package so that its conftest and modules get their own names (``benchmarks.conftest``)
beside ``tests/conftest.py``, which its fixtures import as ``conftest``.
"""
