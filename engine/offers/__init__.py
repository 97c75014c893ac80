"""engine/offers"""
