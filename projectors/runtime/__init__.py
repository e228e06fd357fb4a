"""Runtime plumbing shared by the sealer and the engine: loop thread, batch send, heartbeat."""
