"""Tools launched to the room by hosts and moderators, and the clicks on them."""
