"""academic: grade predictors on learning, + attendance, + affect features, tracked in MLflow.

features (feature sets, join) -> models (pipeline factory) -> evaluate (repeated CV,
corrected t-test and minimum detectable effect per step, champion) -> conformal (CV+
intervals, their coverage) -> tracking (MLflow edge) and report (at-risk CSV + HTML).
`synthetic` makes cohorts with a known answer for tests, benchmarks and sample data.
"""
