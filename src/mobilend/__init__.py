"""mobilend: open-source mobile micro-lending platform."""
