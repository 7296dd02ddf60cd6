"""Sourced hardware data (YAML tables read with hwsim.sourced.load_table)."""
