"""Benchmarks of the EWS service: `make bench` runs bench/run.py and writes bench/RESULTS.md."""
