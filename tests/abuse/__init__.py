"""The abuse suite: limits before work, numbers JSON cannot carry, and nothing of a request in any log."""
