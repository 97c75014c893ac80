"""Fleets as Pulumi stacks: the offer and StackSpec of a plan, and the stack's life in the state."""
