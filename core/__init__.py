"""Infrastructure every package may import: the one user-facing error, argument checks, seed
derivation, atomic file writes and lazy package exports. Imports nothing from the project."""
