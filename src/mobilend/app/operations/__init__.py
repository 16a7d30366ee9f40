"""The back office: staff look-ups, the manual review queue and maker-checker."""
