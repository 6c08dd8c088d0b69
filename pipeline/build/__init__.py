"""Practice data -> 270 and 837P files, after the claim scrubber (front-end edits)."""
