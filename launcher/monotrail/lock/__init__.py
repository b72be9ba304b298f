"""The lock stage: the neutral model (`model`), finding a lock (`files`) and one reader per format."""
