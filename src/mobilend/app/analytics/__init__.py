"""Portfolio analytics: summaries rebuilt after end of day, reports, stress test."""
