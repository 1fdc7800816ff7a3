"""Standards monitor: measure and self-check the mandatory open standards (internet.nl-grade)."""
