"""Typed node definitions of the diffusion pack, one module per purpose (see nodes/pack.py)."""
