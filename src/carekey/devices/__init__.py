"""Door firmware simulators (home lock, entrance/gate controller), transports and the phone driver.

The simulators are real implementations of the door side of the protocol: tests, the whole-day
simulation and the benchmark run the same code a firmware port would follow.
"""
