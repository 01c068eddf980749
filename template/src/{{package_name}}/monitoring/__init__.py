"""Drift monitoring: is the data the model sees now still like its training data?

`drift` holds the statistics (numpy and scipy only), `profile` turns columns
into what they need, `compare` judges each column, `check` runs `monitor
drift` end to end, `results` holds its result, and `report` writes
reports/drift.json and drift.html. The drift bench is `bench/drift.py`.
`performance` judges one labelled window against the model's validation value;
`timeline` does so per day or week of labelled predictions (`monitor
performance`), and `timeline_report` writes reports/performance.json and .html.
"""
