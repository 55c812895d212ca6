"""Balanced focal loss for the same-event pair classifier."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def balanced_focal_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    weight_positive: float = 1.0,
    weight_negative: float = 0.5,
    gamma: float = 1.5,
) -> torch.Tensor:
    """Balanced focal loss L = −(1/N) Σᵢ ωᵢ (1 − p_t,i)^γ ln p_t,i.

    ``p = sigmoid(logit)`` is the predicted p(same event); ``p_t = p`` for a true pair and
    ``1 − p`` for a false pair; ``ωᵢ`` is ``weight_positive`` (ω_p) for true pairs and
    ``weight_negative`` (ω_n) for false pairs. With γ = 0 and ω_p = ω_n = 1 this is the
    binary cross-entropy. ``ln p_t`` is computed from the logits for numerical stability.

    Args:
        logits: pair logits, any shape.
        target: same shape, 1 for a true (same-event) pair and 0 for a false one.
        weight_positive: ω_p.
        weight_negative: ω_n.
        gamma: focusing exponent γ ≥ 0.

    Returns:
        The mean loss over all pairs (0 for an empty batch).
    """
    if logits.numel() == 0:
        return logits.sum()
    target = target.to(logits.dtype)
    log_p_t = -F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    p_t = log_p_t.exp()
    weight = torch.where(target > 0.5, weight_positive, weight_negative).to(logits.dtype)
    return -(weight * (1.0 - p_t).pow(gamma) * log_p_t).mean()
