"""Live polls: created, opened, closed and reopened by moderators; one ballot per person."""
