"""``haven demo``: a scripted scenario on real infrastructure."""
