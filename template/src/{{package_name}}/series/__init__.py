"""Time series for forecasting: the calendar, the sample world and the leak-free examples.

A forecasting project learns from *examples*: one row per (series, origin,
step), whose features use only what was known at the origin and whose label
is the value `step` periods later. `examples.py` builds them from a long
table (series id, timestamp, target, covariates); the rest of the package
trains, evaluates, serves and monitors those rows like any other table.
"""
