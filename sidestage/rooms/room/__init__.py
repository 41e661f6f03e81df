"""The room itself: entering and leaving, its settings, removing a participant."""
