"""academic: grade predictors with and without emotion features, tracked in MLflow.

features (feature sets, join) -> models (pipeline factory) -> evaluate (repeated CV,
corrected t-test, champion) -> tracking (MLflow edge) and report (at-risk CSV + HTML).
`synthetic` makes cohorts with a known answer for tests and sample data.
"""
