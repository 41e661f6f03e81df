"""Attendance: every stay in a room as an interval, and the figures organizers need."""
