"""Helpers that tests share (a TCP proxy to make outages without stopping shared servers)."""
