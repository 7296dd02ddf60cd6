"""Technology tables (sourced YAML, read with hwsim.sourced.load_table)."""
