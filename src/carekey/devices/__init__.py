"""Door firmware: the home lock and the entrance/gate controller, simulated in Python.

The simulators are real implementations of the door side of the protocol: tests, the whole-day
simulation and the benchmark run the same code a firmware port would follow. This package
imports only ``protocol``, ``link`` and ``clock``; the phone side and the transports live in
:mod:`carekey.link`, building doors for database rows in :mod:`carekey.sim`.
"""
