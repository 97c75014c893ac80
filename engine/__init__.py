"""fleetstack's domain: configuration, offers, runs, fleets, state."""
