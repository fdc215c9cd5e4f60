"""Use cases over cohort tables (issue 15): the synthetic cohort generator and outcomes by group."""
