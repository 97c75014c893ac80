"""engine/backends: base.py (the small interface, capabilities as data), registry.py (the only
list of backends), one module or package per backend (local/, ssh/, aws.py, gcp.py, azure.py,
catalog_only.py), config.py ($DSTACK_HOME/config.yml)."""
