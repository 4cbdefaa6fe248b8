"""Evaluation metrics (pure PyTorch + torchmetrics)."""
