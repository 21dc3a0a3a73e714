"""The table's stream consumer (one Lambda)."""
