"""HTTP: the pages and the JSON API. The top of the import stack, beside ``realtime``."""
