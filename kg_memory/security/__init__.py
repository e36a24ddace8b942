"""Safety checks that sit between a command and the files it touches."""
