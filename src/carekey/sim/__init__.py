"""Simulation and benchmark drivers: whole-day simulation, load and protocol benchmarks."""
