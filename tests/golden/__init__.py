"""Before/after comparison of the scoring outputs on a fixed batch (see README.md)."""
