"""`make bench`: the dashboard's benchmark, run against the real stack."""
