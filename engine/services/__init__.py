"""engine/services"""
