"""Live captions: lines of text per language, sent by captioners, shown to the room."""
