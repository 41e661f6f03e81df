"""People who sign in: registered accounts, guests, and their login tokens."""
