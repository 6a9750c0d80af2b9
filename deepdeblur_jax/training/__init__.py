"""Training: losses, train state, the jitted step, checkpoints, metrics and the train loop."""
