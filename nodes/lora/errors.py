"""The error raised for LoRA files that cannot be read or do not fit the model."""


class LoraError(ValueError):
    """A LoRA file cannot be read or does not fit the model. The message says what and why."""
