"""Tests of the scripts (benchmarks, dev runner, router token)."""
