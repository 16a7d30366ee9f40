"""Decision engines behind the ``DecisionEngine`` port (the scoring engine lives in ``risk``)."""
