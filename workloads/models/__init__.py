"""Graph builders for the built-in models, and their published configurations."""
