"""Typed contracts between the layers, with no I/O: resources, offers, plans, jobs, runs, fleets, statuses."""
