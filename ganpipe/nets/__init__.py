"""Network architectures (pure PyTorch)."""
