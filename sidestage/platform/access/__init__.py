"""Who may do what: role grants, invite links and the access rules of sessions."""
