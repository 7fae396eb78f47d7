"""Petri's pytest plugins: outside services, tiers, and what each test process keeps apart."""
