"""Forecasting's own steps: read the long table, forecast every series, backtest, take actuals.

They build on the time-series primitives in series/ (the examples, the sample
world) and on the shared pipeline (data, training recipe, registry, labels).
"""
