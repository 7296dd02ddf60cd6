"""Learned cost models of arithmetic units (see costmodel.models)."""
