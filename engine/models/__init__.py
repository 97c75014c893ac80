"""Typed contracts between the layers, no I/O: resources, offers, plans, jobs, runs, fleets."""
