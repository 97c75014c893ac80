"""engine/fleets"""
