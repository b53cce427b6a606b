"""The shared runtime every generated provider module calls; it names no provider."""
