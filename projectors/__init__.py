"""Haven's stream side: the sealer, the projection engine, the built-in projectors,
consent and erasure, and the data-sharing policy they apply."""
