"""Flet views: each renders state it is given and owns none."""
