"""What can be launched: catalogue entries, their kinds and the bodies that run."""
