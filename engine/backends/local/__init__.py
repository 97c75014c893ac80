"""engine/backends/local"""
