"""Tiny models run fastest single-threaded on the shared 2-core machine (and under xdist)."""

import torch

torch.set_num_threads(1)
