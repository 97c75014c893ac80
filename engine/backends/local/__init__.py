"""engine/backends/local: this machine as a backend (host.py detects it, backend.py offers it)"""
