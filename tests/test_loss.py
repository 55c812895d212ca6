import math

import pytest
import torch
import torch.nn.functional as F

from gann_core.loss import balanced_focal_loss


def test_focal_loss_hand_computed():
    # p = 0.5, 0.75 (true pairs) and 0.25 (false pair); ω_p = 1, ω_n = 0.5, γ = 2.
    logits = torch.tensor([0.0, math.log(3.0), -math.log(3.0)])
    target = torch.tensor([1.0, 1.0, 0.0])
    terms = [
        1.0 * 0.5**2 * math.log(0.5),
        1.0 * 0.25**2 * math.log(0.75),
        0.5 * 0.25**2 * math.log(0.75),
    ]
    expected = -sum(terms) / 3
    loss = balanced_focal_loss(logits, target, weight_positive=1.0, weight_negative=0.5, gamma=2.0)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert loss.item() == pytest.approx(0.0667523, rel=1e-5)


def test_focal_loss_reduces_to_cross_entropy():
    logits = torch.randn(50)
    target = (torch.rand(50) > 0.5).float()
    loss = balanced_focal_loss(logits, target, weight_positive=1.0, weight_negative=1.0, gamma=0.0)
    assert loss.item() == pytest.approx(F.binary_cross_entropy_with_logits(logits, target).item(), rel=1e-6)


def test_focal_loss_rewards_correct_confidence():
    # p_t is p for a true pair: a confident right prediction must cost less than a confident wrong one.
    right = balanced_focal_loss(torch.tensor([4.0]), torch.tensor([1.0]))
    wrong = balanced_focal_loss(torch.tensor([-4.0]), torch.tensor([1.0]))
    assert right.item() < 1e-4
    assert wrong.item() > 1.0


def test_focal_loss_weights_by_class():
    logits = torch.tensor([0.0])
    positive = balanced_focal_loss(logits, torch.tensor([1.0]), weight_positive=1.0, weight_negative=0.4)
    negative = balanced_focal_loss(logits, torch.tensor([0.0]), weight_positive=1.0, weight_negative=0.4)
    assert negative.item() == pytest.approx(0.4 * positive.item(), rel=1e-6)


def test_focal_loss_empty_batch():
    loss = balanced_focal_loss(torch.zeros(0), torch.zeros(0))
    assert loss.item() == 0.0


def test_focal_loss_large_logits_finite():
    loss = balanced_focal_loss(torch.tensor([80.0, -80.0]), torch.tensor([0.0, 1.0]))
    assert torch.isfinite(loss)
