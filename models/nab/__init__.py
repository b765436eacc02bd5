"""NAB (Numenta Anomaly Benchmark) tooling: data loading, scoring and running detectors."""

from models.nab.scorer import PROFILES, Profile, ScoredFile, optimise_threshold, score_at

__all__ = ["PROFILES", "Profile", "ScoredFile", "optimise_threshold", "score_at"]
