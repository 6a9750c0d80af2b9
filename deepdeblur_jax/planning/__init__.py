"""Plan a run before renting hardware: compile the real train step for a TPU topology (or the
local devices) and read the compiler's memory and cost figures."""
