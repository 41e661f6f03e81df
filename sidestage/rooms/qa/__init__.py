"""Questions and answers: asking, upvoting, withdrawing, and the moderation queue."""
