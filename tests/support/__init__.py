"""Test support: real server processes on loopback, free ports."""
