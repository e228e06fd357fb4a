"""Read models: the projector SDK, the registry, built-ins, indicators and custom ones."""
