"""Declarations: what each resource holds and accepts, and the errors an operation raises."""
