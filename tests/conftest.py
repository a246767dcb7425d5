"""Suite-wide settings.

Torch runs single-threaded in tests: the models are tiny, and `make test` runs two pytest
workers on a 2-core machine, where OpenMP threads spinning against each other make each op
10-50x slower.
"""

import torch

torch.set_num_threads(1)
