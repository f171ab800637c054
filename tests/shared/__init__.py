"""Tests of the shared kit."""
