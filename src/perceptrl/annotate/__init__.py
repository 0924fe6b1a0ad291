"""Perception-R1 stage 1: visual annotations from verified chains of thought (see pipeline.py)."""

from perceptrl.annotate.pipeline import AnnotateConfig, AnnotateResult, RowResult, annotate, parse_facts

__all__ = ["AnnotateConfig", "AnnotateResult", "RowResult", "annotate", "parse_facts"]
