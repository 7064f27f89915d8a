"""Style-transfer internals: the objective and optimiser (core), its hand-written gradient (fast), extra loss terms, the style-target cache, parametrisations."""
