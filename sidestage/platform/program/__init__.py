"""The program: conference, days, rooms, tracks, sessions, speakers, partners."""
