"""Plots of the category notebooks, one module per category (matplotlib, small inline figures)."""
