"""Capacity forecast: ticket arrivals per tier and severity, and the agents they need.

`arrivals` bins the stored history, `model` forecasts weekly volumes (statsmodels) and spreads
them over the hours of the week, `erlang` is the queueing formula, `staffing` turns forecasts into
agents per tier calendar window and compares them with the staffing the admin states.
"""
