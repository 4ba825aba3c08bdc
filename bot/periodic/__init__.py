"""The periodic report the plans ask of the ward police, as Word and Excel files drawn from
db/statistics.py: the same tables (tables.py) in both, so the two can never disagree."""
