"""The fraud subgraph: a rule-based risk verdict, logged once per transaction id, for every payment."""
