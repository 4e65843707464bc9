"""Detection benchmark: synthetic 1-minute series with planted incidents, scored per detector."""
