"""The use cases the CLI calls: apply (plan, then execute exactly that plan), runs, fleets, logs."""
