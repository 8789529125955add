"""The small core every package may use: frozen values, errors, clock, logs."""
