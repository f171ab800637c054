"""Tests of the marketplace sandbox (scripts/sandbox)."""
