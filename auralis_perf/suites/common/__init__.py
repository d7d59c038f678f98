"""Scenario support shared by several categories: audio, timing helpers, comparisons, evidence."""
